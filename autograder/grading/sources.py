"""What the trusted side knows about an assignment: its released test cells, its demo cells,
whether the judge covers it, and the fingerprint of a submitted folder."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from autograder import safefiles

HIDDEN_RE = re.compile(
    r"^\s*### BEGIN HIDDEN TESTS.*?^\s*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S
)


# nbgrader's exchange writes this beside a submitted notebook; release_feedback and
# fetch_feedback match a feedback page to its submission with it (tiny: a big one is dropped)
SUBMISSION_SECRET = "submission_secret.txt"
SUBMISSION_SECRET_MAX_BYTES = 4096


def strip_hidden(source: str) -> str:
    return HIDDEN_RE.sub("", source)


def files_hash(folder: Path) -> str:
    """SHA-256 of a submitted folder's file names and contents (checkpoints left out). Links,
    FIFOs and devices count by name and kind: never followed, never read (a FIFO would
    block)."""
    h = hashlib.sha256()
    files, refused = safefiles.walk(folder)
    for p in files:
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        try:
            h.update(safefiles.read_bytes(p))
        except OSError as exc:  # replaced since the walk: the child refuses it
            h.update(str(exc).encode())
        h.update(b"\0")
    for p, why in sorted(refused):
        h.update(f"{p.relative_to(folder)}\0{why}\0".encode())
    return h.hexdigest()


def engine():
    """The grading engine's ``(verify_notebook, scan)``, or ``(None, None)`` without it."""
    try:
        from autograder.checks import scan
        from autograder.judge import verify_notebook
    except ImportError:
        return None, None
    return verify_notebook, scan


def judge_covers(assignment: str) -> bool:
    """Whether the engine's judge knows the assignment's checks (the course's lessons do)."""
    try:
        from autograder.checks import grade_cells

        return any(fns for _, fns in grade_cells(assignment).values())
    except Exception:  # noqa: BLE001 (no engine, or not one of its lessons)
        return False


def demo_sources(folder: Path) -> list[str]:
    """The demo cells of an assignment's source notebooks (not run while grading)."""
    from autograder.checks import demo_sources as of_notebook

    return sorted({s for nb in sorted(folder.glob("*.ipynb")) for s in of_notebook(nb)})


def released_tests(db_url: str) -> dict[str, dict[str, str]]:
    """``{assignment: {grade_id: source as released}}`` of the locked cells (test cells and
    read-only setup cells). Per assignment: grade ids such as ``setup`` recur in every
    lesson, and one lesson's setup cell is not another's."""
    from nbgrader import api as nbapi

    from autograder import gradebook

    out: dict[str, dict[str, str]] = {}
    with gradebook.open_gradebook(db_url) as gb:
        for cell in gb.db.query(nbapi.SourceCell).filter(nbapi.SourceCell.locked.is_(True)):
            assignment = cell.notebook.assignment.name
            out.setdefault(assignment, {})[cell.name] = strip_hidden(cell.source)
    return out
