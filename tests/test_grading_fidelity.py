"""Grading fidelity on real lessons, through the real command line (collect, autograde,
feedback, grades): the judge's diagnosis reaches the student, and the release's own cells
never raise a tamper flag however the notebook was saved.

One class run grades every notebook of this module (``--workers 2``):

* lesson 01 with ``db`` averaged over the batch: the visible assertion fails first, and the
  cell's message (gradebook and feedback) still carries the judge's diagnosis;
* lesson 02 (its locked setup cell imports ``rnnref.rnn``), solved and saved the ways a
  student's notebook is saved: executed by a real kernel (nbclient) and written by nbformat
  in the 4.5 form (cell ids), and in the 4.4 form (no ids) with sources as strings and
  Windows line endings.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO, class_env, read_csv, run  # noqa: E402

from autograder import fixtures as fx  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

L01, L02 = "01_vanilla_rnn", "02_gradient_flow"
MEAN_CAUSE = "mean instead of sum over the batch"


def _source(lesson: str) -> Path:
    return REPO / "solutions" / lesson / f"{lesson}.ipynb"


def executed(nb, folder: Path):
    """``nb`` after a real kernel ran it (outputs, execution counts, kernel metadata), as a
    student's saved notebook holds it; errors of the visible tests are kept as outputs."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    folder.mkdir(parents=True, exist_ok=True)
    NotebookClient(
        nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


def write_v44_crlf(nb, path: Path) -> None:
    """nbformat 4.4 (no cell ids), each source one string with ``\\r\\n`` line endings."""
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        cell.pop("id", None)
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = src.replace("\n", "\r\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def _index(nb, grade_id: str) -> int:
    return fx.cell_index(nb, grade_id)


def damaged(sol):
    """Lesson 01 solved, then damaged the ways a class damages notebooks: ``{student: nb}``.

    ``exit_end``: ``os._exit`` after the last test; ``segv_mid``: a segfault between two
    tests; ``dup``: a test cell pasted twice and a solution cell split in two (both halves
    keep its metadata, as Jupyter's split does); ``moved``: a test cell turned into markdown
    and an extra cell at the top.
    """
    out = {}
    exit_end = copy.deepcopy(sol)
    exit_end.cells.append(nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    out["exit_end"] = exit_end
    out["segv_mid"] = fx.insert_code(sol, "test_rnn_forward", "import ctypes\nctypes.string_at(0)")
    dup = copy.deepcopy(sol)
    t = _index(dup, "test_rnn_step_backward")
    dup.cells.insert(t + 1, copy.deepcopy(dup.cells[t]))
    f = _index(dup, "rnn_step_forward")
    half = copy.deepcopy(dup.cells[f])
    half.source = "STEP_NOTE = 'split off the top of the cell'"
    dup.cells.insert(f, half)
    out["dup"] = dup
    moved = copy.deepcopy(sol)
    md = moved.cells[_index(moved, "test_rnn_forward")]
    md.cell_type = "markdown"
    md.pop("outputs", None), md.pop("execution_count", None)
    moved.cells.insert(0, nbformat.v4.new_code_cell("print('my notes')"))
    out["moved"] = moved
    return out


def lesson_class(tmp: Path, *lessons: str) -> dict:
    """The environment of a class in ``tmp`` of the repository's ``lessons``, released."""
    env = class_env(tmp)
    env["RNN_SOURCE_DIR"] = str(REPO / "solutions")
    run(env, "release", *lessons)
    return env


def grade_class(env: dict, tmp: Path, downloads: Path) -> dict:
    """Collect ``downloads``, autograde (2 workers), feedback; the grades CSV's rows."""
    run(env, "collect", str(downloads))
    run(env, "autograde", "--workers", "2", "--no-progress")
    run(env, "grades", "--csv", str(tmp / "g.csv"))
    run(env, "feedback")
    return read_csv(tmp / "g.csv")


def stored_cells(tmp: Path) -> dict:
    """``{(student, assignment): {grade_id: cell record}}`` of the class gradebook."""
    with sqlite3.connect(tmp / "course" / "gradebook.db") as c:
        rows = c.execute("select student_id, assignment, cells from rnn_autograde").fetchall()
    return {(s, a): json.loads(cells) for s, a, cells in rows}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fidelity")
    env = lesson_class(tmp, L01, L02)
    dl = tmp / "dl"
    sol1 = fx.as_submission(fx.read(_source(L01)))
    step = sol1.cells[fx.cell_index(sol1, "rnn_step_backward")].source
    assert "db = da.sum(axis=0)" in step
    mean = fx.set_source(sol1, "rnn_step_backward", step.replace(".sum(axis=0)", ".mean(axis=0)"))
    fx.write(mean, dl / "mean" / f"{L01}.ipynb")
    for student, nb in damaged(sol1).items():
        fx.write(nb, dl / student / f"{L01}.ipynb")
    sol2 = fx.as_submission(fx.read(_source(L02)))
    ran = executed(sol2, tmp / "run02")
    assert any(c.get("outputs") for c in ran.cells if c.cell_type == "code")
    fx.write(ran, dl / "saved45" / f"{L02}.ipynb")
    write_v44_crlf(ran, dl / "saved44" / f"{L02}.ipynb")
    fx.write(sol2, dl / "fresh" / f"{L02}.ipynb")
    return tmp, grade_class(env, tmp, dl)


def test_diagnosis_follows_the_visible_message(graded_class):
    tmp, table = graded_class
    row = table[("mean", L01)]
    # rnn_backward calls rnn_step_backward: both backward tests fail
    assert float(row["score"]) == float(row["max_score"]) - 6.0
    cells = stored_cells(tmp)[("mean", L01)]
    for fn in ("rnn_step_backward", "rnn_backward"):
        visible, _, diagnosis = cells[f"test_{fn}"]["message"].partition("\nGrader's diagnosis: ")
        assert "db differs from the expected values" in visible
        assert diagnosis.startswith(f"{fn} (case") and "db" in diagnosis
        assert MEAN_CAUSE in diagnosis
    page = (tmp / "course" / "feedback" / "mean" / L01 / f"{L01}.html").read_text()
    assert page.count('class="autograder-diagnosis"') == 4  # in the table and under the cell
    assert MEAN_CAUSE in page
    # no hidden test source, no traceback
    assert "check(" not in page and "Traceback" not in page and "HIDDEN TESTS" not in page


def test_released_cells_never_flag(graded_class):
    _, table = graded_class
    for student in ("saved45", "saved44", "fresh"):
        row = table[(student, L02)]
        assert float(row["score"]) == float(row["max_score"]) > 0, (student, row["reasons"])
        assert not row["flags"], (student, row["flags"])
        assert "edited" not in row["reasons"], (student, row["reasons"])
    assert not table[("mean", L01)]["flags"]


def test_a_dying_kernel_keeps_what_was_earned(graded_class):
    tmp, table = graded_class
    for student in ("exit_end", "segv_mid"):
        row = table[(student, L01)]
        assert float(row["score"]) == float(row["max_score"]) > 0, (student, row["reasons"])
        assert "DeadKernelError: the kernel died while running this cell (cell" in row["reasons"]
    # the os._exit cell is the notebook's last one
    exit_end = fx.read(tmp / "dl" / "exit_end" / f"{L01}.ipynb")
    assert f"(cell {len(exit_end.cells)}:" in table[("exit_end", L01)]["reasons"]


def test_duplicated_split_and_moved_cells_are_graded(graded_class):
    _, table = graded_class
    dup = table[("dup", L01)]
    assert float(dup["score"]) == float(dup["max_score"]) > 0, dup["reasons"]
    assert "test cell test_rnn_step_backward appears 2 times" in dup["reasons"]
    assert "cell rnn_step_forward appears 2 times" in dup["reasons"]
    moved = table[("moved", L01)]
    assert float(moved["score"]) == float(moved["max_score"]), moved["reasons"]
    assert "test cell test_rnn_forward was edited" in moved["reasons"]
    assert not dup["flags"] and not moved["flags"]
