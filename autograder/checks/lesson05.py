"""Hidden checks of lesson 05 (GRU), the documents' form, gate order **z, r, n**::

    z = sigmoid(x_t Wx_z + h_{t-1} Wh_z + b_z)
    r = sigmoid(x_t Wx_r + h_{t-1} Wh_r + b_r)
    n = tanh(x_t Wx_n + (r * h_{t-1}) Wh_n + b_n)      reset before the recurrent product
    h_t = (1 - z) * h_{t-1} + z * n

Each spec names the reference (:mod:`rnnref.gru`, ``variant="documents"``), the seeded input
shapes (N = 1, T = 1 and D != H included) and the known mistakes as wrong variants computed
here, in the judge; the PyTorch/cuDNN conventions (z swapped, reset after the product, r, z, n
layout) are among them.
"""

import numpy as np

from autograder.checks._inputs import (
    SEQ_ARGS,
    SEQ_CASES,
    STEP_ARGS,
    STEP_CASES,
    seq_args,
    seq_inputs_for,
    step_inputs_for,
)
from autograder.checks._math import sigmoid
from autograder.checks._messages import (
    BPTT_REVERSED,
    GENERIC_ERRORS,
    MEAN,
    OVERWRITTEN,
    RECURRENT,
    SEQUENCE_FORWARD,
)
from autograder.checks._references import backward_reference, forward_reference
from autograder.checks.spec import Spec, gradients, mistakes, unpacked
from rnnref import gru

BLOCKED = ("rnnref.gru",)  # the answer key of this lesson; unavailable inside the worker

STEP_GRADS, SEQ_GRADS = gradients(STEP_ARGS), gradients(SEQ_ARGS)
step_inputs = step_inputs_for(3)
seq_inputs = seq_inputs_for(3)


# ----- known mistakes: one plain step with knobs ------------------------------------------
def _step(x, h, Wx, Wh, b, order="zrn", swap_z=False, reset="before"):
    """A forward step; ``order`` names the gate each fused block is (wrongly) taken to be."""
    H = h.shape[1]
    cols = {k: slice(j * H, (j + 1) * H) for j, k in enumerate(order)}
    ax = x @ Wx + b
    z = sigmoid(ax[:, cols["z"]] + h @ Wh[:, cols["z"]])
    r = sigmoid(ax[:, cols["r"]] + h @ Wh[:, cols["r"]])
    Whn = Wh[:, cols["n"]]
    rec = {"before": (r * h) @ Whn, "after": r * (h @ Whn), "none": h @ Whn}[reset]
    n = np.tanh(ax[:, cols["n"]] + rec)
    next_h = (1 - z) * n + z * h if swap_z else (1 - z) * h + z * n
    return next_h, (x, h, z, r, n)


def _step_back(
    dnext_h,
    st,
    Wx,
    Wh,
    scale=1.0,
    direct=True,
    through_reset=True,
    through_gates=True,
    dWhn_input="rh",
    dz_sign=1.0,
):
    x, h, z, r, n = st
    H = h.shape[1]
    Wh_zr, Wh_n = Wh[:, : 2 * H], Wh[:, 2 * H :]
    dz = dz_sign * dnext_h * (n - h)
    dan = dnext_h * z * (1 - n**2)
    dhn = dan @ Wh_n.T  # gradient of r * h
    dazr = np.concatenate([dz * z * (1 - z), dhn * h * r * (1 - r)], axis=1)
    dprev_h = (
        (dnext_h * (1 - z) if direct else 0)
        + (dhn * r if through_reset else 0)
        + (dazr @ Wh_zr.T if through_gates else 0)
    )
    da = np.concatenate([dazr, dan], axis=1)
    hn = r * h if dWhn_input == "rh" else h
    dWh = np.concatenate([h.T @ dazr, hn.T @ dan], axis=1)
    return {
        "dx": da @ Wx.T,
        "dprev_h": dprev_h,
        "dWx": scale * (x.T @ da),
        "dWh": scale * dWh,
        "db": scale * da.sum(axis=0),
    }


def _step_fwd_variant(x, prev_h, Wx, Wh, b, dnext_h=None, **kw):
    return {"next_h": _step(x, prev_h, Wx, Wh, b, **kw)[0]}


def _step_bwd_variant(x, prev_h, Wx, Wh, b, dnext_h, mean=False, **kw):
    _, st = _step(x, prev_h, Wx, Wh, b)
    return _step_back(dnext_h, st, Wx, Wh, scale=1 / x.shape[0] if mean else 1.0, **kw)


def _forward_variant(x, h0, Wx, Wh, b, reverse=False, zero_h0=False, use_h0_always=False, **kw):
    N, T, _ = x.shape
    out = np.zeros((N, T, h0.shape[1]))
    h = np.zeros_like(h0) if zero_h0 else h0
    for t in reversed(range(T)) if reverse else range(T):
        h = _step(x[:, t], h0 if use_h0_always else h, Wx, Wh, b, **kw)[0]
        out[:, t] = h
    return {"h": out}


def _bptt_variant(
    x, h0, Wx, Wh, b, dh, carry=True, forward_time=False, accumulate=True, mean=False, **kw
):
    """BPTT with knobs (``kw`` those of :func:`_step_back`); ``mean`` divides by N."""
    N, T, _ = x.shape
    scale = 1 / N if mean else 1.0
    h, states = h0, []
    for t in range(T):
        h, st = _step(x[:, t], h, Wx, Wh, b)
        states.append(st)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev = np.zeros_like(h0)
    for t in range(T) if forward_time else reversed(range(T)):
        g = _step_back(dh[:, t] + (dprev if carry else 0), states[t], Wx, Wh, scale=scale, **kw)
        dx[:, t], dprev = g["dx"], g["dprev_h"]
        if accumulate:
            dWx, dWh, db = dWx + g["dWx"], dWh + g["dWh"], db + g["db"]
        else:
            dWx, dWh, db = g["dWx"], g["dWh"], g["db"]
    return {"dx": dx, "dh0": dprev, "dWx": dWx, "dWh": dWh, "db": db}


# ----- messages -----------------------------------------------------------------------------
PYTORCH_FORM = (
    "this is PyTorch's/cuDNN's GRU (reset applied after the recurrent product, and "
    "h = (1 - z) * n + z * prev_h). The course grades the documents' form: "
    "n = tanh(x @ Wx_n + (r * prev_h) @ Wh_n + b_n) and next_h = (1 - z) * prev_h + z * n."
)
SWAP_Z = (
    "(1 - z) and z are swapped (PyTorch's and Keras's convention, where z = 1 keeps the old "
    "state): in the documents' form next_h = (1 - z) * prev_h + z * n, so z = 1 takes the "
    "candidate."
)
RESET_AFTER = (
    "the reset gate is applied after the recurrent product, r * (prev_h @ Wh_n) (the "
    "PyTorch/cuDNN form): in the documents' form it is applied before, (r * prev_h) @ Wh_n."
)
GATE_ORDER = (
    "gate order r, z, n (PyTorch's weight layout): the course fuses the gates as z, r, n, so "
    "z comes from the first block of columns (a[:, :H]) and r from the second (a[:, H:2H])."
)
SHAPE_ERRORS = [
    (
        "matmul",
        "a product has mismatched shapes: batch-major arrays multiply weights from the right, "
        "x @ Wx with Wx (D, 3H), prev_h @ Wh with Wh (H, 3H); the candidate uses only the last "
        "block, (r * prev_h) @ Wh[:, 2*H:].",
    ),
    (
        "broadcast",
        "shapes do not broadcast: each gate is one block of H columns, e.g. a[:, :H] for z, "
        "a[:, H:2*H] for r; check that you split with H = prev_h.shape[1].",
    ),
    *GENERIC_ERRORS,
]


FORWARD_MISTAKES = [
    (PYTORCH_FORM, dict(swap_z=True, reset="after")),
    (SWAP_Z, dict(swap_z=True)),
    (RESET_AFTER, dict(reset="after")),
    (GATE_ORDER, dict(order="rzn")),
    (
        "the reset gate is missing: the candidate reads r * prev_h, "
        "n = tanh(x @ Wx_n + (r * prev_h) @ Wh_n + b_n).",
        dict(reset="none"),
    ),
]
STEP_BACKWARD_MISTAKES = [
    (
        "the direct path is missing from dprev_h: next_h = (1 - z) * prev_h + ..., so "
        "dprev_h gets dnext_h * (1 - z) besides the paths through the gates and r.",
        dict(direct=False),
    ),
    (
        "the path through the candidate is missing from dprev_h: n reads r * prev_h, "
        "so dprev_h gets (da_n @ Wh_n.T) * r, da_n being the gradient of n's "
        "pre-activation.",
        dict(through_reset=False),
    ),
    (
        "the paths through the gates are missing from dprev_h: z and r read prev_h, "
        "so dprev_h gets [da_z, da_r] @ Wh[:, :2H].T (the gates' pre-activation "
        "gradients).",
        dict(through_gates=False),
    ),
    (
        "dWh's candidate block uses prev_h: the candidate multiplies Wh_n by "
        "r * prev_h, so dWh[:, 2H:] = (r * prev_h).T @ da_n.",
        dict(dWhn_input="h"),
    ),
    (
        "the sign of dz is flipped: next_h = prev_h + z * (n - prev_h), so "
        "dz = dnext_h * (n - prev_h) (the PyTorch convention gives the opposite sign).",
        dict(dz_sign=-1.0),
    ),
    (MEAN, dict(mean=True)),
]
BACKWARD_MISTAKES = [
    (RECURRENT + ".", dict(carry=False)),
    ("the direct path is missing from dprev_h: it gets dnext_h * (1 - z).", dict(direct=False)),
    (
        "the path through the candidate is missing from dprev_h: it gets (da_n @ Wh_n.T) * r.",
        dict(through_reset=False),
    ),
    (
        "the paths through the gates are missing from dprev_h: it gets "
        "[da_z, da_r] @ Wh[:, :2H].T.",
        dict(through_gates=False),
    ),
    (
        "dWh's candidate block uses prev_h: it is (r * prev_h).T @ da_n, summed over time.",
        dict(dWhn_input="h"),
    ),
    (
        "the sign of dz is flipped: dz = dnext_h * (n - prev_h) in the documents' form.",
        dict(dz_sign=-1.0),
    ),
    (MEAN, dict(mean=True)),
    (BPTT_REVERSED, dict(forward_time=True)),
    (OVERWRITTEN, dict(accumulate=False)),
]


def _seq_forward_variant(k, **kw):
    return _forward_variant(**seq_args(k), **kw)


SPECS = {
    "gru_step_forward": Spec(
        name="gru_step_forward",
        args=STEP_ARGS,
        outputs=("next_h", None),
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=forward_reference(gru.gru_step_forward, STEP_ARGS, ("next_h", None)),
        mistakes=mistakes(unpacked(_step_fwd_variant), FORWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "gru_step_backward": Spec(
        name="gru_step_backward",
        args=("dnext_h", "cache"),
        outputs=STEP_GRADS,
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=backward_reference(
            gru.gru_step_forward, gru.gru_step_backward, STEP_ARGS, ("dnext_h",), STEP_GRADS
        ),
        forward="gru_step_forward",
        forward_args=STEP_ARGS,
        upstream="dnext_h",
        mistakes=mistakes(unpacked(_step_bwd_variant), STEP_BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "gru_forward": Spec(
        name="gru_forward",
        args=SEQ_ARGS,
        outputs=("h", None),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=forward_reference(gru.gru_forward, SEQ_ARGS, ("h", None)),
        mistakes=mistakes(_seq_forward_variant, FORWARD_MISTAKES + SEQUENCE_FORWARD),
        errors=SHAPE_ERRORS,
    ),
    "gru_backward": Spec(
        name="gru_backward",
        args=("dh", "cache"),
        outputs=SEQ_GRADS,
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=backward_reference(
            gru.gru_forward, gru.gru_backward, SEQ_ARGS, ("dh",), SEQ_GRADS
        ),
        forward="gru_forward",
        forward_args=SEQ_ARGS,
        upstream="dh",
        mistakes=mistakes(unpacked(_bptt_variant), BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
}
