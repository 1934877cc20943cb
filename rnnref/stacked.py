"""Multilayer (stacked) recurrent networks (lesson 06).

Layer l reads the hidden states of layer l-1 as its input sequence (layer 0 reads ``x``);
the network's output is the top layer's states. Every layer is one of the single-layer
sequence functions, chosen by ``cell``: ``"rnn"`` (:mod:`rnnref.rnn`), ``"lstm"``
(:mod:`rnnref.lstm`) or ``"gru"`` (:mod:`rnnref.gru`, documents' form).

Shapes: N batch, T time steps, D input size, H hidden size (the same in every layer), L
layers, G gates (1, 4, 3); layer 0's ``Wx`` is ``(D, G*H)``, the others' ``(H, G*H)``.
"""

import numpy as np

from rnnref import _validate as v
from rnnref._cells import cell_functions, check_layer_params


def stacked_forward(x, h0, params, cell):
    """Run ``L`` recurrent layers on top of each other.

    Args:
        x: inputs ``(N, T, D)``; h0: initial hidden states of every layer ``(L, N, H)``;
        params: a list of L ``(Wx, Wh, b)`` tuples, bottom layer first;
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.

    Returns:
        ``h (N, T, H)``, the top layer's states, and ``cache = (cell, caches)`` with the
        single-layer cache of every layer, bottom first.
    """
    forward, _, _ = cell_functions(cell)
    v.array("x", x, ndim=3)
    v.array("h0", h0, ndim=3)
    if not isinstance(params, list | tuple) or len(params) != h0.shape[0]:
        got = len(params) if isinstance(params, list | tuple) else type(params).__name__
        raise ValueError(
            f"params must be a list of L = h0.shape[0] = {h0.shape[0]} "
            f"(Wx, Wh, b) tuples, got {got}"
        )
    v.array("h0", h0, shape=(None, x.shape[0], None))
    out, caches = x, []
    for layer, (h0_l, p) in enumerate(zip(h0, params, strict=True)):
        Wx, Wh, b = check_layer_params(f"params[{layer}]", p)
        try:
            out, cache = forward(out, h0_l, Wx, Wh, b)
        except ValueError as err:
            raise ValueError(f"layer {layer}: {err}") from None
        caches.append(cache)
    return out, (cell, caches)


def stacked_backward(dh, cache):
    """Backward pass of :func:`stacked_forward`.

    Args:
        dh: upstream gradient of the top layer's states ``(N, T, H)``; cache: from the forward.

    Returns:
        ``dx (N, T, D)``, ``dh0 (L, N, H)`` and ``grads``, a list of L ``(dWx, dWh, db)``
        tuples, bottom layer first. Layer l's ``dx`` is the upstream gradient of layer l-1.
    """
    cell, caches = cache
    _, backward, _ = cell_functions(cell)
    dout = dh
    dh0s, grads = [], []
    for cache_l in reversed(caches):
        dout, dh0_l, dWx, dWh, db = backward(dout, cache_l)
        dh0s.append(dh0_l)
        grads.append((dWx, dWh, db))
    return dout, np.stack(dh0s[::-1]), grads[::-1]
