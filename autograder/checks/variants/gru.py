"""Known mistakes of lesson 05 (GRU, the documents' form), recomputed in the judge: one plain
step with knobs, each knob one wrong turn (PyTorch's conventions among them), and the
sequence loops around it (see the tables in :mod:`autograder.checks.lesson05`)."""

import numpy as np

from autograder.checks._math import sigmoid


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


def step_forward(x, prev_h, Wx, Wh, b, dnext_h=None, **kw):
    return {"next_h": _step(x, prev_h, Wx, Wh, b, **kw)[0]}


def step_backward(x, prev_h, Wx, Wh, b, dnext_h, mean=False, **kw):
    _, st = _step(x, prev_h, Wx, Wh, b)
    return _step_back(dnext_h, st, Wx, Wh, scale=1 / x.shape[0] if mean else 1.0, **kw)


def forward(x, h0, Wx, Wh, b, dh=None, reverse=False, zero_h0=False, use_h0_always=False, **kw):
    N, T, _ = x.shape
    out = np.zeros((N, T, h0.shape[1]))
    h = np.zeros_like(h0) if zero_h0 else h0
    for t in reversed(range(T)) if reverse else range(T):
        h = _step(x[:, t], h0 if use_h0_always else h, Wx, Wh, b, **kw)[0]
        out[:, t] = h
    return {"h": out}


def backward(
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
