"""Known mistakes of lesson 01 (vanilla RNN), recomputed in the judge: the RNN written again
with knobs, each knob one wrong turn (see the tables in :mod:`autograder.checks.lesson01`)."""

import numpy as np

from autograder.checks._math import sigmoid
from rnnref import rnn


def step_forward(x, prev_h, Wx, Wh, b, dnext_h=None, activation="tanh", recurrent=True, bias=True):
    """One step with a term left out of the pre-activation, or another activation."""
    a = x @ Wx + (prev_h @ Wh if recurrent else 0) + (b if bias else 0)
    return {"next_h": {"tanh": np.tanh, "sigmoid": sigmoid, "none": lambda a: a}[activation](a)}


def forward(x, h0, Wx, Wh, b, dh=None, reverse=False, use_h0_always=False, zero_h0=False):
    N, T, _ = x.shape
    h = np.zeros((N, T, Wh.shape[0]))
    prev = np.zeros_like(h0) if zero_h0 else h0
    for t in reversed(range(T)) if reverse else range(T):
        h[:, t] = np.tanh(x[:, t] @ Wx + (h0 if use_h0_always else prev) @ Wh + b)
        prev = h[:, t]
    return {"h": h}


def backward(
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


def step_backward(x, prev_h, Wx, Wh, b, dnext_h, **kw):
    out = backward(x[:, None], prev_h, Wx, Wh, b, dnext_h[:, None], **kw)
    return {
        "dx": out["dx"][:, 0],
        "dprev_h": out["dh0"],
        **{k: out[k] for k in ("dWx", "dWh", "db")},
    }
