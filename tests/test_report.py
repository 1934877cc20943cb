"""``python -m autograder report`` on a generated class of lesson 01 with known mistakes
(the real CLI: release, roster, collect, autograde, report): the likely causes are counted per
function as the students made them, the pass rates and histogram follow the scores, the
flagged and the absent student are listed, and the HTML page is self-contained and has no
script; the CSV holds the same numbers."""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO, run  # noqa: E402
from test_grading_fidelity import lesson_class  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder.checks import lesson01  # noqa: E402
from autograder.report import likely_cause  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

L01 = "01_vanilla_rnn"


def _row_cause(table, knobs: dict) -> str:
    """The cause's short name as the report gives it, of the table row with ``knobs``."""
    (message,) = [m for m, k in table if k == knobs]
    return likely_cause(f"Likely cause: {message}")


MEAN = _row_cause(lesson01.STEP_BACKWARD_MISTAKES, {"mean": True})
NO_BIAS = _row_cause(lesson01.STEP_FORWARD_MISTAKES, {"bias": False})
# student -> what was done to the solution
CLASS = {
    "ann": None,
    "ben": None,
    "cat": ("rnn_step_backward", ".sum(axis=0)", ".mean(axis=0)"),
    "dan": ("rnn_step_backward", ".sum(axis=0)", ".mean(axis=0)"),
    "eve": ("rnn_step_backward", ".sum(axis=0)", ".mean(axis=0)"),
    "fay": ("rnn_step_forward", " + b)", ")"),
    "gus": ("rnn_step_forward", " + b)", ")"),
    "hal": "flag",  # imports the answer key in a cell of its own: flagged, graded as usual
}


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    env = lesson_class(tmp, L01)
    sol = fx.as_submission(fx.read(REPO / "solutions" / L01 / f"{L01}.ipynb"))
    dl = tmp / "dl"
    for student, change in CLASS.items():
        nb = sol
        if change == "flag":
            nb = fx.insert_code(sol, "test_rnn_step_forward", "import rnnref.rnn as key")
        elif change:
            fn, old, new = change
            src = sol.cells[fx.cell_index(sol, fn)].source
            assert old in src, (fn, old)
            nb = fx.set_source(sol, fn, src.replace(old, new))
        fx.write(nb, dl / student / f"{L01}.ipynb")
    roster = tmp / "roster.csv"
    roster.write_text("id\n" + "\n".join([*CLASS, "zed"]) + "\n")
    run(env, "roster", str(roster))
    run(env, "collect", str(dl))
    run(env, "autograde", "--workers", "2", "--no-progress")
    out = run(env, "report", "--html", str(tmp / "r.html"), "--csv", str(tmp / "r.csv"))
    return tmp, out


def test_causes_are_counted_per_function_as_the_students_made_them(reported):
    _, out = reported
    n = len(CLASS)
    assert MEAN == "mean instead of sum over the batch", MEAN
    block = out.split("rnn_step_backward", 1)[1].split("\n    rnn_", 1)[0]
    assert f"{MEAN}: 3 of {n}" in block, out
    # the step's backward test runs the student's forward: the missing bias fails it too
    assert re.search(rf"rnn_step_backward\s+{n - 5} of {n}", out), out
    block = out.split("    rnn_step_forward", 1)[1].split("\n    rnn_", 1)[0]
    assert f"{NO_BIAS}: 2 of {n}" in block, out
    assert re.search(rf"rnn_step_forward\s+{n - 2} of {n}", out), out
    assert f"{L01}: {n} graded" in out and "full marks 3 of 8" in out, out
    assert "not graded: 1" in out and "zed: not submitted" in out, out
    assert "02_gradient_flow: no submissions yet" in out, out
    flagged = out.split("  flagged: ", 1)[1].split("\n  not graded", 1)[0]
    assert flagged.startswith("1\n") and "hal: " in flagged and "rnnref.rnn" in flagged, flagged
    assert "seconds per notebook: median" in out


def test_html_page_is_self_contained_without_script(reported):
    tmp, _ = reported
    page = (tmp / "r.html").read_text()
    assert "Content-Security-Policy" in page and "<script" not in page.lower()
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', page)) == 1
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert f"{MEAN}: 3 of 8" in page and "zed" in page and "hal" in page


def test_csv_holds_the_same_numbers(reported):
    tmp, _ = reported
    with open(tmp / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    cause = {r["item"]: (r["count"], r["of"]) for r in rows if r["section"] == "cause"}
    assert cause[f"rnn_step_backward: {MEAN}"] == ("3", "8"), cause
    assert cause[f"rnn_step_forward: {NO_BIAS}"] == ("2", "8"), cause
    fns = {r["item"]: (r["count"], r["of"]) for r in rows if r["section"] == "function"}
    assert fns["rnn_step_backward"] == ("3", "8") and fns["rnn_step_forward"] == ("6", "8")
    scores = {r["item"]: int(r["count"]) for r in rows if r["section"] == "score"}
    assert sum(scores.values()) == 8 and scores["10"] == 3, scores
    assert [r["item"] for r in rows if r["section"] == "not graded"] == ["zed"]
    assert [r["item"] for r in rows if r["section"] == "flagged"] == ["hal"]
