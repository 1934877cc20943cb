"""A change to a static file (the book's CSS, the logo, vendored MathJax) reaches the site.

Sphinx copies ``html_static_path`` into ``_static/`` at the end of a build that writes, and a
rebuild with no page out of date stops before that: an edited ``course.css`` would never be
published. On ``env-get-outdated`` this extension compares what the static folders hold with
what the last build saw (``course_static.json`` in the doctree folder) and, when they differ,
marks the root page out of date, so the build writes it and copies the static files again.
"""

import hashlib
import json
from pathlib import Path

RECORD = "course_static.json"


def static_digest(folders):
    """Digest of the name, size and modification time of every file under ``folders``."""
    h = hashlib.sha256()
    for folder in folders:
        files = sorted(folder.rglob("*")) if folder.is_dir() else [folder]
        for f in files:
            if f.is_file():
                st = f.stat()
                h.update(f"{f.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def outdated_by_static_files(app, env, added, changed, removed):
    if app.builder.format != "html":
        return []
    folders = [Path(app.confdir, entry) for entry in app.config.html_static_path]
    digest = static_digest(folders)
    record = Path(app.doctreedir) / RECORD
    try:
        seen = json.loads(record.read_text(encoding="utf-8")).get("digest")
    except (OSError, ValueError, AttributeError):
        seen = None
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"digest": digest}), encoding="utf-8")
    # No record (first build, or a site built before this extension): copy them again too.
    if seen == digest or app.config.root_doc not in env.found_docs:
        return []
    return [app.config.root_doc]


def setup(app):
    app.connect("env-get-outdated", outdated_by_static_files)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
