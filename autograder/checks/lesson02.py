"""Hidden checks of lesson 02 (gradient flow): ``gradient_norms_through_time`` and
``truncated_rnn_backward``, both reading the cache of ``rnn_forward``.

The lesson gives the student :func:`rnnref.rnn.rnn_forward` (lesson 01's answer key is not
this lesson's), so the cache is ``(x, h0, Wx, Wh, h)``. The judge obtains it by calling the
notebook's ``rnn_forward`` in the worker, like any forward; ``SPECS["rnn_forward"]`` (lesson
01's spec, not graded here) only tells the engine where the cache sits in its outputs.
The truncation length ``k`` travels as a NumPy integer scalar; the adapter
:func:`autograder.checks.adapters.gradflow.truncated_adapter` hands the student a Python int.
"""

import numpy as np

from autograder.checks import lesson01
from autograder.checks._messages import MEAN
from autograder.checks.adapters import gradflow as adapters
from autograder.checks.spec import Spec
from rnnref import gradflow, rnn

BLOCKED = ("rnnref.gradflow",)  # the answer key of this lesson; unavailable inside the worker


def _inputs(rng, N, T, D, H, radius=0.9):
    """Random RNN inputs whose ``Wh`` has spectral radius ``radius`` (rho * orthogonal)."""
    Q, _ = np.linalg.qr(rng.standard_normal((H, H)))
    return {
        "x": rng.standard_normal((N, T, D)),
        "h0": 0.5 * rng.standard_normal((N, H)),
        "Wx": 0.4 * rng.standard_normal((D, H)),
        "Wh": radius * Q,
        "b": 0.1 * rng.standard_normal(H),
    }


def norms_inputs(rng, N, T, D, H, radius=0.9):
    return {**_inputs(rng, N, T, D, H, radius), "dh_last": rng.standard_normal((N, H))}


def truncated_inputs(rng, N, T, D, H, k, radius=0.9):
    return {
        **_inputs(rng, N, T, D, H, radius),
        "dh": rng.standard_normal((N, T, H)),
        "k": np.int64(k),
    }


NORMS_CASES = [
    dict(N=3, T=6, D=4, H=5),
    dict(N=1, T=1, D=3, H=2),
    dict(N=2, T=8, D=2, H=4, radius=1.3),
    dict(N=4, T=5, D=5, H=3, radius=0.6),
]
# The first two cases have k >= T: exactly BPTT, so the engine also checks them against
# central differences (gradcheck_cases=2). The others truncate.
TRUNC_CASES = [
    dict(N=2, T=4, D=3, H=5, k=4),
    dict(N=1, T=3, D=2, H=3, k=7),
    dict(N=2, T=7, D=4, H=3, k=3),
    dict(N=3, T=6, D=2, H=4, k=1),
    dict(N=1, T=1, D=3, H=2, k=1),
    dict(N=2, T=9, D=3, H=4, k=8, radius=1.2),
    dict(N=3, T=8, D=5, H=4, k=2),
]


# ----- references (judge side) -------------------------------------------------------------
def _cache(x, h0, Wx, Wh, b):
    return rnn.rnn_forward(x, h0, Wx, Wh, b)[1]


def ref_norms(x, h0, Wx, Wh, b, dh_last, **_):
    return {"norms": gradflow.gradient_norms_through_time(dh_last, _cache(x, h0, Wx, Wh, b))}


_OUT = ("dx", "dh0", "dWx", "dWh", "db")


def ref_truncated(x, h0, Wx, Wh, b, dh, k, **_):
    out = gradflow.truncated_rnn_backward(dh, _cache(x, h0, Wx, Wh, b), int(k))
    return dict(zip(_OUT, out, strict=True))


# ----- known mistakes -----------------------------------------------------------------------
def _norms_variant(x, h0, Wx, Wh, b, dh_last, transpose=False, slope="t", norm="mean", **_):
    h = rnn.rnn_forward(x, h0, Wx, Wh, b)[0]
    N, T, H = h.shape
    W = Wh if transpose else Wh.T
    grad, out = dh_last, np.empty(T)

    def size(g):
        if norm == "frobenius":
            return np.linalg.norm(g)
        if norm == "squared":
            return (g**2).sum(axis=1).mean()
        return np.linalg.norm(g, axis=1).mean()

    out[T - 1] = size(grad)
    for t in range(T - 1, 0, -1):
        s = {"t": 1 - h[:, t] ** 2, "t-1": 1 - h[:, t - 1] ** 2, "none": 1.0}[slope]
        grad = (grad * s) @ W
        out[t - 1] = size(grad)
    return {"norms": out}


def _truncated_variant(x, h0, Wx, Wh, b, dh, k, steps=0, dh0_mode="all", chunked=False, **_):
    """Truncated BPTT, written source by source, with a configurable mistake.

    steps: extra steps added to k (off by one); dh0_mode "strict" drops the gradient of the
    source at t = k-1 (whose window ends exactly at step 0), "none" never fills dh0;
    chunked: classic block-wise truncation (windows [0, k), [k, 2k), ...) instead of a
    sliding window per source step.
    """
    h = rnn.rnn_forward(x, h0, Wx, Wh, b)[0]
    N, T, H = h.shape
    k = int(k) + steps
    prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    for s in range(T):
        g = dh[:, s]
        stop = (s // k) * k - 1 if chunked else s - k
        for t in range(s, max(stop, -1), -1):
            da = g * (1 - h[:, t] ** 2)
            dx[:, t] += da @ Wx.T
            dWx += x[:, t].T @ da
            dWh += prev[:, t].T @ da
            db += da.sum(axis=0)
            g = da @ Wh.T
            if t == 0 and not (dh0_mode == "none" or (dh0_mode == "strict" and stop == -1)):
                dh0 += g
    return {"dx": dx, "dh0": dh0, "dWx": dWx, "dWh": dWh, "db": db}


def _full_bptt(x, h0, Wx, Wh, b, dh, **_):
    return dict(zip(_OUT, rnn.rnn_backward(dh, _cache(x, h0, Wx, Wh, b)), strict=True))


ERRORS = [
    *lesson01.SHAPE_ERRORS[1:],
    (
        "object is not iterable",
        "the cache of rnn_forward (from rnnref) is the tuple (x, h0, Wx, Wh, h): unpack it "
        "with `x, h0, Wx, Wh, h = cache`.",
    ),
    (
        "too many values to unpack",
        "the cache of rnn_forward (from rnnref) is the tuple (x, h0, Wx, Wh, h), five items.",
    ),
]

SPECS = {
    # Not graded in this lesson: says where rnn_forward's cache is (its second output).
    "rnn_forward": lesson01.SPECS["rnn_forward"],
    "gradient_norms_through_time": Spec(
        name="gradient_norms_through_time",
        args=("dh_last", "cache"),
        outputs=("norms",),
        make_inputs=norms_inputs,
        cases=NORMS_CASES,
        reference=ref_norms,
        forward="rnn_forward",
        forward_args=("x", "h0", "Wx", "Wh", "b"),
        gradcheck_cases=0,  # not a gradient of the forward's inputs
        mistakes=[
            (
                "multiplied by Wh instead of Wh.T: with row vectors one step back is "
                "dh_{t-1} = (dh_t * (1 - h_t**2)) @ Wh.T.",
                lambda **k: _norms_variant(**k, transpose=True),
            ),
            (
                "the tanh slope of the wrong step: going from h_t back to h_{t-1} multiplies by "
                "1 - h_t**2 (the step that PRODUCED h_t), not 1 - h_{t-1}**2.",
                lambda **k: _norms_variant(**k, slope="t-1"),
            ),
            (
                "the tanh derivative is missing: each step back multiplies by diag(1 - h_t**2) "
                "before Wh.T.",
                lambda **k: _norms_variant(**k, slope="none"),
            ),
            (
                "one norm of the whole (N, H) matrix: take the L2 norm of each example's row "
                "(np.linalg.norm(g, axis=1)) and then the mean over the batch.",
                lambda **k: _norms_variant(**k, norm="frobenius"),
            ),
            (
                "squared norms: take the square root (np.linalg.norm(g, axis=1)), then the "
                "batch mean.",
                lambda **k: _norms_variant(**k, norm="squared"),
            ),
            (
                "the array is in the wrong order: entry t is the norm of dLoss/dh_t, so "
                "norms[T-1] is the norm of dh_last and norms[0] the one furthest back.",
                lambda **k: {"norms": ref_norms(**k)["norms"][::-1].copy()},
            ),
        ],
        errors=ERRORS,
        tol=1e-6,
    ),
    "truncated_rnn_backward": Spec(
        name="truncated_rnn_backward",
        args=("dh", "cache", "k"),
        adapter=adapters.truncated_adapter,
        outputs=_OUT,
        make_inputs=truncated_inputs,
        cases=TRUNC_CASES,
        reference=ref_truncated,
        forward="rnn_forward",
        forward_args=("x", "h0", "Wx", "Wh", "b"),
        upstream="dh",
        wrt={"dx": "x", "dh0": "h0", "dWx": "Wx", "dWh": "Wh", "db": "b"},
        gradcheck_cases=2,
        mistakes=[
            (
                "no truncation: this is full BPTT. Each dh[:, t] may only travel back through "
                "the k steps t, t-1, ..., t-k+1.",
                _full_bptt,
            ),
            (
                "off by one: each dh[:, t] goes through k steps (t down to t-k+1), not k+1; "
                "k = 1 means every step sees only its own upstream gradient.",
                lambda **kw: _truncated_variant(**kw, steps=1),
            ),
            (
                "off by one: each dh[:, t] goes through k steps (t down to t-k+1), not k-1.",
                lambda **kw: (
                    _truncated_variant(**kw, steps=-1)
                    if int(kw["k"]) > 1
                    else {n: np.full(1, np.nan) for n in _OUT}
                ),
            ),
            (
                "blocks instead of a sliding window: cutting the sequence into chunks [0, k), "
                "[k, 2k), ... (the usual training-loop TBPTT) is not this function: here EVERY "
                "dh[:, t] travels back k steps, crossing chunk borders.",
                lambda **kw: _truncated_variant(**kw, chunked=True),
            ),
            (
                "dh0 misses the gradient of step t = k-1: its window t, ..., t-k+1 ends exactly "
                "at step 0, so what leaves step 0 reaches h0 (as in full BPTT).",
                lambda **kw: _truncated_variant(**kw, dh0_mode="strict"),
            ),
            (
                "dh0 is never filled: every gradient that is still in its window when it leaves "
                "step 0 lands in dh0.",
                lambda **kw: _truncated_variant(**kw, dh0_mode="none"),
            ),
            (MEAN, lambda **kw: _scaled(kw)),
            (lesson01.WRONG_DERIV, lambda **kw: _wrong_deriv(kw)),
        ],
        errors=ERRORS,
        tol=1e-6,
    ),
}


def _scaled(kw):
    out = ref_truncated(**kw)
    n = kw["x"].shape[0]
    return {name: (a / n if name in ("dWx", "dWh", "db") else a) for name, a in out.items()}


def _wrong_deriv(kw):
    """Truncated BPTT with ``1 - a**2`` (pre-activation) instead of ``1 - h**2``."""
    x, h0, Wx, Wh, b = (kw[n] for n in ("x", "h0", "Wx", "Wh", "b"))
    h = rnn.rnn_forward(x, h0, Wx, Wh, b)[0]
    prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    a = x @ Wx + prev @ Wh + b
    # the same loop with h replaced so that 1 - h'^2 = 1 - a^2
    return _truncated_with_slopes(x, h0, Wx, Wh, h, kw["dh"], int(kw["k"]), 1 - a**2)


def _truncated_with_slopes(x, h0, Wx, Wh, h, dh, k, slopes):
    N, T, H = h.shape
    prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    for s in range(T):
        g = dh[:, s]
        for t in range(s, max(s - k, -1), -1):
            da = g * slopes[:, t]
            dx[:, t] += da @ Wx.T
            dWx += x[:, t].T @ da
            dWh += prev[:, t].T @ da
            db += da.sum(axis=0)
            g = da @ Wh.T
            if t == 0:
                dh0 += g
    return {"dx": dx, "dh0": dh0, "dWx": dWx, "dWh": dWh, "db": db}
