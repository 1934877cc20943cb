"""Reading back what nbgrader did: why it failed, the scores it stored in the child's
gradebook copy, and the errors the autograded notebooks show."""

from __future__ import annotations

import re
from pathlib import Path

from autograder.grading.records import CellResult
from autograder.limits import Limits
from autograder.settings import COURSE_ID

# Failures of the grading machinery, not of the submission: never stored as a grade.
INFRA_RE = re.compile(r"ZMQError[^\n]*|Address already in use|Kernel didn't respond[^\n]*")
_EDITED = "test cell edited"


class InfrastructureError(RuntimeError):
    """The grader, not the submission, failed (a kernel that could not start)."""


class ClusterUnavailable(RuntimeError):
    """The Dask cluster of ``--scheduler`` cannot grade: unreachable, or its workers cannot
    start their pool processes. The message says why and what to do."""


def is_infrastructure(text: str) -> bool:
    return bool(INFRA_RE.search(text))


def raise_if_infrastructure(success: bool, text: str) -> None:
    if not success and INFRA_RE.search(text):
        raise InfrastructureError(f"kernel could not start: {INFRA_RE.search(text).group(0)}")


def why_nbgrader_failed(text: str) -> str:
    """One sentence for the student from nbgrader's error and log ``text``."""
    if "DeadKernelError" in text or "Kernel died" in text:
        return "the kernel died while running the notebook (os._exit, a crash or the memory limit)"
    if "CellTimeoutError" in text or "TimeoutError" in text:
        return "the kernel stopped answering (time limit)"
    lines = [
        ln.strip()
        for ln in text.splitlines()
        if re.search(r"\w(Error|Exception|Entry)\b", ln) and "above traceback" not in ln
    ]
    return f"nbgrader could not grade it: {(lines or ['unknown error'])[-1][:300]}"


# errors of a thread or process that could not start: the sandbox's process limit
_NO_PROCESS = ("can't start new thread", "Resource temporarily unavailable")


def error_message(cell, limits: Limits, processes: int | None = None) -> str | None:
    """The message of the error a cell of an autograded notebook shows, limits named
    (``processes``: the sandbox's process limit, None without one)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    # a timed-out cell is interrupted (KeyboardInterrupt) and then gets CellTimeoutError
    if any(o.get("ename") == "CellTimeoutError" for o in errors):
        errors = [o for o in errors if o.get("ename") == "CellTimeoutError"]
    for out in errors:
        ename = out.get("ename", "Error")
        if ename == "CellTimeoutError" or (ename == "KeyboardInterrupt" and not out.get("evalue")):
            return f"CellTimeoutError: stopped after {limits.cell_timeout} s (time limit per cell)"
        if ename == "NotebookTimeoutError":
            return f"{ename}: {out.get('evalue', '')} (time limit per notebook)"
        evalue = str(out.get("evalue", ""))
        if ename.endswith("MemoryError"):  # NumPy's is _ArrayMemoryError
            return f"MemoryError: memory limit ({limits.memory_mb} MB) reached"
        if ename == "DeadKernelError" and "the memory limit" in evalue:
            evalue = evalue.replace(
                "the memory limit", f"the memory limit of {limits.memory_mb} MB"
            )
        if processes and any(text in evalue for text in _NO_PROCESS):
            return (
                f"{ename}: {evalue[:200]} (the process limit ({processes} processes and "
                "threads at once) was reached)"
            )
        return f"{ename}: {evalue}".strip()[:1000]
    return None


def read_scores(db: Path, assignment: str, student: str, cells: dict, notes: dict) -> list:
    """Copy nbgrader's auto scores from the child's gradebook into ``cells``; returns the
    auto comments as ``[notebook, cell, comment]``. A deleted test cell keeps its 0 (an
    edited one was restored, so its score counts)."""
    from nbgrader.api import Gradebook

    comments = []
    with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
        sub = gb.find_submission(assignment, student)
        for nb in sub.notebooks:
            for g in nb.grades:
                if g.name in cells and (g.name not in notes or notes[g.name].startswith(_EDITED)):
                    cell: CellResult = cells[g.name]
                    cell.auto_score = float(g.auto_score or 0.0)
                    cell.needs_manual_grade = bool(g.needs_manual_grade and g.auto_score is None)
            for cm in nb.comments:
                comments.append([nb.name, cm.name, cm.auto_comment])
    return comments


def _is_test(cell, cells: dict) -> bool:
    md = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return cell.cell_type == "code" and md.get("grade_id") in cells and bool(md.get("grade"))


def _after_tests(where: str, msg: str, limits: Limits) -> str:
    """The reason of a cell after every test cell that failed: it cost nothing."""
    if msg.startswith("CellTimeoutError"):
        what = (
            f"{where} exceeded the time limit of {limits.cell_timeout} s per cell and was stopped"
        )
    else:
        what = f"{where} raised {msg[:200]}"
    return f"{what}; it came after every test, so no points were lost"


def read_cell_errors(
    path: Path, name: str, cells: dict, limits: Limits, processes: int | None = None
) -> list[str]:
    """Put the error of each test cell of the autograded notebook ``path`` into its
    :class:`CellResult`; returns the reasons to show (time limits and kernel deaths, up to
    five failing cells of the student's own; one after every test says it cost nothing).
    ``processes``: the sandbox's process limit, named where a cell reached it."""
    import nbformat

    graded = nbformat.read(path, as_version=4)
    reasons, student_errors = [], []
    last_test = max((i for i, c in enumerate(graded.cells) if _is_test(c, cells)), default=-1)
    for i, cell in enumerate(graded.cells):
        if cell.cell_type != "code":
            continue
        md = cell.get("metadata", {}).get("nbgrader", {}) or {}
        msg = error_message(cell, limits, processes)
        gid = md.get("grade_id")
        if _is_test(cell, cells):
            if msg:
                cells[gid].message = msg
                if "time limit" in msg or msg.startswith("DeadKernelError") or "limit (" in msg:
                    reasons.append(f"{gid}: {msg}")
        elif msg and not msg.startswith("NotebookTimeoutError") and i > last_test >= 0:
            student_errors.append(_after_tests(f"{name}.ipynb cell {i + 1}", msg, limits))
        elif msg and not msg.startswith("NotebookTimeoutError"):
            student_errors.append(f"{name}.ipynb cell {i + 1} raised {msg[:200]}")
    reasons.extend(student_errors[:5])
    if len(student_errors) > 5:
        reasons.append(f"... and {len(student_errors) - 5} more cells with errors")
    return reasons
