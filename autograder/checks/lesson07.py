"""Hidden checks of lesson 07 (bidirectional RNNs): ``h_t = [h_fwd_t, h_bwd_t]``.

``bidirectional_forward(x, h0_f, h0_b, params_f, params_b, cell)`` takes two ``(Wx, Wh, b)``
tuples and a cell name: the specs use the worker-side adapters of
:mod:`autograder.checks.adapters.layers` (``Wx_f, Wh_f, b_f, Wx_b, Wh_b, b_b`` and a cell code;
``grads_f`` comes back as ``dWx_f, dWh_f, db_f``). Cases mix the three cells, N = 1, T = 1,
D != H and D == H (where the two directions' parameters could be swapped without a shape
error).
"""

import numpy as np

from autograder.checks._inputs import GATES
from autograder.checks._messages import CELL_NAME, NOT_DEFINED
from autograder.checks.adapters import layers
from autograder.checks.adapters.layers import CELLS
from autograder.checks.spec import Spec
from rnnref._cells import cell_functions
from rnnref.bidirectional import bidirectional_backward, bidirectional_forward

BLOCKED = ("rnnref.bidirectional", "rnnref.stacked")

PARAMS = ("Wx_f", "Wh_f", "b_f", "Wx_b", "Wh_b", "b_b")
GRADS = tuple("d" + p for p in PARAMS)


def make_inputs(rng, N, T, D, H, cell):
    G = GATES[cell]
    inputs = {
        "x": rng.standard_normal((N, T, D)),
        "h0_f": 0.5 * rng.standard_normal((N, H)),
        "h0_b": 0.5 * rng.standard_normal((N, H)),
        "cell": np.array(float(CELLS.index(cell))),
    }
    for d in ("f", "b"):
        inputs[f"Wx_{d}"] = rng.standard_normal((D, G * H)) / np.sqrt(D)
        inputs[f"Wh_{d}"] = 0.8 * rng.standard_normal((H, G * H)) / np.sqrt(H)
        inputs[f"b_{d}"] = 0.2 * rng.standard_normal(G * H)
    inputs["dh"] = rng.standard_normal((N, T, 2 * H))
    return inputs


CASES = [
    dict(N=2, T=4, D=3, H=3, cell="rnn"),
    dict(N=2, T=3, D=4, H=3, cell="lstm"),
    dict(N=1, T=1, D=2, H=3, cell="gru"),
    dict(N=3, T=5, D=2, H=4, cell="gru"),
    dict(N=2, T=3, D=3, H=2, cell="lstm"),
    dict(N=1, T=6, D=5, H=2, cell="rnn"),
]


def _unpack(k):
    return (
        k["x"],
        k["h0_f"],
        k["h0_b"],
        (k["Wx_f"], k["Wh_f"], k["b_f"]),
        (k["Wx_b"], k["Wh_b"], k["b_b"]),
        layers.cell_name(k["cell"]),
    )


def _flat(dx, dh0_f, dh0_b, grads_f, grads_b):
    return {
        "dx": dx,
        "dh0_f": dh0_f,
        "dh0_b": dh0_b,
        **dict(zip(GRADS, (*grads_f, *grads_b), strict=True)),
    }


# ----- references (judge side) -------------------------------------------------------------
def ref_forward(**k):
    return {"h": bidirectional_forward(*_unpack(k))[0]}


def ref_backward(**k):
    _, cache = bidirectional_forward(*_unpack(k))
    return _flat(*bidirectional_backward(k["dh"], cache))


# ----- known mistakes -----------------------------------------------------------------------
def _forward_variant(k, unreversed_out=False, unreversed_in=False, order="fb", params="own"):
    x, h0_f, h0_b, p_f, p_b, cell = _unpack(k)
    forward = cell_functions(cell)[0]
    if params == "forward":
        p_b = p_f
    elif params == "swapped":
        p_f, p_b = p_b, p_f
    h_f = forward(x, h0_f, *p_f)[0]
    h_b = forward(x if unreversed_in else x[:, ::-1], h0_b, *p_b)[0]
    h_b = h_b if unreversed_out or unreversed_in else h_b[:, ::-1]
    halves = [h_f, h_b] if order == "fb" else [h_b, h_f]
    return {"h": np.concatenate(halves, axis=2)}


def _backward_variant(
    k, split="fb", reverse_dh=True, reverse_dx=True, dx="sum", swap_grads=False, swap_dh0=False
):
    x, h0_f, h0_b, p_f, p_b, cell = _unpack(k)
    _, (_, cache_f, cache_b) = bidirectional_forward(x, h0_f, h0_b, p_f, p_b, cell)
    backward = cell_functions(cell)[1]
    dh, H = k["dh"], k["dh"].shape[2] // 2
    dh_f, dh_b = (dh[..., :H], dh[..., H:]) if split == "fb" else (dh[..., H:], dh[..., :H])
    dx_f, dh0_f, *g_f = backward(dh_f, cache_f)
    dx_b, dh0_b, *g_b = backward(dh_b[:, ::-1] if reverse_dh else dh_b, cache_b)
    dx_b = dx_b[:, ::-1] if reverse_dx else dx_b
    total = {"sum": dx_f + dx_b, "forward": dx_f, "backward": dx_b, "mean": (dx_f + dx_b) / 2}
    if swap_grads:
        g_f, g_b = g_b, g_f
    if swap_dh0:
        dh0_f, dh0_b = dh0_b, dh0_f
    return _flat(total[dx], dh0_f, dh0_b, g_f, g_b)


NOT_REALIGNED = (
    "the backward direction's states are not reversed back to input time: it ran over "
    "x[:, ::-1], so its state for input step t is h_b[:, T-1-t]; concatenate h_b[:, ::-1]."
)
NOT_REVERSED_IN = (
    "the backward direction reads the sequence left to right: run it over the time-reversed "
    "input x[:, ::-1] (and reverse its states back afterwards)."
)
ORDER = (
    "concatenation order: the forward states come first, h[..., :H] = forward and "
    "h[..., H:] = backward (np.concatenate([h_f, h_b], axis=2))."
)
SAME_PARAMS = (
    "both directions use params_f: the two directions are independent layers, the backward "
    "one uses params_b (and starts from h0_b)."
)
SWAPPED_PARAMS = "params_f and params_b are swapped: the forward direction uses params_f."
SPLIT = (
    "dh is split the wrong way round: dh[..., :H] is the gradient of the forward states and "
    "dh[..., H:] that of the backward states."
)
DH_NOT_REVERSED = (
    "the backward direction's upstream gradient is not reversed in time: it ran over reversed "
    "time, so give its backward dh[:, ::-1, H:]."
)
DX_NOT_REVERSED = (
    "the backward direction's dx is not reversed back to input time: its backward returns the "
    "gradient of x[:, ::-1], so add dx_b[:, ::-1]."
)
DX_NOT_SUMMED = (
    "dx is not the sum of both directions: both read every input step, so "
    "dx = dx_f + dx_b[:, ::-1]."
)
DX_MEAN = "dx is the mean of the two directions: it is their SUM (each one reads x)."
SWAP_GRADS = "grads_f and grads_b are swapped: return the forward direction's gradients first."
SWAP_DH0 = "dh0_f and dh0_b are swapped."

ERRORS = [
    (
        "must have shape",
        "a shape does not match: each direction is a full layer over x, with Wx (D, G*H); "
        "the output (N, T, 2H) is split into dh[..., :H] (forward) and dh[..., H:] (backward).",
    ),
    (
        "unpack",
        "params_f and params_b are (Wx, Wh, b) tuples; bidirectional_backward returns "
        "(dx, dh0_f, dh0_b, grads_f, grads_b) with grads_* (dWx, dWh, db) tuples.",
    ),
    ("KeyError", CELL_NAME),
    ("not defined", NOT_DEFINED),
]

_FWD_ARGS = ("x", "h0_f", "h0_b", "cell", *PARAMS)
_WRT = {"dx": "x", "dh0_f": "h0_f", "dh0_b": "h0_b", **dict(zip(GRADS, PARAMS, strict=True))}

SPECS = {
    "bidirectional_forward": Spec(
        name="bidirectional_forward",
        args=_FWD_ARGS,
        outputs=("h", None),
        make_inputs=make_inputs,
        cases=CASES,
        reference=ref_forward,
        adapter=layers.bidirectional_forward,
        mistakes=[
            (NOT_REALIGNED, lambda **k: _forward_variant(k, unreversed_out=True)),
            (NOT_REVERSED_IN, lambda **k: _forward_variant(k, unreversed_in=True)),
            (ORDER, lambda **k: _forward_variant(k, order="bf")),
            (
                ORDER + " Also: " + NOT_REALIGNED,
                lambda **k: _forward_variant(k, order="bf", unreversed_out=True),
            ),
            (SAME_PARAMS, lambda **k: _forward_variant(k, params="forward")),
            (SWAPPED_PARAMS, lambda **k: _forward_variant(k, params="swapped")),
        ],
        errors=ERRORS,
    ),
    "bidirectional_backward": Spec(
        name="bidirectional_backward",
        args=("dh", "cache"),
        outputs=("dx", "dh0_f", "dh0_b", *GRADS),
        make_inputs=make_inputs,
        cases=CASES,
        reference=ref_backward,
        adapter=layers.bidirectional_backward,
        forward="bidirectional_forward",
        forward_args=_FWD_ARGS,
        upstream="dh",
        wrt=_WRT,
        mistakes=[
            (SPLIT, lambda **k: _backward_variant(k, split="bf")),
            (DH_NOT_REVERSED, lambda **k: _backward_variant(k, reverse_dh=False)),
            (DX_NOT_REVERSED, lambda **k: _backward_variant(k, reverse_dx=False)),
            (
                DX_NOT_SUMMED + " Yours is the forward direction's part only.",
                lambda **k: _backward_variant(k, dx="forward"),
            ),
            (
                DX_NOT_SUMMED + " Yours is the backward direction's part only.",
                lambda **k: _backward_variant(k, dx="backward"),
            ),
            (DX_MEAN, lambda **k: _backward_variant(k, dx="mean")),
            (SWAP_GRADS, lambda **k: _backward_variant(k, swap_grads=True)),
            (SWAP_DH0, lambda **k: _backward_variant(k, swap_dh0=True)),
        ],
        errors=ERRORS,
    ),
}
