"""Hidden checks of lesson 06 (stacked RNNs): layer l reads the states of layer l-1.

``stacked_forward(x, h0, params, cell)`` takes a list of ``(Wx, Wh, b)`` tuples and a cell
name, which the engine cannot send as flat arrays: the specs use the worker-side adapters of
:mod:`autograder.checks.adapters.layers` (parameters as ``Wx of layer 0, Wh of layer 0, ...``, the
cell as a code; layers above L are empty arrays). Cases mix the three cells, L = 1..3,
N = 1, T = 1 and D != H, and D == H (where sharing weights or feeding x to every layer runs
without a shape error, so that the mistake can be recognised from the numbers).

The single-layer sequence functions (``rnnref.rnn``, ``rnnref.lstm``, ``rnnref.gru``) are
given to the student by the notebook; only ``rnnref.stacked`` (and its sibling
``rnnref.bidirectional``) is the answer key.
"""

import numpy as np

from autograder.checks._inputs import GATES
from autograder.checks._messages import CELL_NAME, NOT_DEFINED
from autograder.checks.adapters import layers
from autograder.checks.adapters.layers import CELLS, MAX_LAYERS
from autograder.checks.spec import Spec, mistakes
from rnnref._cells import cell_functions
from rnnref.stacked import stacked_backward, stacked_forward

BLOCKED = ("rnnref.stacked", "rnnref.bidirectional")

PARAM_NAMES = tuple(
    f"{p} of layer {layer}" for layer in range(MAX_LAYERS) for p in ("Wx", "Wh", "b")
)
GRAD_NAMES = tuple("d" + n for n in PARAM_NAMES)


def make_inputs(rng, N, T, D, H, L, cell):
    G = GATES[cell]
    inputs = {
        "x": rng.standard_normal((N, T, D)),
        "h0": 0.5 * rng.standard_normal((L, N, H)),
        "cell": np.array(float(CELLS.index(cell))),
    }
    for layer in range(MAX_LAYERS):
        d_in = D if layer == 0 else H
        if layer < L:
            inputs[f"Wx of layer {layer}"] = rng.standard_normal((d_in, G * H)) / np.sqrt(d_in)
            inputs[f"Wh of layer {layer}"] = 0.8 * rng.standard_normal((H, G * H)) / np.sqrt(H)
            inputs[f"b of layer {layer}"] = 0.2 * rng.standard_normal(G * H)
        else:
            for p in ("Wx", "Wh", "b"):
                inputs[f"{p} of layer {layer}"] = np.zeros(0)
    inputs["dh"] = rng.standard_normal((N, T, H))
    return inputs


CASES = [
    dict(N=2, T=3, D=3, H=3, L=2, cell="rnn"),
    dict(N=2, T=3, D=4, H=3, L=3, cell="lstm"),
    dict(N=1, T=1, D=2, H=3, L=1, cell="gru"),
    dict(N=3, T=4, D=4, H=4, L=3, cell="gru"),
    dict(N=2, T=5, D=5, H=2, L=2, cell="rnn"),
    dict(N=2, T=2, D=3, H=3, L=2, cell="lstm"),
]


def _unpack(k):
    L = k["h0"].shape[0]
    params = [tuple(k[f"{p} of layer {layer}"] for p in ("Wx", "Wh", "b")) for layer in range(L)]
    return k["x"], k["h0"], params, layers.cell_name(k["cell"])


def _flat_grads(dx, dh0, grads):
    out = {"dx": dx, "dh0": dh0}
    for layer in range(MAX_LAYERS):
        g = grads[layer] if layer < len(grads) else (np.zeros(0),) * 3
        out.update(zip(GRAD_NAMES[3 * layer : 3 * layer + 3], g, strict=True))
    return out


# ----- references (judge side) -------------------------------------------------------------
def ref_forward(**k):
    return {"h": stacked_forward(*_unpack(k))[0]}


def ref_backward(**k):
    _, cache = stacked_forward(*_unpack(k))
    return _flat_grads(*stacked_backward(k["dh"], cache))


# ----- known mistakes -----------------------------------------------------------------------
def _forward_variant(k, layer_params="own", layer_input="below", layer_h0="own", top=True):
    x, h0, params, cell = _unpack(k)
    forward = cell_functions(cell)[0]
    L = len(params)
    out, outs = x, []
    for layer in range(L):
        p = params[{"own": layer, "shared": 0, "top_first": L - 1 - layer}[layer_params]]
        starts = {"own": layer, "first": 0, "reversed": L - 1 - layer}
        start = np.zeros_like(h0[0]) if layer_h0 == "zero" else h0[starts[layer_h0]]
        out = forward(x if layer_input == "x" else out, start, *p)[0]
        outs.append(out)
    return {"h": outs[-1] if top else outs[0]}


def _backward_variant(k, upstream="below", reverse_dh0=False, reverse_grads=False, dx_of="bottom"):
    x, h0, params, cell = _unpack(k)
    _, (_, caches) = stacked_forward(x, h0, params, cell)
    backward = cell_functions(cell)[1]
    dout, dh0s, grads, dxs = k["dh"], [], [], []
    for cache_l in reversed(caches):
        dx_l, dh0_l, *g = backward(k["dh"] if upstream == "dh" else dout, cache_l)
        dout = dx_l
        dxs.append(dx_l)
        dh0s.append(dh0_l)
        grads.append(tuple(g))
    dh0 = np.stack(dh0s if reverse_dh0 else dh0s[::-1])
    grads = grads if reverse_grads else grads[::-1]
    return _flat_grads(dxs[0] if dx_of == "top" else dxs[-1], dh0, grads)


SHARED = (
    "every layer uses the same weights: layer l has its own parameters, "
    "`Wx, Wh, b = params[l]`; params[0] belongs to the bottom layer only."
)
X_EVERY = (
    "every layer reads the input x: layer 0 reads x, but layer l > 0 reads the hidden states "
    "of layer l-1 (the output of the layer below), `out = forward(out, h0[l], Wx, Wh, b)`."
)
FIRST_LAYER = (
    "you return the states of the bottom layer (or of the first iteration of your loop): the "
    "network's output is the TOP layer's states h^(L)."
)
H0_FIRST = "every layer starts from h0[0]: layer l starts from its own initial state h0[l]."
H0_ZERO = "h0 is ignored: layer l starts from h0[l] (zeros only when h0 is zero)."
TOP_FIRST = (
    "the layers are taken top-first: params[0] and h0[0] belong to the BOTTOM layer, which reads x."
)
DH_EVERY = (
    "every layer's backward was given the top gradient dh: only the top layer receives dh; "
    "the upstream gradient of layer l-1 is the dx that layer l's backward returns."
)
DH0_ORDER = (
    "dh0 is stacked top layer first: the backward loop runs from the top layer down, so "
    "reverse the list before np.stack (dh0[l] must belong to layer l, like h0[l])."
)
GRADS_ORDER = (
    "grads is listed top layer first: grads[l] must be the (dWx, dWh, db) of params[l], "
    "bottom layer first; reverse the list collected in the top-down loop."
)
DX_TOP = (
    "dx is the gradient of the top layer's input: the gradient with respect to x is the dx "
    "of the BOTTOM layer (layer 0), after the loop has gone down through every layer."
)

ERRORS = [
    (
        "Wx must have shape",
        "a layer's Wx does not match its input. Layer 0's Wx is (D, G*H); every layer above "
        "reads the (N, T, H) states of the layer below, so its Wx is (H, G*H). Does layer l "
        "read the output of layer l-1 (not x), with its own params[l]?",
    ),
    (
        "dh must have shape",
        "the upstream gradient of a layer has the wrong shape: layer l's backward gets the dx "
        "of layer l+1 (shape (N, T, H)), and the top layer gets dh.",
    ),
    (
        "unpack",
        "params is a list of L (Wx, Wh, b) tuples (`Wx, Wh, b = params[l]`), h0 is (L, N, H) "
        "(layer l starts from h0[l]), the cache is yours to define, and stacked_backward "
        "returns (dx, dh0, grads).",
    ),
    ("KeyError", CELL_NAME),
    ("not defined", NOT_DEFINED),
]

_FWD_ARGS = ("x", "h0", "cell", *PARAM_NAMES)

SPECS = {
    "stacked_forward": Spec(
        name="stacked_forward",
        args=_FWD_ARGS,
        outputs=("h", None),
        make_inputs=make_inputs,
        cases=CASES,
        reference=ref_forward,
        adapter=layers.stacked_forward,
        mistakes=mistakes(
            _forward_variant,
            [
                (SHARED, dict(layer_params="shared")),
                (X_EVERY, dict(layer_input="x")),
                (FIRST_LAYER, dict(top=False)),
                (H0_FIRST, dict(layer_h0="first")),
                (H0_ZERO, dict(layer_h0="zero")),
                (TOP_FIRST, dict(layer_params="top_first", layer_h0="reversed")),
                (
                    "the layers take params top-first: params[l] belongs to layer l, bottom first.",
                    dict(layer_params="top_first"),
                ),
                (
                    "h0 is taken top-first: h0[l] is the initial state of layer l, bottom first.",
                    dict(layer_h0="reversed"),
                ),
            ],
        ),
        errors=ERRORS,
    ),
    "stacked_backward": Spec(
        name="stacked_backward",
        args=("dh", "cache"),
        outputs=("dx", "dh0", *GRAD_NAMES),
        make_inputs=make_inputs,
        cases=CASES,
        reference=ref_backward,
        adapter=layers.stacked_backward,
        forward="stacked_forward",
        forward_args=_FWD_ARGS,
        upstream="dh",
        mistakes=mistakes(
            _backward_variant,
            [
                (DH_EVERY, dict(upstream="dh")),
                (DH0_ORDER, dict(reverse_dh0=True)),
                (GRADS_ORDER, dict(reverse_grads=True)),
                (DX_TOP, dict(dx_of="top")),
            ],
        ),
        errors=ERRORS,
    ),
}
