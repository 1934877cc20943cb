"""Where the course's folders are. Everything else imports these instead of guessing."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"  # nbgrader source notebooks (instructor)
LESSONS = REPO / "lessons"  # student release, generated from SOLUTIONS
# Class data (submissions, autograded copies, feedback, the gradebook) never goes into git.
COURSE = Path(os.environ.get("RNN_COURSE_DIR", REPO / "autograder" / "course")).resolve()


def book_url() -> str | None:
    """Where the published book lives: ``html.baseurl`` of ``_config.yml``, else the GitHub
    Pages address of ``repository.url`` (``https://OWNER.github.io/REPO/``), else None."""
    from urllib.parse import urlsplit

    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    base = (config.get("html") or {}).get("baseurl") or ""
    if base:
        return base if base.endswith("/") else base + "/"
    repo = urlsplit(((config.get("repository") or {}).get("url") or "").rstrip("/"))
    parts = [p for p in repo.path.split("/") if p]
    if repo.netloc != "github.com" or len(parts) != 2:
        return None
    owner, name = parts
    host = f"{owner.lower()}.github.io"
    return f"https://{host}/" if name.lower() == host else f"https://{host}/{name}/"
