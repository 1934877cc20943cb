"""A class of student-style notebooks of lessons 01 to 03 through the real command line
(collect, autograde --workers 2, feedback, grades), in one run.

* Honest alternatives (explicit loops, dict caches, einsum, tuple caches, norms by
  ``np.linalg.norm``) score full marks and carry no flag.
* One notebook per known mistake of the lessons' checks: each row of the ``(message,
  knobs)`` tables of :mod:`autograder.checks.lesson01`, and each ``mistakes`` row of the
  specs of lessons 02 and 03 that a test cell checks, maps to the source edit a student
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
from autograder.checks import grade_cells, lesson01, lesson02, lesson03  # noqa: E402
from autograder.checks._messages import SEQUENCE_FORWARD  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

LESSON, L02, L03 = "01_vanilla_rnn", "02_gradient_flow", "03_clipping"
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


CLIP = "np.clip(g, -clip_value, clip_value)"
GLOBAL = "float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))"
PER_ARRAY = """def clip_by_global_norm(grads, max_norm):
    total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    out = {}
    for name, g in grads.items():
        n = float(np.sqrt(np.sum(g * g)))
        out[name] = g * (max_norm / n) if n > max_norm else g.copy()
    return out, total_norm
"""
AFTER = """def clip_by_global_norm(grads, max_norm):
    total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    clipped = {name: g.copy() for name, g in grads.items()}
    if total_norm > max_norm:
        clipped = {name: g * (max_norm / total_norm) for name, g in grads.items()}
    return clipped, float(np.sqrt(sum(np.sum(g * g) for g in clipped.values())))
"""
BY_NORM = """def clip_by_value(grads, clip_value):
    out = {}
    for name, g in grads.items():
        n = float(np.sqrt(np.sum(g * g)))
        out[name] = g * (clip_value / n) if n > clip_value else g.copy()
    return out
"""
EDITS_03 = {
    ("clip_by_value", "only the upper bound"): (CLIP, "np.minimum(g, clip_value)"),
    ("clip_by_value", "clipped into [0, clip_value]"): (CLIP, "np.clip(g, 0, clip_value)"),
    ("clip_by_value", "each array was rescaled"): (None, BY_NORM),
    ("clip_by_global_norm", "each array was clipped by its OWN"): (None, PER_ARRAY),
    ("clip_by_global_norm", "the gradients were rescaled although"): (
        "if total_norm > max_norm:",
        "if total_norm > 0:",
    ),
    ("clip_by_global_norm", "total_norm is the norm AFTER"): (None, AFTER),
    ("clip_by_global_norm", "total_norm is squared"): (", total_norm\n", ", total_norm**2\n"),
    ("clip_by_global_norm", "total_norm is the sum of the arrays"): (
        GLOBAL,
        "float(sum(np.sqrt(np.sum(g * g)) for g in grads.values()))",
    ),
    ("clip_norm_range", "a gradient with norm below low was left"): (
        "    if 0 < norm < low:\n        return g * (low / norm)\n",
        "",
    ),
    ("clip_norm_range", "a gradient with norm below low was scaled"): (
        "return g * (low / norm)",
        "return g * (high / norm)",
    ),
    ("clip_norm_range", "the entries were clipped"): (
        None,
        "def clip_norm_range(g, low, high):\n    return np.clip(g, low, high)\n",
    ),
}
NORM = "np.linalg.norm(g, axis=1).mean()"
WINDOW = "max(t - k, -1)"
NOT_K = "off by one: each dh[:, t] goes through k steps (t down to t-k+1), not k"
# lessons 02 and 03: (function, start of the row's message) -> (old, new)
EDITS_02 = {
    ("gradient_norms_through_time", "multiplied by Wh instead"): (") @ Wh.T  #", ") @ Wh  #"),
    ("gradient_norms_through_time", "the tanh slope of the wrong"): (
        "(1.0 - h[:, t] ** 2)",
        "(1.0 - h[:, t - 1] ** 2)",
    ),
    ("gradient_norms_through_time", "the tanh derivative is missing"): (
        "(g * (1.0 - h[:, t] ** 2)) @ Wh.T",
        "g @ Wh.T",
    ),
    ("gradient_norms_through_time", "one norm of the whole"): (NORM, "np.linalg.norm(g)"),
    ("gradient_norms_through_time", "squared norms"): (NORM, "(g**2).sum(axis=1).mean()"),
    ("gradient_norms_through_time", "the array is in the wrong order"): (
        "return norms",
        "return norms[::-1]",
    ),
    ("truncated_rnn_backward", "no truncation"): (WINDOW, "-1"),
    ("truncated_rnn_backward", NOT_K + "+1"): (WINDOW, "max(t - k - 1, -1)"),
    ("truncated_rnn_backward", NOT_K + "-1"): (WINDOW, "max(t - k + 1, -1)"),
    ("truncated_rnn_backward", "blocks instead of a sliding window"): (
        WINDOW,
        "max((t // k) * k - 1, -1)",
    ),
    ("truncated_rnn_backward", "dh0 misses the gradient"): (
        "if u == 0:",
        "if u == 0 and t != k - 1:",
    ),
    ("truncated_rnn_backward", "dh0 is never filled"): ("dh0 += g", "pass"),
    ("truncated_rnn_backward", "mean instead of sum"): (
        "return dx, dh0, dWx, dWh, db",
        "return dx, dh0, dWx / N, dWh / N, db / N",
    ),
    ("truncated_rnn_backward", "derivative of the wrong quantity"): (
        "(1.0 - h[:, u] ** 2)",
        "(1.0 - np.arctanh(h[:, u]) ** 2)",
    ),
}
HONEST_03 = {
    "linalg": {
        "clip_by_global_norm": (
            GLOBAL,
            "float(np.linalg.norm([np.linalg.norm(g) for g in grads.values()]))",
        ),
        "clip_norm_range": ("float(np.sqrt(np.sum(g * g)))", "float(np.linalg.norm(g.ravel()))"),
    },
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


def mistakes() -> list[tuple[str, str, str, str, tuple]]:
    """``(student, lesson, function, likely cause, edit)`` for every row of the tables."""
    out = []
    for fn, table in TABLES.items():
        for k, (message, knobs) in enumerate(table):
            edit = EDITS.get((fn, _key(knobs)))
            assert edit is not None, f"no student edit for {fn} {knobs}: add one to EDITS"
            out.append((f"{fn}_{k}", LESSON, fn, message, edit))
    for lesson, module, edits in ((L02, lesson02, EDITS_02), (L03, lesson03, EDITS_03)):
        tested = {f for _, fns in grade_cells(lesson).values() for f in fns}
        for fn, spec in module.SPECS.items():
            for k, (message, _) in enumerate(spec.mistakes if fn in tested else []):
                found = [
                    e for (f, start), e in edits.items() if f == fn and message.startswith(start)
                ]
                assert len(found) == 1, f"no student edit for {fn}: {message[:60]}: add one"
                out.append((f"{fn}_{k}", lesson, fn, message, found[0]))
    return out


def _solution(lesson: str):
    return fx.as_submission(fx.read(REPO / "solutions" / lesson / f"{lesson}.ipynb"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    env = lesson_class(tmp, LESSON, L02, L03)
    sols = {lesson: _solution(lesson) for lesson in (LESSON, L02, L03)}
    dl = tmp / "dl"
    for lesson, honest in ((LESSON, HONEST), (L03, HONEST_03)):
        for student, edits in honest.items():
            fx.write(_edited(sols[lesson], edits), dl / student / f"{lesson}.ipynb")
    cases = mistakes()
    for student, lesson, fn, _, edit in cases:
        fx.write(_edited(sols[lesson], {fn: edit}), dl / student / f"{lesson}.ipynb")
    table = grade_class(env, tmp, dl)
    return tmp, table, stored_cells(tmp), cases


def assert_honest(table: dict, lesson: str, students) -> None:
    """Each of ``students``' notebooks of ``lesson`` scores full marks and carries no flag."""
    for student in students:
        row = table[(student, lesson)]
        assert float(row["score"]) == float(row["max_score"]) == 10.0, (student, row)
        assert not row["flags"], (student, row["flags"])


def mistake_named(tmp: Path, table: dict, cells: dict, case: tuple) -> tuple[bool, str]:
    """``(named, message)`` for one corpus ``case`` ``(student, lesson, function, cause,
    edit)``: its function's test cell scored 0 and is not flagged (asserted), and whether its
    message and feedback page name the function and the likely cause."""
    student, lesson, fn, cause, _ = case
    row = table[(student, lesson)]
    cell = cells[(student, lesson)][f"test_{fn}"]
    assert cell["score"] == 0 < cell["max_score"], (student, cell)
    assert not row["flags"], (student, row["flags"])
    page = (tmp / "course" / "feedback" / student / lesson / f"{lesson}.html").read_text()
    message = cell.get("message") or ""
    assert "judge failed" not in message, (student, message)  # a judge bug, not a miss
    return fn in message and cause in message and html.escape(cause) in page, message


def test_honest_alternatives_score_full_marks_unflagged(corpus):
    _, table, _, _ = corpus
    for lesson, honest in ((LESSON, HONEST), (L03, HONEST_03)):
        assert_honest(table, lesson, honest)


def test_each_mistake_names_its_function_and_likely_cause(corpus):
    tmp, table, cells, cases = corpus
    named = []
    for case in cases:
        ok, message = mistake_named(tmp, table, cells, case)
        named.append(ok)
        if not ok:
            print(f"{case[0]}: {message[:300]!r}")
    share = sum(named) / len(named)
    print(
        f"\nfeedback names the function and likely cause: {sum(named)}/{len(named)} = {share:.0%}"
    )
    assert share >= 0.9
