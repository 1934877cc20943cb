"""Tampering with the in-notebook grading never earns points (lesson 01, the real engine).

A submission with a wrong ``rnn_step_forward`` that rebinds the grader's ``check`` and the
notebook's ``rel_error`` passes the notebook's own tests (during class autograding the kernel's
hidden tests defer to the judge); the out-of-kernel judge
(:func:`autograder.judge.verify_notebook`) fails it, ``autograde`` overrides those cells to 0
(nbgrader's ``manual_score``), and the static scan flags the rebinding. ``set_custom_exc``
(silencing every error) is flagged too. The honest solution keeps full marks; its unchanged
demo cells are not run, while a demo cell a student changed runs in the kernel and the judge
(a wrong redefinition there, after the tests, does not change a grade).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO, class_env, read_csv, run  # noqa: E402

from autograder import fixtures as fx  # noqa: E402

LESSON = "01_vanilla_rnn"
SOURCE = REPO / "solutions" / LESSON / f"{LESSON}.ipynb"


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.skipif(not SOURCE.exists(), reason="lesson 01's source notebook is not there yet")
def test_judge_overrides_tampered_cells(tmp_path):
    env = class_env(tmp_path)
    env["RNN_SOURCE_DIR"] = str(REPO / "solutions")
    run(env, "release", LESSON)
    release = tmp_path / "release" / LESSON / f"{LESSON}.ipynb"
    sol = fx.as_submission(fx.read(SOURCE))
    step = sol.cells[fx.cell_index(sol, "rnn_step_forward")].source
    assert "+ b)" in step
    wrong = fx.set_source(sol, "rnn_step_forward", step.replace("+ b)", ")"))
    rebind = fx.insert_code(
        wrong,
        "test_rnn_step_forward",
        "import autograder.judge as _c\n_c.check = lambda *a, **k: None\n"
        "rel_error = lambda a, b: 0.0",
    )
    silence = fx.insert_code(
        fx.read(release),
        "rnn_step_forward",
        "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    )
    # a demo cell the student changed runs like any other cell, in the kernel and in the
    # judge: here it redefines rnn_backward wrongly after the tests have run (which costs
    # nothing: each function is judged as its test cell saw it)
    demoedit = fx.as_submission(fx.read(SOURCE))
    (last_demo,) = [c for c in demoedit.cells if c.source.startswith("def generate(")]
    assert "demo" in last_demo.metadata["tags"]
    wrong_again = "def rnn_backward(dh, cache):\n    return None\n"
    last_demo.source += "\n\n\n" + wrong_again
    dl = tmp_path / "dl"
    fx.write(demoedit, dl / "demoedit" / f"{LESSON}.ipynb")
    fx.write(sol, dl / "honest" / f"{LESSON}.ipynb")
    fx.write(rebind, dl / "rebind" / f"{LESSON}.ipynb")
    fx.write(silence, dl / "silence" / f"{LESSON}.ipynb")
    run(env, "collect", str(dl))
    run(env, "autograde", "--workers", "2", "--no-progress")
    summary = run(env, "grades", "--csv", str(tmp_path / "g.csv"))
    table = read_csv(tmp_path / "g.csv")
    honest, rb, si = (table[(s, LESSON)] for s in ("honest", "rebind", "silence"))
    assert float(honest["score"]) == float(honest["max_score"]) > 0
    assert not honest["flags"] and not honest["reasons"]
    de = table[("demoedit", LESSON)]
    # the redefinition comes after test_rnn_backward: the judge checks the function its
    # test cell saw, as nbgrader's own test did
    assert float(de["score"]) == float(honest["max_score"])
    assert "0 points from the out-of-kernel judge" not in de["reasons"]
    assert float(rb["score"]) == 0.0 and float(si["score"]) == 0.0
    assert "test_rnn_step_forward: 0 points from the out-of-kernel judge" in rb["reasons"]
    assert "bias" in rb["reasons"]  # the judge's diagnosis travels with the reason
    assert "rebinds" in rb["flags"] and "set_custom_exc" in si["flags"]
    assert "FLAG" in summary
    # the kernel's hidden-test calls were deferred to the judge, not run in the kernel
    graded = tmp_path / "course" / "autograded" / "honest" / LESSON / f"{LESSON}.ipynb"
    assert "graded by the out-of-kernel judge after the notebook has run" in graded.read_text()
    # the release's demo cells (training, sampling, "Check my work") were not run; a changed
    # one runs, and so does the demo cell it reads from
    demo_note = "[demo cell: not run while grading]"
    assert graded.read_text().count(demo_note) == 3
    edited = tmp_path / "course" / "autograded" / "demoedit" / LESSON / f"{LESSON}.ipynb"
    # the changed cell reads the other demo; "Check my work" reads neither
    assert edited.read_text().count(demo_note) == 1
    # the override is nbgrader's manual score, visible in formgrader
    with sqlite3.connect(tmp_path / "course" / "gradebook.db") as c:
        manual = c.execute(
            "select g.manual_score, g.auto_score from grade g join base_cell b on g.cell_id = b.id "
            "join submitted_notebook n on g.notebook_id = n.id "
            "join submitted_assignment s on n.assignment_id = s.id "
            "where s.student_id = 'rebind' and b.name = 'test_rnn_step_forward'"
        ).fetchone()
    assert manual[0] == 0.0 and manual[1] > 0
    run(env, "feedback")
    page = (tmp_path / "course" / "feedback" / "rebind" / LESSON / f"{LESSON}.html").read_text()
    assert "out-of-kernel judge" in page and "check(" not in page
