"""Hidden checks of lesson 01 (vanilla RNN): ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``.

Each spec names the reference, the seeded input shapes (N = 1, T = 1 and D != H included),
and the known mistakes as wrong variants computed here, in the judge.
"""

import numpy as np

from autograder.checks._inputs import SEQ_CASES, STEP_CASES, seq_inputs_for, step_inputs_for
from autograder.checks._messages import (
    BPTT_REVERSED,
    GENERIC_ERRORS,
    MEAN,
    sequence_forward_mistakes,
)
from autograder.checks.spec import Spec
from rnnref import rnn

BLOCKED = ("rnnref.rnn",)  # the answer key of this lesson; unavailable inside the worker


step_inputs = step_inputs_for(1)
seq_inputs = seq_inputs_for(1)


# ----- references (judge side) -------------------------------------------------------------
def ref_step_forward(x, prev_h, Wx, Wh, b, **_):
    return {"next_h": rnn.rnn_step_forward(x, prev_h, Wx, Wh, b)[0]}


def ref_step_backward(x, prev_h, Wx, Wh, b, dnext_h, **_):
    _, cache = rnn.rnn_step_forward(x, prev_h, Wx, Wh, b)
    return dict(
        zip(
            ("dx", "dprev_h", "dWx", "dWh", "db"),
            rnn.rnn_step_backward(dnext_h, cache),
            strict=True,
        )
    )


def ref_forward(x, h0, Wx, Wh, b, **_):
    return {"h": rnn.rnn_forward(x, h0, Wx, Wh, b)[0]}


def ref_backward(x, h0, Wx, Wh, b, dh, **_):
    _, cache = rnn.rnn_forward(x, h0, Wx, Wh, b)
    return dict(zip(("dx", "dh0", "dWx", "dWh", "db"), rnn.rnn_backward(dh, cache), strict=True))


# ----- known mistakes -----------------------------------------------------------------------
def _forward_variant(x, h0, Wx, Wh, b, reverse=False, use_h0_always=False, zero_h0=False):
    N, T, _ = x.shape
    h = np.zeros((N, T, Wh.shape[0]))
    prev = np.zeros_like(h0) if zero_h0 else h0
    for t in reversed(range(T)) if reverse else range(T):
        h[:, t] = np.tanh(x[:, t] @ Wx + (h0 if use_h0_always else prev) @ Wh + b)
        prev = h[:, t]
    return {"h": h}


def _bptt_variant(
    x, h0, Wx, Wh, b, dh, recurrent=True, deriv="h", forward_time=False, accumulate=True, scale=1.0
):
    h = rnn.rnn_forward(x, h0, Wx, Wh, b)[0]
    N, T, _ = x.shape
    prevs = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    a = x @ Wx + prevs @ Wh + b
    local = {"h": 1 - h**2, "a": 1 - a**2, "tanh_h": 1 - np.tanh(h) ** 2, "none": np.ones_like(h)}
    dx, dWx, dWh, db = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev = np.zeros_like(h0)
    for t in range(T) if forward_time else reversed(range(T)):
        da = (dh[:, t] + (dprev if recurrent else 0)) * local[deriv][:, t]
        dx[:, t] = da @ Wx.T
        dprev = da @ Wh.T
        step = (x[:, t].T @ da, prevs[:, t].T @ da, da.sum(0))
        if accumulate:
            dWx, dWh, db = dWx + step[0], dWh + step[1], db + step[2]
        else:
            dWx, dWh, db = step
    return {"dx": dx, "dh0": dprev, "dWx": dWx * scale, "dWh": dWh * scale, "db": db * scale}


def _step_bwd_variant(x, prev_h, Wx, Wh, b, dnext_h, **kw):
    out = _bptt_variant(x[:, None], prev_h, Wx, Wh, b, dnext_h[:, None], **kw)
    return {
        "dx": out["dx"][:, 0],
        "dprev_h": out["dh0"],
        **{k: out[k] for k in ("dWx", "dWh", "db")},
    }


WRONG_DERIV = (
    "derivative of the wrong quantity: tanh'(a) = 1 - tanh(a)^2 = 1 - next_h^2, so use the "
    "OUTPUT next_h from the cache, not 1 - a^2 of the pre-activation a."
)
TANH_TWICE = "tanh applied twice: the derivative is 1 - next_h**2, not 1 - tanh(next_h)**2."
NO_DERIV = "the tanh derivative is missing: multiply the upstream gradient by (1 - next_h**2)."
SHAPE_ERRORS = [
    (
        "name 't' is not defined",
        "the widely copied snippet `next_h = np.tanh(t)` uses a name that is never defined: "
        "compute the pre-activation first, `a = x @ Wx + prev_h @ Wh + b`, then `np.tanh(a)`.",
    ),
    (
        "matmul",
        "a product has mismatched shapes: batch-major arrays multiply weights from the "
        "right, x @ Wx with Wx (D, H) and prev_h @ Wh with Wh (H, H); not Wx @ x.",
    ),
    *GENERIC_ERRORS,
]

_STEP_WRT = {"dx": "x", "dprev_h": "prev_h", "dWx": "Wx", "dWh": "Wh", "db": "b"}
_SEQ_WRT = {"dx": "x", "dh0": "h0", "dWx": "Wx", "dWh": "Wh", "db": "b"}

SPECS = {
    "rnn_step_forward": Spec(
        name="rnn_step_forward",
        args=("x", "prev_h", "Wx", "Wh", "b"),
        outputs=("next_h", None),
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=ref_step_forward,
        mistakes=[
            (
                "the tanh is missing: next_h = tanh(x @ Wx + prev_h @ Wh + b).",
                lambda x, prev_h, Wx, Wh, b, **_: {"next_h": x @ Wx + prev_h @ Wh + b},
            ),
            (
                "the recurrent term prev_h @ Wh is missing.",
                lambda x, prev_h, Wx, Wh, b, **_: {"next_h": np.tanh(x @ Wx + b)},
            ),
            (
                "the bias b is missing.",
                lambda x, prev_h, Wx, Wh, b, **_: {"next_h": np.tanh(x @ Wx + prev_h @ Wh)},
            ),
            (
                "sigmoid instead of tanh.",
                lambda x, prev_h, Wx, Wh, b, **_: {
                    "next_h": 1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))
                },
            ),
        ],
        errors=SHAPE_ERRORS,
    ),
    "rnn_step_backward": Spec(
        name="rnn_step_backward",
        args=("dnext_h", "cache"),
        outputs=("dx", "dprev_h", "dWx", "dWh", "db"),
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=ref_step_backward,
        forward="rnn_step_forward",
        forward_args=("x", "prev_h", "Wx", "Wh", "b"),
        upstream="dnext_h",
        wrt=_STEP_WRT,
        mistakes=[
            (MEAN, lambda **k: _step_bwd_variant(**k, scale=1 / k["x"].shape[0])),
            (WRONG_DERIV, lambda **k: _step_bwd_variant(**k, deriv="a")),
            (TANH_TWICE, lambda **k: _step_bwd_variant(**k, deriv="tanh_h")),
            (NO_DERIV, lambda **k: _step_bwd_variant(**k, deriv="none")),
        ],
        errors=SHAPE_ERRORS,
    ),
    "rnn_forward": Spec(
        name="rnn_forward",
        args=("x", "h0", "Wx", "Wh", "b"),
        outputs=("h", None),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=ref_forward,
        mistakes=sequence_forward_mistakes(lambda k, **how: _forward_variant(**_fwd(k), **how)),
        errors=SHAPE_ERRORS,
    ),
    "rnn_backward": Spec(
        name="rnn_backward",
        args=("dh", "cache"),
        outputs=("dx", "dh0", "dWx", "dWh", "db"),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=ref_backward,
        forward="rnn_forward",
        forward_args=("x", "h0", "Wx", "Wh", "b"),
        upstream="dh",
        wrt=_SEQ_WRT,
        mistakes=[
            (
                "missing recurrent gradient: at each step add the gradient flowing back from step "
                "t+1 (dprev_h) to dh[:, t] before the tanh derivative.",
                lambda **k: _bptt_variant(**k, recurrent=False),
            ),
            (MEAN, lambda **k: _bptt_variant(**k, scale=1 / k["x"].shape[0])),
            (WRONG_DERIV, lambda **k: _bptt_variant(**k, deriv="a")),
            (BPTT_REVERSED, lambda **k: _bptt_variant(**k, forward_time=True)),
            (
                "the weight gradients are overwritten at each step: accumulate them over time "
                "(dWx += ..., dWh += ..., db += ...).",
                lambda **k: _bptt_variant(**k, accumulate=False),
            ),
        ],
        errors=SHAPE_ERRORS,
    ),
}


def _fwd(k):
    return {n: k[n] for n in ("x", "h0", "Wx", "Wh", "b")}
