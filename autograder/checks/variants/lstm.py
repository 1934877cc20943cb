"""Known mistakes of lesson 04 (LSTM), recomputed in the judge: one plain step with knobs,
each knob one wrong turn, and the sequence loops around it (see the tables in
:mod:`autograder.checks.lesson04`)."""

import numpy as np

from autograder.checks._math import sigmoid


def _step(x, h, c, Wx, Wh, b, order="ifog", cell="sum", read="tanh_c"):
    """A forward step; ``order`` names the gate each fused block is (wrongly) taken to be."""
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    blocks = dict(zip(order, (a[:, k * H : (k + 1) * H] for k in range(4)), strict=True))
    i, f, o = sigmoid(blocks["i"]), sigmoid(blocks["f"]), sigmoid(blocks["o"])
    g = sigmoid(blocks["g"]) if cell == "sigmoid_g" else np.tanh(blocks["g"])
    s = f * c + i * g
    next_c = {"sum": s, "sigmoid_g": s, "squashed": sigmoid(s), "no_forget": i * g}[cell]
    read_out = {"tanh_c": np.tanh(next_c), "c": next_c, "prev_c": np.tanh(c)}[read]
    return o * read_out, next_c, (x, h, c, i, f, o, g, next_c)


def _step_back(
    dnext_h,
    dnext_c,
    st,
    Wx,
    Wh,
    use_dnext_c=True,
    h_to_c=True,
    deriv="tanh_c",
    prev_c_grad="dc_f",
    da_order="ifog",
    scale=1.0,
):
    x, h, c, i, f, o, g, next_c = st
    tc = np.tanh(next_c)
    local = {"tanh_c": 1 - tc**2, "c": 1 - next_c**2}[deriv]
    dc = (dnext_c if use_dnext_c else 0) + (dnext_h * o * local if h_to_c else 0)
    do = dnext_h * (tc if deriv == "tanh_c" else next_c)
    grads = {
        "i": dc * g * i * (1 - i),
        "f": dc * c * f * (1 - f),
        "o": do * o * (1 - o),
        "g": dc * i * (1 - g**2),
    }
    da = np.concatenate([grads[k] for k in da_order], axis=1)
    dprev_c = {"dc_f": dc * f, "dc": dc, "dnext_c_f": dnext_c * f}[prev_c_grad]
    return {
        "dx": da @ Wx.T,
        "dprev_h": da @ Wh.T,
        "dprev_c": dprev_c,
        "dWx": scale * (x.T @ da),
        "dWh": scale * (h.T @ da),
        "db": scale * da.sum(axis=0),
    }


def step_forward(x, prev_h, prev_c, Wx, Wh, b, dnext_h=None, dnext_c=None, **kw):
    next_h, next_c, _ = _step(x, prev_h, prev_c, Wx, Wh, b, **kw)
    return {"next_h": next_h, "next_c": next_c}


def step_backward(x, prev_h, prev_c, Wx, Wh, b, dnext_h, dnext_c, mean=False, **kw):
    _, _, st = _step(x, prev_h, prev_c, Wx, Wh, b)
    return _step_back(dnext_h, dnext_c, st, Wx, Wh, scale=1 / x.shape[0] if mean else 1.0, **kw)


def forward(x, h0, Wx, Wh, b, dh=None, reverse=False, zero_h0=False, c0_is_h0=False, **kw):
    N, T, _ = x.shape
    H = h0.shape[1]
    out = np.zeros((N, T, H))
    h = np.zeros_like(h0) if zero_h0 else h0
    c = h0 if c0_is_h0 else np.zeros_like(h0)
    for t in reversed(range(T)) if reverse else range(T):
        h, c, _ = _step(x[:, t], h, c, Wx, Wh, b, **kw)
        out[:, t] = h
    return {"h": out}


def backward(
    x,
    h0,
    Wx,
    Wh,
    b,
    dh,
    carry_h=True,
    carry_c=True,
    forward_time=False,
    accumulate=True,
    mean=False,
    **kw,
):
    """BPTT with knobs (``kw`` those of :func:`_step_back`); ``mean`` divides by N."""
    N, T, _ = x.shape
    scale = 1 / N if mean else 1.0
    h, c, states = h0, np.zeros_like(h0), []
    for t in range(T):
        h, c, st = _step(x[:, t], h, c, Wx, Wh, b)
        states.append(st)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in range(T) if forward_time else reversed(range(T)):
        g = _step_back(
            dh[:, t] + (dprev_h if carry_h else 0),
            dprev_c if carry_c else np.zeros_like(h0),
            states[t],
            Wx,
            Wh,
            scale=scale,
            **kw,
        )
        dx[:, t], dprev_h, dprev_c = g["dx"], g["dprev_h"], g["dprev_c"]
        if accumulate:
            dWx, dWh, db = dWx + g["dWx"], dWh + g["dWh"], db + g["db"]
        else:
            dWx, dWh, db = g["dWx"], g["dWh"], g["db"]
    return {"dx": dx, "dh0": dprev_h, "dWx": dWx, "dWh": dWh, "db": db}
