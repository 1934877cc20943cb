"""Helpers of the lesson tests: grade with nbgrader in a throwaway course directory and read
its scores. (The source tools, ``.md -> .ipynb``, lesson names and comparable notebooks, are
the course's own: :mod:`autograder.sources`.)"""

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from autograder.mywork import GRADING_ENV

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
LESSONS = REPO / "lessons"
AUTOGRADER = REPO / "autograder"


def nbgrader(args, course_dir, check=True, timeout=900):
    """Run nbgrader with the course config and a throwaway course directory (the notebooks it
    runs are the course's own, trusted; the "Check my work" cells are told they are being
    graded, as in every grading kernel)."""
    env = dict(os.environ, RNN_COURSE_DIR=str(course_dir), **{GRADING_ENV: "1"})
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=AUTOGRADER,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def scores(db_path):
    """``{(student, assignment): (score, max_score)}`` from an nbgrader SQLite gradebook."""
    con = sqlite3.connect(db_path)
    rows = con.execute(
        """SELECT s.student_id, a.name,
                  SUM(COALESCE(g.manual_score, g.auto_score, 0)), SUM(gc.max_score)
           FROM grade g
           JOIN grade_cells gc ON g.cell_id = gc.id
           JOIN submitted_notebook sn ON g.notebook_id = sn.id
           JOIN submitted_assignment s ON sn.assignment_id = s.id
           JOIN assignment a ON s.assignment_id = a.id
           GROUP BY s.student_id, a.name"""
    ).fetchall()
    con.close()
    return {(s, a): (score, mx) for s, a, score, mx in rows}


def hidden_test_lines(*lessons: str) -> set[str]:
    """The lines (over 12 characters) of the hidden tests of the lessons' source notebooks:
    none of them may reach a student."""
    import nbformat

    from autograder.grading.sources import HIDDEN_RE

    lines = set()
    for lesson in lessons:
        nb = nbformat.read(SOLUTIONS / lesson / f"{lesson}.ipynb", as_version=4)
        for cell in nb.cells:
            for block in HIDDEN_RE.findall(cell.source if cell.cell_type == "code" else ""):
                lines |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 12}
    lines -= {"### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"}
    assert lines, "no hidden test lines found: HIDDEN_RE changed?"
    return lines


def masked(text):
    """``text`` with its measured errors masked: each grading run draws its own cases, so
    the figures (``relative error 6.7e-01``) differ and the rest (function, case, output,
    likely cause) does not."""
    return None if text is None else re.sub(r"\d+(\.\d+)?e[-+]\d+", "#", text)


def likely_causes(text):
    """The likely causes a diagnosis names (their first sentence): what stays the same when
    another run draws other cases (the failing case and outputs, the figures, may not)."""
    return re.findall(r"Likely cause: ([^.]+)", text or "")
