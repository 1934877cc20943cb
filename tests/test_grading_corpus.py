"""A class of student-style lesson 01 notebooks through the real command line (collect,
autograde --workers 2, feedback, grades), in one run.

* Honest alternatives (explicit loops, dict caches, einsum, tuple caches) score full marks
  and carry no flag.
* One notebook per known mistake of the lesson's checks: the rows of the ``(message,
  knobs)`` tables of :mod:`autograder.checks.lesson01` each map to the source edit a student
  would make (a row without one fails here, so the corpus follows the tables). Each loses
  the points of its function's test cell, and the feedback of that cell names the function
  and the row's likely cause; the share of such cells is printed (target: 90 % or more).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO  # noqa: E402
from test_grading_fidelity import grade_class, lesson_class, stored_cells  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder.checks import lesson01  # noqa: E402
from autograder.checks._messages import SEQUENCE_FORWARD  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

LESSON = "01_vanilla_rnn"
SOURCE = REPO / "solutions" / LESSON / f"{LESSON}.ipynb"
TABLES = {
    "rnn_step_forward": lesson01.STEP_FORWARD_MISTAKES,
    "rnn_step_backward": lesson01.STEP_BACKWARD_MISTAKES,
    "rnn_forward": SEQUENCE_FORWARD,
    "rnn_backward": lesson01.BACKWARD_MISTAKES,
}
STEP = "np.tanh(x @ Wx + prev_h @ Wh + b)"
DERIV = "da = dnext_h * (1.0 - next_h**2)"
ACCUMULATE = "dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t"
BACKWARD_FROM_A = """def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        x, prev_h, Wx, Wh, next_h = cache[t]
        a = np.arctanh(next_h)
        da = (dh[:, t] + dprev_h) * (1.0 - a**2)
        dx[:, t] = da @ Wx.T
        dprev_h = da @ Wh.T
        dWx, dWh, db = dWx + x.T @ da, dWh + prev_h.T @ da, db + da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
"""
# (function, knobs of the row) -> (old, new) in the solution cell of the function;
# old None: new is the cell's whole source
EDITS = {
    ("rnn_step_forward", (("activation", "none"),)): (STEP, "(x @ Wx + prev_h @ Wh + b)"),
    ("rnn_step_forward", (("recurrent", False),)): (" + prev_h @ Wh", ""),
    ("rnn_step_forward", (("bias", False),)): (" + b)", ")"),
    ("rnn_step_forward", (("activation", "sigmoid"),)): (
        STEP,
        "1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))",
    ),
    ("rnn_step_backward", (("mean", True),)): (".sum(axis=0)", ".mean(axis=0)"),
    ("rnn_step_backward", (("deriv", "a"),)): (
        DERIV,
        "a = np.arctanh(next_h)\n    da = dnext_h * (1.0 - a**2)",
    ),
    ("rnn_step_backward", (("deriv", "tanh_h"),)): (
        DERIV,
        "da = dnext_h * (1.0 - np.tanh(next_h) ** 2)",
    ),
    ("rnn_step_backward", (("deriv", "none"),)): (DERIV, "da = dnext_h"),
    ("rnn_forward", (("reverse", True),)): ("for t in range(T):", "for t in reversed(range(T)):"),
    ("rnn_forward", (("zero_h0", True),)): ("prev_h = h0", "prev_h = np.zeros_like(h0)"),
    ("rnn_forward", (("use_h0_always", True),)): ("(x[:, t], prev_h,", "(x[:, t], h0,"),
    ("rnn_backward", (("recurrent", False),)): ("dh[:, t] + dprev_h", "dh[:, t]"),
    ("rnn_backward", (("mean", True),)): (
        "return dx, dh0, dWx, dWh, db",
        "return dx, dh0, dWx / N, dWh / N, db / N",
    ),
    ("rnn_backward", (("deriv", "a"),)): (None, BACKWARD_FROM_A),
    ("rnn_backward", (("forward_time", True),)): ("reversed(range(T))", "range(T)"),
    ("rnn_backward", (("accumulate", False),)): (ACCUMULATE, "dWx, dWh, db = dWx_t, dWh_t, db_t"),
}
# honest alternatives: {student: {function: (old, new)}}
HONEST = {
    "loops": {
        "rnn_step_backward": (
            "db = da.sum(axis=0)",
            "db = np.zeros(da.shape[1])\n    for n in range(da.shape[0]):\n        db += da[n]",
        ),
    },
    "dictcache": {
        "rnn_step_forward": (
            "cache = (x, prev_h, Wx, Wh, next_h)",
            'cache = {"x": x, "prev_h": prev_h, "Wx": Wx, "Wh": Wh, "next_h": next_h}',
        ),
        "rnn_step_backward": (
            "x, prev_h, Wx, Wh, next_h = cache",
            'x, prev_h, Wx, Wh, next_h = (cache[k] for k in ("x", "prev_h", "Wx", "Wh", "next_h"))',
        ),
        "rnn_backward": ("D = cache[0][0].shape[1]", 'D = cache[0]["x"].shape[1]'),
    },
    "einsum": {
        "rnn_step_forward": (
            STEP,
            'np.tanh(np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", prev_h, Wh) + b)',
        ),
        "rnn_step_backward": ("dWx = x.T @ da", 'dWx = np.einsum("nd,nh->dh", x, da)'),
    },
    "tuplecache": {"rnn_forward": ("return h, caches", "return h, tuple(caches)")},
}


def _key(knobs: dict) -> tuple:
    return tuple(sorted(knobs.items()))


def _edited(sol, edits: dict):
    nb = sol
    for fn, (old, new) in edits.items():
        src = nb.cells[fx.cell_index(nb, fn)].source
        if old is None:
            nb = fx.set_source(nb, fn, new)
            continue
        assert old in src, (fn, old)
        nb = fx.set_source(nb, fn, src.replace(old, new))
    return nb


def mistakes() -> list[tuple[str, str, str, tuple]]:
    """``(student, function, likely cause, edit)`` for every row of the lesson's tables."""
    out = []
    for fn, table in TABLES.items():
        for k, (message, knobs) in enumerate(table):
            edit = EDITS.get((fn, _key(knobs)))
            assert edit is not None, f"no student edit for {fn} {knobs}: add one to EDITS"
            out.append((f"{fn}_{k}", fn, message, edit))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    env = lesson_class(tmp, LESSON)
    sol = fx.as_submission(fx.read(SOURCE))
    dl = tmp / "dl"
    for student, edits in HONEST.items():
        fx.write(_edited(sol, edits), dl / student / f"{LESSON}.ipynb")
    cases = mistakes()
    for student, fn, _, edit in cases:
        fx.write(_edited(sol, {fn: edit}), dl / student / f"{LESSON}.ipynb")
    table = grade_class(env, tmp, dl)
    cells = {s: c for (s, _), c in stored_cells(tmp).items()}
    return tmp, table, cells, cases


def test_honest_alternatives_score_full_marks_unflagged(corpus):
    _, table, _, _ = corpus
    for student in HONEST:
        row = table[(student, LESSON)]
        assert float(row["score"]) == float(row["max_score"]) == 10.0, (student, row["reasons"])
        assert not row["flags"], (student, row["flags"])


def test_each_mistake_names_its_function_and_likely_cause(corpus):
    tmp, table, cells, cases = corpus
    named = []
    for student, fn, cause, _ in cases:
        row = table[(student, LESSON)]
        cell = cells[student][f"test_{fn}"]
        assert cell["score"] == 0 < cell["max_score"], (student, cell)
        assert not row["flags"], (student, row["flags"])
        page = (tmp / "course" / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        message = cell.get("message") or ""
        ok = fn in message and cause in message and html.escape(cause) in page
        named.append(ok)
        if not ok:
            print(f"{student}: {message[:300]!r}")
    share = sum(named) / len(named)
    print(
        f"\nfeedback names the function and likely cause: {sum(named)}/{len(named)} = {share:.0%}"
    )
    assert share >= 0.9
