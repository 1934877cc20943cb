"""The student-style corpus of lessons 04 to 08 (LSTM, GRU, stacked, bidirectional, capstone)
through the real command line (collect, autograde --workers 2, feedback, grades), in one run.

Each ``mistakes`` row of the specs of these lessons maps, by its position, to the start of its
message and the source edits a student would make to the solution cells (a row without one,
or whose message moved, fails here, so the corpus follows the tables). A mistake in a step
function also shows in the sequence function that calls it: those rows edit the step's cell
and are asserted on the sequence's test cell. Each mistake notebook loses the points of its
function's test cell, is not flagged, and the feedback of that cell names the function and
the row's likely cause; the share is printed overall and per lesson (target: 90 % or more).
Honest alternatives (dict caches, einsum, tuple caches, loops, other NumPy spellings) score
full marks and carry no flag.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO  # noqa: E402
from test_grading_corpus import assert_honest, mistake_named  # noqa: E402
from test_grading_fidelity import grade_class, lesson_class, stored_cells  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder.checks import grade_cells, lesson04, lesson05, lesson06, lesson07, lesson08  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

L04, L05, L06, L07, L08 = (
    "04_lstm",
    "05_gru",
    "06_stacked",
    "07_bidirectional",
    "08_names_capstone",
)
MODULES = {L04: lesson04, L05: lesson05, L06: lesson06, L07: lesson07, L08: lesson08}

# ---- lesson 04: the LSTM -------------------------------------------------------------------
LSTM_GATES = (
    "    i = sigmoid(a[:, :H])\n    f = sigmoid(a[:, H : 2 * H])\n"
    "    o = sigmoid(a[:, 2 * H : 3 * H])\n    g = np.tanh(a[:, 3 * H :])"
)
BLOCKS = ("a[:, :H]", "a[:, H : 2 * H]", "a[:, 2 * H : 3 * H]", "a[:, 3 * H :]")


def lstm_gates(order: str) -> dict:
    """The step with the fused blocks read as the gates ``order`` names, block by block."""
    act = {"i": "sigmoid", "f": "sigmoid", "o": "sigmoid", "g": "np.tanh"}
    lines = [f"    {k} = {act[k]}({BLOCKS[order.index(k)]})" for k in "ifog"]
    return {"lstm_step_forward": [(LSTM_GATES, "\n".join(lines))]}


def e(fn: str, *pairs) -> dict:
    """Edits of the solution cell ``fn``: ``(old, new)`` pairs; ``old`` None replaces the cell."""
    return {fn: list(zip(pairs[::2], pairs[1::2], strict=True))}


DC = "dc = dnext_c + dnext_h * o * (1.0 - tanh_c**2)"
SQUASH = e(
    "lstm_step_forward", "next_c = f * prev_c + i * g", "next_c = sigmoid(f * prev_c + i * g)"
)
READ_C = e("lstm_step_forward", "next_h = o * tanh_c", "next_h = o * next_c")
C_NOT_TANH = e(
    "lstm_step_backward",
    DC,
    "next_c = np.arctanh(tanh_c)\n    dc = dnext_c + dnext_h * o * (1.0 - next_c**2)",
    "do = dnext_h * tanh_c",
    "do = dnext_h * next_c",
)
NO_FORGET_C = e("lstm_step_backward", "dprev_c = dc * f", "dprev_c = dc")
SEQ_RETURN = "return dx, dprev_h, dWx, dWh, db"
SEQ_MEAN = "return dx, dprev_h, dWx / N, dWh / N, db / N"
STEP_CALL = "prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)"
EDITS_04 = {
    ("lstm_step_forward", 0): ("gate order i, f, g, o", lstm_gates("ifgo")),
    ("lstm_step_forward", 1): ("gate order f, i, o, g", lstm_gates("fiog")),
    ("lstm_step_forward", 2): ("gate order i, g, f, o", lstm_gates("igfo")),
    ("lstm_step_forward", 3): ("the cell update is squashed", SQUASH),
    ("lstm_step_forward", 4): ("the tanh is missing from the read-out", READ_C),
    ("lstm_step_forward", 5): (
        "next_h reads the OLD cell",
        e("lstm_step_forward", "next_h = o * tanh_c", "next_h = o * np.tanh(prev_c)"),
    ),
    ("lstm_step_forward", 6): (
        "the forget path is missing",
        e("lstm_step_forward", "next_c = f * prev_c + i * g", "next_c = i * g"),
    ),
    ("lstm_step_forward", 7): (
        "the candidate g uses a sigmoid",
        e("lstm_step_forward", "g = np.tanh(a[:, 3 * H :])", "g = sigmoid(a[:, 3 * H :])"),
    ),
    ("lstm_step_backward", 0): (
        "dnext_c is ignored",
        e("lstm_step_backward", DC, "dc = dnext_h * o * (1.0 - tanh_c**2)"),
    ),
    ("lstm_step_backward", 1): (
        "the path through next_h is missing",
        e("lstm_step_backward", DC, "dc = dnext_c"),
    ),
    ("lstm_step_backward", 2): ("dprev_c misses the forget gate", NO_FORGET_C),
    ("lstm_step_backward", 3): (
        "dprev_c uses only dnext_c",
        e("lstm_step_backward", "dprev_c = dc * f", "dprev_c = dnext_c * f"),
    ),
    ("lstm_step_backward", 4): ("derivative of the wrong quantity", C_NOT_TANH),
    ("lstm_step_backward", 5): (
        "the gate gradients are concatenated in the wrong order",
        e(
            "lstm_step_backward",
            "do * o * (1.0 - o), dg * (1.0 - g**2)]",
            "dg * (1.0 - g**2), do * o * (1.0 - o)]",
        ),
    ),
    ("lstm_step_backward", 6): (
        "mean instead of sum over the batch",
        e(
            "lstm_step_backward",
            "return dx, dprev_h, dprev_c, dWx, dWh, db",
            "N = x.shape[0]\n    return dx, dprev_h, dprev_c, dWx / N, dWh / N, db / N",
        ),
    ),
    ("lstm_forward", 0): ("gate order i, f, g, o", lstm_gates("ifgo")),
    ("lstm_forward", 1): ("gate order f, i, o, g", lstm_gates("fiog")),
    ("lstm_forward", 2): ("gate order i, g, f, o", lstm_gates("igfo")),
    ("lstm_forward", 3): ("the cell update is squashed", SQUASH),
    ("lstm_forward", 4): ("the tanh is missing from the read-out", READ_C),
    ("lstm_forward", 5): (
        "time order reversed",
        e("lstm_forward", "for t in range(T):", "for t in reversed(range(T)):"),
    ),
    ("lstm_forward", 6): (
        "h0 is ignored",
        e(
            "lstm_forward",
            "prev_h, prev_c = h0, np.zeros((N, H))",
            "prev_h, prev_c = np.zeros((N, H)), np.zeros((N, H))",
        ),
    ),
    ("lstm_forward", 7): (
        "the cell starts from h0",
        e("lstm_forward", "prev_h, prev_c = h0, np.zeros((N, H))", "prev_h, prev_c = h0, h0"),
    ),
    ("lstm_forward", 8): (
        "the cell state is not carried",
        e(
            "lstm_forward",
            STEP_CALL,
            "prev_h, _, step_cache = lstm_step_forward(x[:, t], prev_h, np.zeros((N, H)), "
            "Wx, Wh, b)",
        ),
    ),
    ("lstm_backward", 0): (
        "the cell gradient from the next step is dropped",
        e("lstm_backward", "dh[:, t] + dprev_h, dprev_c,", "dh[:, t] + dprev_h, np.zeros((N, H)),"),
    ),
    ("lstm_backward", 1): (
        "missing recurrent gradient",
        e("lstm_backward", "dh[:, t] + dprev_h, dprev_c,", "dh[:, t], dprev_c,"),
    ),
    ("lstm_backward", 2): ("dprev_c misses the forget gate", NO_FORGET_C),
    ("lstm_backward", 3): ("derivative of the wrong quantity", C_NOT_TANH),
    ("lstm_backward", 4): (
        "mean instead of sum over the batch",
        e("lstm_backward", SEQ_RETURN, SEQ_MEAN),
    ),
    ("lstm_backward", 5): (
        "time order reversed",
        e("lstm_backward", "reversed(range(T))", "range(T)"),
    ),
    ("lstm_backward", 6): (
        "the weight gradients are overwritten",
        e(
            "lstm_backward",
            "dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t",
            "dWx, dWh, db = dWx_t, dWh_t, db_t",
        ),
    ),
}
HONEST_04 = {
    "dictcache": {
        **e(
            "lstm_step_forward",
            "cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)",
            "cache = dict(x=x, prev_h=prev_h, prev_c=prev_c, Wx=Wx, Wh=Wh, i=i, f=f, o=o, g=g, "
            "tanh_c=tanh_c)",
        ),
        **e(
            "lstm_step_backward",
            "x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache",
            "x, prev_h, prev_c, Wx, Wh = (cache[k] for k in ('x', 'prev_h', 'prev_c', 'Wx', 'Wh'))"
            "\n    i, f, o, g, tanh_c = (cache[k] for k in ('i', 'f', 'o', 'g', 'tanh_c'))",
        ),
        **e("lstm_backward", "D = cache[0][0].shape[1]", 'D = cache[0]["x"].shape[1]'),
    },
    "einsum": {
        **e(
            "lstm_step_forward",
            "a = x @ Wx + prev_h @ Wh + b",
            'a = np.einsum("nd,dk->nk", x, Wx) + np.einsum("nh,hk->nk", prev_h, Wh) + b',
        ),
        **e("lstm_step_backward", "dWx = x.T @ da", 'dWx = np.einsum("nd,nk->dk", x, da)'),
    },
}

# ---- lesson 05: the GRU --------------------------------------------------------------------
GRU_N = "n = np.tanh(ax[:, 2 * H :] + (r * prev_h) @ Wh[:, 2 * H :])"
GRU_N_AFTER = "n = np.tanh(ax[:, 2 * H :] + r * (prev_h @ Wh[:, 2 * H :]))"
GRU_H = "next_h = (1.0 - z) * prev_h + z * n"
GRU_H_SWAPPED = "next_h = (1.0 - z) * n + z * prev_h"
GRU_ZR = (
    "z = sigmoid(ax[:, :H] + prev_h @ Wh[:, :H])\n"
    "    r = sigmoid(ax[:, H : 2 * H] + prev_h @ Wh[:, H : 2 * H])"
)
GRU_RZ = (
    "z = sigmoid(ax[:, H : 2 * H] + prev_h @ Wh[:, H : 2 * H])\n"
    "    r = sigmoid(ax[:, :H] + prev_h @ Wh[:, :H])"
)
GRU_FORWARD = [
    (
        "this is PyTorch's/cuDNN's GRU",
        e("gru_step_forward", GRU_N, GRU_N_AFTER, GRU_H, GRU_H_SWAPPED),
    ),
    ("(1 - z) and z are swapped", e("gru_step_forward", GRU_H, GRU_H_SWAPPED)),
    ("the reset gate is applied after", e("gru_step_forward", GRU_N, GRU_N_AFTER)),
    ("gate order r, z, n", e("gru_step_forward", GRU_ZR, GRU_RZ)),
    (
        "the reset gate is missing",
        e("gru_step_forward", "(r * prev_h) @ Wh[:, 2 * H :]", "prev_h @ Wh[:, 2 * H :]"),
    ),
]
DPREV = "dprev_h = dnext_h * (1.0 - z) + dq * r + dazr @ Wh[:, : 2 * H].T"
GRU_STEP_BACK = [
    (
        "the direct path is missing",
        e("gru_step_backward", DPREV, "dprev_h = dq * r + dazr @ Wh[:, : 2 * H].T"),
    ),
    (
        "the path through the candidate is missing",
        e("gru_step_backward", DPREV, "dprev_h = dnext_h * (1.0 - z) + dazr @ Wh[:, : 2 * H].T"),
    ),
    (
        "the paths through the gates are missing",
        e("gru_step_backward", DPREV, "dprev_h = dnext_h * (1.0 - z) + dq * r"),
    ),
    (
        "dWh's candidate block uses prev_h",
        e("gru_step_backward", "(r * prev_h).T @ dan", "prev_h.T @ dan"),
    ),
    (
        "the sign of dz is flipped",
        e("gru_step_backward", "dz = dnext_h * (n - prev_h)", "dz = dnext_h * (prev_h - n)"),
    ),
]
EDITS_05 = {
    **{("gru_step_forward", k): row for k, row in enumerate(GRU_FORWARD)},
    **{("gru_step_backward", k): row for k, row in enumerate(GRU_STEP_BACK)},
    ("gru_step_backward", 5): (
        "mean instead of sum over the batch",
        e(
            "gru_step_backward",
            SEQ_RETURN,
            "N = x.shape[0]\n    return dx, dprev_h, dWx / N, dWh / N, db / N",
        ),
    ),
    **{("gru_forward", k): row for k, row in enumerate(GRU_FORWARD)},
    ("gru_forward", 5): (
        "time order reversed",
        e("gru_forward", "for t in range(T):", "for t in reversed(range(T)):"),
    ),
    ("gru_forward", 6): (
        "h0 is ignored",
        e("gru_forward", "prev_h = h0", "prev_h = np.zeros_like(h0)"),
    ),
    ("gru_forward", 7): (
        "the previous state is never updated",
        e("gru_forward", "gru_step_forward(x[:, t], prev_h,", "gru_step_forward(x[:, t], h0,"),
    ),
    ("gru_backward", 0): (
        "missing recurrent gradient",
        e("gru_backward", "gru_step_backward(dh[:, t] + dprev_h,", "gru_step_backward(dh[:, t],"),
    ),
    **{("gru_backward", k + 1): row for k, row in enumerate(GRU_STEP_BACK)},
    ("gru_backward", 6): (
        "mean instead of sum over the batch",
        e("gru_backward", SEQ_RETURN, SEQ_MEAN),
    ),
    ("gru_backward", 7): (
        "time order reversed",
        e("gru_backward", "reversed(range(T))", "range(T)"),
    ),
    ("gru_backward", 8): (
        "the weight gradients are overwritten",
        e(
            "gru_backward",
            "dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t",
            "dWx, dWh, db = dWx_t, dWh_t, db_t",
        ),
    ),
}
HONEST_05 = {
    "tuplecache": {
        **e("gru_forward", "return h, caches", "return h, tuple(caches)"),
        **e("gru_step_backward", "dWx = x.T @ da", 'dWx = np.einsum("nd,nk->dk", x, da)'),
    },
}

# ---- lesson 06: stacked layers -------------------------------------------------------------
LAYERS = "for layer, (Wx, Wh, b) in enumerate(params):"
LAYER_CALL = "forward(out, h0[layer], Wx, Wh, b)"
H0_TOP = "forward(out, h0[len(params) - 1 - layer], Wx, Wh, b)"
TOP_PARAMS = "for layer, (Wx, Wh, b) in enumerate(params[::-1]):"
STACK_RETURN = "return dout, np.stack(dh0s[::-1]), grads[::-1]"
EDITS_06 = {
    ("stacked_forward", 0): (
        "every layer uses the same weights",
        e(
            "stacked_forward",
            LAYERS,
            "for layer in range(len(params)):\n        Wx, Wh, b = params[0]",
        ),
    ),
    ("stacked_forward", 1): (
        "every layer reads the input x",
        e("stacked_forward", LAYER_CALL, "forward(x, h0[layer], Wx, Wh, b)"),
    ),
    ("stacked_forward", 2): (
        "you return the states of the bottom layer",
        e(
            "stacked_forward",
            "        caches.append(layer_cache)\n    return out, (cell, caches)",
            "        caches.append(layer_cache)\n        if layer == 0:\n            bottom = out\n"
            "    return bottom, (cell, caches)",
        ),
    ),
    ("stacked_forward", 3): (
        "every layer starts from h0[0]",
        e("stacked_forward", LAYER_CALL, "forward(out, h0[0], Wx, Wh, b)"),
    ),
    ("stacked_forward", 4): (
        "h0 is ignored",
        e("stacked_forward", LAYER_CALL, "forward(out, np.zeros_like(h0[layer]), Wx, Wh, b)"),
    ),
    ("stacked_forward", 5): (
        "the layers are taken top-first",
        e("stacked_forward", LAYERS, TOP_PARAMS, LAYER_CALL, H0_TOP),
    ),
    ("stacked_forward", 6): (
        "the layers take params top-first",
        e("stacked_forward", LAYERS, TOP_PARAMS),
    ),
    ("stacked_forward", 7): ("h0 is taken top-first", e("stacked_forward", LAYER_CALL, H0_TOP)),
    ("stacked_backward", 0): (
        "every layer's backward was given the top gradient",
        e("stacked_backward", "backward(dout, layer_cache)", "backward(dh, layer_cache)"),
    ),
    ("stacked_backward", 1): (
        "dh0 is stacked top layer first",
        e("stacked_backward", "np.stack(dh0s[::-1])", "np.stack(dh0s)"),
    ),
    ("stacked_backward", 2): (
        "grads is listed top layer first",
        e("stacked_backward", STACK_RETURN, "return dout, np.stack(dh0s[::-1]), grads"),
    ),
    ("stacked_backward", 3): (
        "dx is the gradient of the top layer's input",
        e(
            "stacked_backward",
            "        dh0s.append(dh0_layer)\n",
            "        dh0s.append(dh0_layer)\n"
            "        if len(dh0s) == 1:\n            dx_top = dout\n",
            STACK_RETURN,
            "return dx_top, np.stack(dh0s[::-1]), grads[::-1]",
        ),
    ),
}
HONEST_06 = {
    "loops": e(
        "stacked_backward",
        STACK_RETURN,
        "return dout, np.array(list(reversed(dh0s))), list(reversed(grads))",
    ),
}

# ---- lesson 07: bidirectional --------------------------------------------------------------
CONCAT = "[h_f, h_b[:, ::-1]]"
RUN_B = "forward(x[:, ::-1], h0_b, *params_b)"
RUN_F = "forward(x, h0_f, *params_f)"
SPLIT_F, SPLIT_B = "backward(dh[..., :H], cache_f)", "backward(dh[:, ::-1, H:], cache_b)"
DX = "dx = dx_f + dx_b[:, ::-1]"
BI_RETURN = "return dx, dh0_f, dh0_b, (dWx_f, dWh_f, db_f), (dWx_b, dWh_b, db_b)"
EDITS_07 = {
    ("bidirectional_forward", 0): (
        "the backward direction's states are not reversed",
        e("bidirectional_forward", CONCAT, "[h_f, h_b]"),
    ),
    ("bidirectional_forward", 1): (
        "the backward direction reads the sequence left to right",
        e("bidirectional_forward", RUN_B, "forward(x, h0_b, *params_b)", CONCAT, "[h_f, h_b]"),
    ),
    ("bidirectional_forward", 2): (
        "concatenation order",
        e("bidirectional_forward", CONCAT, "[h_b[:, ::-1], h_f]"),
    ),
    ("bidirectional_forward", 3): (
        "concatenation order",
        e("bidirectional_forward", CONCAT, "[h_b, h_f]"),
    ),
    ("bidirectional_forward", 4): (
        "both directions use params_f",
        e("bidirectional_forward", RUN_B, "forward(x[:, ::-1], h0_b, *params_f)"),
    ),
    ("bidirectional_forward", 5): (
        "params_f and params_b are swapped",
        e(
            "bidirectional_forward",
            RUN_F,
            "forward(x, h0_f, *params_b)",
            RUN_B,
            "forward(x[:, ::-1], h0_b, *params_f)",
        ),
    ),
    ("bidirectional_backward", 0): (
        "dh is split the wrong way round",
        e(
            "bidirectional_backward",
            SPLIT_F,
            "backward(dh[..., H:], cache_f)",
            SPLIT_B,
            "backward(dh[:, ::-1, :H], cache_b)",
        ),
    ),
    ("bidirectional_backward", 1): (
        "the backward direction's upstream gradient is not reversed",
        e("bidirectional_backward", SPLIT_B, "backward(dh[..., H:], cache_b)"),
    ),
    ("bidirectional_backward", 2): (
        "the backward direction's dx is not reversed",
        e("bidirectional_backward", DX, "dx = dx_f + dx_b"),
    ),
    ("bidirectional_backward", 3): (
        "dx is not the sum of both directions",
        e("bidirectional_backward", DX, "dx = dx_f"),
    ),
    ("bidirectional_backward", 4): (
        "dx is not the sum of both directions",
        e("bidirectional_backward", DX, "dx = dx_b[:, ::-1]"),
    ),
    ("bidirectional_backward", 5): (
        "dx is the mean of the two directions",
        e("bidirectional_backward", DX, "dx = (dx_f + dx_b[:, ::-1]) / 2"),
    ),
    ("bidirectional_backward", 6): (
        "grads_f and grads_b are swapped",
        e(
            "bidirectional_backward",
            BI_RETURN,
            "return dx, dh0_f, dh0_b, (dWx_b, dWh_b, db_b), (dWx_f, dWh_f, db_f)",
        ),
    ),
    ("bidirectional_backward", 7): (
        "dh0_f and dh0_b are swapped",
        e(
            "bidirectional_backward",
            BI_RETURN,
            "return dx, dh0_b, dh0_f, (dWx_f, dWh_f, db_f), (dWx_b, dWh_b, db_b)",
        ),
    ),
}
HONEST_07 = {
    "dstack": e(
        "bidirectional_forward",
        "np.concatenate([h_f, h_b[:, ::-1]], axis=2)",
        "np.dstack([h_f, np.flip(h_b, axis=1)])",
    ),
}

# ---- lesson 08: the capstone ---------------------------------------------------------------
LSTM_CALL = 'h, c_lstm = lstm_forward(inp, h0, params["Wx_0"], params["Wh_0"], params["b_0"])'


def permuted_lstm(cols: str) -> dict:
    """The student's own reading of the fused columns: ``cols`` the reference blocks taken."""
    return e(
        "conditional_forward",
        LSTM_CALL,
        f'H = params["Wh_0"].shape[0]\n    cols = np.r_[{cols}]\n'
        '    h, c_lstm = lstm_forward(\n        inp, h0, params["Wx_0"][:, cols], '
        'params["Wh_0"][:, cols], params["b_0"][cols]\n    )',
    )


LOSS = "loss, dscores = temporal_softmax_loss(scores, y, mask)"
EDITS_08 = {
    ("conditional_forward", 0): (
        "the step input is concatenated in the wrong order",
        e("conditional_forward", "[e_char, e_cty]", "[e_cty, e_char]"),
    ),
    ("conditional_forward", 1): (
        "the initial state ignores the country",
        e(
            "conditional_forward",
            'h0 = params["H0_0"][countries]',
            'h0 = np.zeros((N, params["H0_0"].shape[1]))',
        ),
    ),
    ("conditional_forward", 2): (
        "the country is given at the first step only",
        e(
            "conditional_forward",
            "    inp = np.concatenate(",
            "    e_cty = e_cty.copy()\n    e_cty[:, 1:] = 0.0\n    inp = np.concatenate(",
        ),
    ),
    ("conditional_forward", 3): (
        "gate order",
        permuted_lstm("0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H"),
    ),
    ("conditional_forward", 4): ("gate order", permuted_lstm("H : 2 * H, 0:H, 2 * H : 4 * H")),
    ("conditional_loss", 0): (
        "the mask is ignored",
        e(
            "conditional_loss",
            LOSS,
            "loss, dscores = temporal_softmax_loss(scores, y, np.ones_like(mask))",
        ),
    ),
    ("conditional_loss", 1): (
        "loss averaged over the characters",
        e(
            "conditional_loss",
            LOSS,
            LOSS + "\n    per_char = x.shape[0] / mask.sum()\n"
            "    loss, dscores = loss * per_char, dscores * per_char",
        ),
    ),
    ("conditional_loss", 2): (
        "loss averaged over time steps",
        e(
            "conditional_loss",
            LOSS,
            LOSS + "\n    loss, dscores = loss / x.shape[1], dscores / x.shape[1]",
        ),
    ),
    ("conditional_loss", 3): (
        "dH0_0 is zero",
        e("conditional_loss", '    np.add.at(grads["H0_0"], countries, dh0)\n', ""),
    ),
    ("sample_name", 0): (
        "<s> was not fed",
        e("sample_name", "    _, h, c = step(START_ID, h, c)\n", ""),
    ),
    ("sample_name", 1): (
        "the scores are multiplied by the temperature",
        e("sample_name", "s = scores / temperature", "s = scores * temperature"),
    ),
    ("sample_name", 2): (
        "the temperature is ignored",
        e("sample_name", "s = scores / temperature", "s = scores"),
    ),
    ("sample_name", 3): (
        "greedy decoding at a temperature > 0",
        e("sample_name", "if temperature == 0:", "if temperature >= 0:"),
    ),
    ("sample_name", 4): (
        "names are one character too long",
        e("sample_name", "while len(ids) < max_len:", "while len(ids) <= max_len:"),
    ),
    ("sample_name", 5): (
        "the end marker does not stop the name",
        e("sample_name", "        if token == END_ID:\n            break\n", ""),
    ),
}
# a mistake notebook of lesson 08 trains a few steps only (its quality bar is not asserted)
SHORT_TRAINING = (
    "train_steps(params, opt, 100, train_rng)",
    "train_steps(params, opt, 2, train_rng)",
)
EDITS = {L04: EDITS_04, L05: EDITS_05, L06: EDITS_06, L07: EDITS_07, L08: EDITS_08}
HONEST = {L04: HONEST_04, L05: HONEST_05, L06: HONEST_06, L07: HONEST_07}


def edited(sol, edits: dict):
    """``sol`` with ``{cell grade_id: [(old, new), ...]}`` applied (each ``old`` must occur)."""
    nb = sol
    for fn, pairs in edits.items():
        src = nb.cells[fx.cell_index(nb, fn)].source
        for old, new in pairs:
            assert old in src, (fn, old)
            src = src.replace(old, new)
        nb = fx.set_source(nb, fn, src)
    return nb


def short_training(nb):
    old, new = SHORT_TRAINING
    hits = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
    assert hits, "lesson 08's training cells changed: update SHORT_TRAINING"
    for c in hits:
        c.source = c.source.replace(old, new)
    return nb


def mistakes() -> list[tuple[str, str, str, str, dict]]:
    """``(student, lesson, function, likely cause, edits)`` for every mistake row of the specs
    of a tested function of lessons 04-08."""
    out = []
    for lesson, module in MODULES.items():
        tested = {f for _, fns in grade_cells(lesson).values() for f in fns}
        for fn, spec in module.SPECS.items():
            rows = getattr(spec, "mistakes", None) or []
            for k, (message, _) in enumerate(rows if fn in tested else []):
                found = EDITS[lesson].get((fn, k))
                assert found is not None, f"no student edit for {fn} row {k}: {message[:60]}"
                start, edits = found
                assert message.startswith(start), f"{fn} row {k} is now {message[:60]!r}"
                out.append((f"{fn}_{k}", lesson, fn, message, edits))
    return out


def test_every_edit_is_a_row_of_the_tables():
    rows = {(lesson, fn, int(s.rsplit("_", 1)[1])) for s, lesson, fn, _, _ in mistakes()}
    for lesson, edits in EDITS.items():
        for fn, k in edits:
            assert (lesson, fn, k) in rows, f"{lesson} {fn} row {k} has no mistake row any more"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus_late")
    env = lesson_class(tmp, *MODULES)
    sols = {
        lesson: fx.as_submission(fx.read(REPO / "solutions" / lesson / f"{lesson}.ipynb"))
        for lesson in MODULES
    }
    dl = tmp / "dl"
    for lesson, honest in HONEST.items():
        for student, edits in honest.items():
            fx.write(edited(sols[lesson], edits), dl / student / f"{lesson}.ipynb")
    cases = mistakes()
    for student, lesson, _, _, edits in cases:
        nb = edited(sols[lesson], edits)
        fx.write(short_training(nb) if lesson == L08 else nb, dl / student / f"{lesson}.ipynb")
    table = grade_class(env, tmp, dl)
    return tmp, table, stored_cells(tmp), cases


def test_honest_alternatives_score_full_marks_unflagged(corpus):
    _, table, _, _ = corpus
    for lesson, honest in HONEST.items():
        assert_honest(table, lesson, honest)


def test_each_mistake_names_its_function_and_likely_cause(corpus):
    tmp, table, cells, cases = corpus
    named: dict[str, list[bool]] = {}
    for case in cases:
        ok, message = mistake_named(tmp, table, cells, case)
        named.setdefault(case[1], []).append(ok)
        if not ok:
            print(f"{case[1]} {case[0]}: {message[:400]!r}")
    total = [ok for oks in named.values() for ok in oks]
    for lesson, oks in named.items():
        print(f"{lesson}: {sum(oks)}/{len(oks)} name the function and likely cause")
    share = sum(total) / len(total)
    print(f"lessons 04-08: {sum(total)}/{len(total)} = {share:.0%}")
    assert share >= 0.9
