"""Where the class lives and which gradebook it uses, for every command of ``python -m autograder``.

Precedence: command-line option, then environment variable, then the default.

- class data (submitted/, autograded/, feedback/): ``--course``, ``RNN_COURSE_DIR``,
  default ``autograder/course``;
- gradebook, any SQLAlchemy URL: ``--db``, ``RNN_GRADEBOOK_URL``, default
  ``sqlite:///<course>/gradebook.db``;
- source notebooks: ``--source``, ``RNN_SOURCE_DIR``, default ``solutions/``;
- student release: ``--release-dir``, ``RNN_RELEASE_DIR``, default ``lessons/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder import paths

COURSE_ID = "rnn-from-scratch"


@dataclass(frozen=True)
class Settings:
    course: Path
    db_url: str
    source: Path
    release: Path

    @classmethod
    def resolve(cls, course=None, db=None, source=None, release=None) -> Settings:
        course = Path(course or os.environ.get("RNN_COURSE_DIR") or paths.COURSE).resolve()
        db_url = db or os.environ.get("RNN_GRADEBOOK_URL") or f"sqlite:///{course / 'gradebook.db'}"
        source = Path(source or os.environ.get("RNN_SOURCE_DIR") or paths.SOLUTIONS).resolve()
        release = Path(release or os.environ.get("RNN_RELEASE_DIR") or paths.LESSONS).resolve()
        return cls(course, db_url, source, release)

    @property
    def submitted(self) -> Path:
        return self.course / "submitted"

    @property
    def autograded(self) -> Path:
        return self.course / "autograded"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"

    def assignments_in_source(self) -> list[str]:
        """Assignment folders of the source (``NN_name`` with at least one notebook)."""
        if not self.source.is_dir():
            return []
        return sorted(
            p.name
            for p in self.source.iterdir()
            if p.is_dir() and p.name[:2].isdigit() and any(p.glob("*.ipynb"))
        )

    def notebooks_in_source(self) -> dict[str, list[str]]:
        """``{assignment: [notebook stem, ...]}`` from the source folders."""
        return {
            a: sorted(p.stem for p in (self.source / a).glob("*.ipynb"))
            for a in self.assignments_in_source()
        }


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 (a message helper never fails)
        return url
