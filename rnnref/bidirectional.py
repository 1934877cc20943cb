"""Bidirectional recurrent layer (lesson 07).

A forward layer reads ``x`` from t = 0 to T-1; a backward layer, with its own parameters,
reads it from T-1 down to 0. Its states are reversed back, so that output step t holds both
directions' summary of the sequence around input step t: everything up to t (forward half)
and everything from t on (backward half). Cells as in :mod:`rnnref.stacked`.

Shapes: N batch, T time steps, D input size, H hidden size per direction.
"""

import numpy as np

from rnnref import _validate as v
from rnnref._cells import cell_functions, check_layer_params


def bidirectional_forward(x, h0_f, h0_b, params_f, params_b, cell):
    """Run a forward and a backward recurrent layer over ``x`` and concatenate their states.

    Args:
        x: inputs ``(N, T, D)``; h0_f, h0_b: initial states of the two directions ``(N, H)``
            (``h0_b`` is the backward layer's state "after" the last step);
        params_f, params_b: ``(Wx, Wh, b)`` tuples of the two directions;
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.

    Returns:
        ``h (N, T, 2H)``: ``h[..., :H]`` the forward states, ``h[..., H:]`` the backward
        states, both aligned to input time t; and ``cache = (cell, cache_f, cache_b)``, the
        backward layer's cache being that of the time-reversed sequence.
    """
    forward, _, _ = cell_functions(cell)
    v.array("x", x, ndim=3)
    v.array("h0_f", h0_f, ndim=2)
    v.array("h0_b", h0_b, shape=h0_f.shape)
    params_f = check_layer_params("params_f", params_f)
    params_b = check_layer_params("params_b", params_b)
    try:
        h_f, cache_f = forward(x, h0_f, *params_f)
    except ValueError as err:
        raise ValueError(f"forward direction (h0_f, params_f): {err}") from None
    try:
        # The backward layer is the same cell run on the time-reversed sequence.
        h_b, cache_b = forward(x[:, ::-1], h0_b, *params_b)
    except ValueError as err:
        raise ValueError(f"backward direction (h0_b, params_b): {err}") from None
    return np.concatenate([h_f, h_b[:, ::-1]], axis=2), (cell, cache_f, cache_b)


def bidirectional_backward(dh, cache):
    """Backward pass of :func:`bidirectional_forward`.

    Args:
        dh: upstream gradient ``(N, T, 2H)``, split like the output; cache: from the forward.

    Returns:
        ``dx (N, T, D), dh0_f (N, H), dh0_b (N, H), grads_f, grads_b`` with ``grads_*`` the
        ``(dWx, dWh, db)`` tuples of the two directions. Both directions read every input
        step, so ``dx`` is the sum of their contributions.
    """
    cell, cache_f, cache_b = cache
    _, backward, _ = cell_functions(cell)
    v.array("dh", dh, ndim=3)
    H2 = dh.shape[2]
    if H2 % 2:
        raise ValueError(
            f"dh must have an even last axis (forward then backward states), got {dh.shape}"
        )
    H = H2 // 2
    dx_f, dh0_f, *grads_f = backward(dh[..., :H], cache_f)
    # The backward layer saw reversed time, so its upstream gradient and dx are reversed too.
    dx_b, dh0_b, *grads_b = backward(dh[:, ::-1, H:], cache_b)
    return dx_f + dx_b[:, ::-1], dh0_f, dh0_b, tuple(grads_f), tuple(grads_b)
