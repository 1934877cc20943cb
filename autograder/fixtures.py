"""Generated classes for the autograder's tests and benchmark (no student data involved).

``toy_source(dir)`` writes two tiny nbgrader source assignments; ``submission(...)`` turns a
source notebook into what a student would hand in (the solutions kept, or the release's
stubs), and the ``hostile`` edits make the cases of the robustness table.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TOY_POINTS = {
    "01_toy": {"test_add": 2, "test_scale": 3, "test_add_more": 1},
    "02_toy": {"test_square": 4},
}


def _solution(gid: str, source: str):
    return new_code_cell(
        source,
        metadata={
            "nbgrader": {
                "grade": False,
                "grade_id": gid,
                "locked": False,
                "schema_version": 3,
                "solution": True,
                "task": False,
            }
        },
    )


def _test(gid: str, points: int, source: str):
    return new_code_cell(
        source,
        metadata={
            "nbgrader": {
                "grade": True,
                "grade_id": gid,
                "locked": True,
                "points": points,
                "schema_version": 3,
                "solution": False,
                "task": False,
            }
        },
    )


def toy_source(root: Path) -> Path:
    """Write ``root/01_toy/01_toy.ipynb`` and ``root/02_toy/02_toy.ipynb``; return root."""
    root = Path(root)
    nb1 = new_notebook(
        cells=[
            new_markdown_cell("# Toy lesson 1\nImplement `add` and `scale`."),
            new_code_cell("import numpy as np"),
            _solution(
                "add_impl",
                "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
            ),
            _test(
                "test_add",
                2,
                "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\n"
                "assert add(-1, 5) == 4, 'add: wrong sum for negative numbers'\n"
                "### END HIDDEN TESTS",
            ),
            _solution(
                "scale_impl",
                "def scale(x, k):\n    ### BEGIN SOLUTION\n"
                "    return np.asarray(x, dtype=float) * k\n    ### END SOLUTION",
            ),
            _test(
                "test_scale",
                3,
                "assert np.allclose(scale([1, 2], 3), [3, 6])\n"
                "### BEGIN HIDDEN TESTS\nSECRET_HIDDEN_MARKER = 1\n"
                "assert np.allclose(scale(np.arange(4.0), -2), [0, -2, -4, -6]), "
                "'scale: wrong values (multiply every entry by k)'\n### END HIDDEN TESTS",
            ),
            _test(
                "test_add_more",
                1,
                "### BEGIN HIDDEN TESTS\n"
                "assert add(0.5, 0.25) == 0.75, 'add: floats'\n### END HIDDEN TESTS",
            ),
        ]
    )
    nb2 = new_notebook(
        cells=[
            new_markdown_cell("# Toy lesson 2\nImplement `square`."),
            _solution(
                "square_impl",
                "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
            ),
            _test(
                "test_square",
                4,
                "assert square(3) == 9\n### BEGIN HIDDEN TESTS\n"
                "assert square(-2) == 4, 'square: sign'\n### END HIDDEN TESTS",
            ),
        ]
    )
    for name, nb in (("01_toy", nb1), ("02_toy", nb2)):
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        (root / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, root / name / f"{name}.ipynb")
    return root


def read(path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def write(nb, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def cell_index(nb, grade_id: str) -> int:
    for i, c in enumerate(nb.cells):
        if (c.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def set_source(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    nb.cells[cell_index(nb, grade_id)].source = source
    return nb


def insert_code(nb, before_grade_id: str, source: str):
    """A new student code cell before the cell ``before_grade_id``."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(cell_index(nb, before_grade_id), new_code_cell(source))
    return nb


def delete_cell(nb, grade_id: str):
    nb = copy.deepcopy(nb)
    del nb.cells[cell_index(nb, grade_id)]
    return nb


def as_submission(nb):
    """What a student hands in: hidden tests as released (markers kept out), outputs cleared."""
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
            md = c.get("metadata", {}).get("nbgrader", {}) or {}
            if md.get("grade") and "### BEGIN HIDDEN TESTS" in c.source:
                lines, keep, hidden = c.source.splitlines(), [], False
                for line in lines:
                    if "### BEGIN HIDDEN TESTS" in line:
                        hidden = True
                    elif "### END HIDDEN TESTS" in line:
                        hidden = False
                    elif not hidden:
                        keep.append(line)
                c.source = "\n".join(keep)
    return nb


def malformed(path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"cells": [ {"cell_type": "code", "source": "oops"', encoding="utf-8")
    return path


def released(release_dir: Path, assignment: str) -> dict[str, nbformat.NotebookNode]:
    return {p.stem: read(p) for p in sorted((Path(release_dir) / assignment).glob("*.ipynb"))}


def dumps(nb) -> str:
    return json.dumps(nb)
