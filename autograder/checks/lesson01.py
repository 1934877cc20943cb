"""Hidden checks of lesson 01 (vanilla RNN): ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``.

Each spec names the reference, the seeded input shapes (N = 1, T = 1 and D != H included),
and the known mistakes as wrong variants computed here, in the judge.
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
from rnnref import rnn

BLOCKED = ("rnnref.rnn",)  # the answer key of this lesson; unavailable inside the worker

STEP_GRADS, SEQ_GRADS = gradients(STEP_ARGS), gradients(SEQ_ARGS)
step_inputs = step_inputs_for(1)
seq_inputs = seq_inputs_for(1)


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
    x, h0, Wx, Wh, b, dh, recurrent=True, deriv="h", forward_time=False, accumulate=True, mean=False
):
    """BPTT with knobs; ``mean`` divides the parameter gradients by N."""
    scale = 1 / x.shape[0] if mean else 1.0
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

STEP_FORWARD_MISTAKES = [
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
        lambda x, prev_h, Wx, Wh, b, **_: {"next_h": 1 / (1 + np.exp(-(x @ Wx + prev_h @ Wh + b)))},
    ),
]
STEP_BACKWARD_MISTAKES = [
    (MEAN, dict(mean=True)),
    (WRONG_DERIV, dict(deriv="a")),
    (TANH_TWICE, dict(deriv="tanh_h")),
    (NO_DERIV, dict(deriv="none")),
]
BACKWARD_MISTAKES = [
    (RECURRENT + " before the tanh derivative.", dict(recurrent=False)),
    (MEAN, dict(mean=True)),
    (WRONG_DERIV, dict(deriv="a")),
    (BPTT_REVERSED, dict(forward_time=True)),
    (OVERWRITTEN, dict(accumulate=False)),
]

SPECS = {
    "rnn_step_forward": Spec(
        name="rnn_step_forward",
        args=STEP_ARGS,
        outputs=("next_h", None),
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=forward_reference(rnn.rnn_step_forward, STEP_ARGS, ("next_h", None)),
        mistakes=STEP_FORWARD_MISTAKES,
        errors=SHAPE_ERRORS,
    ),
    "rnn_step_backward": Spec(
        name="rnn_step_backward",
        args=("dnext_h", "cache"),
        outputs=STEP_GRADS,
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=backward_reference(
            rnn.rnn_step_forward, rnn.rnn_step_backward, STEP_ARGS, ("dnext_h",), STEP_GRADS
        ),
        forward="rnn_step_forward",
        forward_args=STEP_ARGS,
        upstream="dnext_h",
        mistakes=mistakes(unpacked(_step_bwd_variant), STEP_BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "rnn_forward": Spec(
        name="rnn_forward",
        args=SEQ_ARGS,
        outputs=("h", None),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=forward_reference(rnn.rnn_forward, SEQ_ARGS, ("h", None)),
        mistakes=mistakes(
            lambda k, **how: _forward_variant(**seq_args(k), **how), SEQUENCE_FORWARD
        ),
        errors=SHAPE_ERRORS,
    ),
    "rnn_backward": Spec(
        name="rnn_backward",
        args=("dh", "cache"),
        outputs=SEQ_GRADS,
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=backward_reference(
            rnn.rnn_forward, rnn.rnn_backward, SEQ_ARGS, ("dh",), SEQ_GRADS
        ),
        forward="rnn_forward",
        forward_args=SEQ_ARGS,
        upstream="dh",
        mistakes=mistakes(unpacked(_bptt_variant), BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
}
