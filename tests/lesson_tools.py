"""Helpers for the lesson notebooks: build the nbgrader source ``.ipynb`` from its reviewed
MyST twin, normalise notebooks for comparison, find lessons, and grade with nbgrader in a
throwaway course directory.

Build (after editing a lesson's ``.md``)::

    .venv/bin/python tests/lesson_tools.py solutions/01_vanilla_rnn
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
LESSONS = REPO / "lessons"
AUTOGRADER = REPO / "autograder"


def lesson_names():
    """Every lesson folder of ``solutions/`` that holds its notebook, sorted."""
    return sorted(
        d.name for d in SOLUTIONS.iterdir() if d.is_dir() and (d / f"{d.name}.ipynb").exists()
    )


def stable_ids(nb):
    """Deterministic cell ids (nbformat 4.5 needs them): the nbgrader grade_id or the index."""
    for i, cell in enumerate(nb.cells):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cell["id"] = gid if gid else f"cell-{i:02d}"
    return nb


def md_to_notebook(md_path):
    """The ``.ipynb`` a lesson's MyST file stands for: outputs stripped, ids stable."""
    nb = jupytext.read(md_path)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return stable_ids(nb)


def normalise(nb):
    """A comparable form: cells (type, source, metadata) and the notebook metadata, without
    outputs, execution counts or nbgrader's per-cell checksums of generated files."""
    if isinstance(nb, str | Path):
        nb = nbformat.read(nb, as_version=4)
    cells = []
    for cell in nb.cells:
        meta = json.loads(json.dumps(cell.get("metadata", {})))
        meta.get("nbgrader", {}).pop("checksum", None)
        meta.pop("execution", None)
        cells.append((cell.cell_type, cell.source.strip(), json.dumps(meta, sort_keys=True)))
    meta = {k: v for k, v in nb.metadata.items() if k in ("kernelspec",)}
    return {"cells": cells, "metadata": meta}


def build(lesson_dir):
    lesson_dir = Path(lesson_dir)
    nb = md_to_notebook(lesson_dir / f"{lesson_dir.name}.md")
    nbformat.write(nb, lesson_dir / f"{lesson_dir.name}.ipynb")


def nbgrader(args, course_dir, check=True, timeout=900):
    """Run nbgrader with the course config and a throwaway course directory."""
    env = dict(os.environ, RNN_COURSE_DIR=str(course_dir))
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


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        build(arg)
        print("wrote", Path(arg) / f"{Path(arg).name}.ipynb")
