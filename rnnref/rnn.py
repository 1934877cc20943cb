"""Vanilla RNN (lesson 01): ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``.

Shapes: N batch, T time steps, D input size, H hidden size. Parameters multiply from the
right, so ``Wx`` is ``(D, H)``, ``Wh`` is ``(H, H)`` and ``b`` is ``(H,)``.

The step functions follow the lesson's one-step-at-a-time derivation. The sequence functions
are what the rest of the course runs: the input projection of all T steps is one matmul before
the time loop, and the weight gradients are one matmul each after it, so the loop itself only
holds the part that is truly sequential (``h_{t-1} Wh``).
"""

import numpy as np

from rnnref import _validate as v


def _check_params(x_name, x, prev_h, Wx, Wh, b, x_ndim):
    v.array(x_name, x, ndim=x_ndim)
    D = x.shape[-1]
    v.array("Wx", Wx, ndim=2)
    H = Wx.shape[1]
    v.array("Wx", Wx, shape=(D, H))
    v.array("Wh", Wh, shape=(H, H))
    v.array("b", b, shape=(H,))
    v.array("h0" if x_ndim == 3 else "prev_h", prev_h, shape=(x.shape[0], H))


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One time step of the vanilla RNN.

    Args:
        x: input ``(N, D)``; prev_h: hidden state ``(N, H)``;
        Wx: ``(D, H)``; Wh: ``(H, H)``; b: ``(H,)``.

    Returns:
        ``next_h (N, H)`` and ``cache = (x, prev_h, Wx, Wh, next_h)``; the backward needs
        ``next_h`` because ``tanh'(a) = 1 - tanh(a)^2``.
    """
    _check_params("x", x, prev_h, Wx, Wh, b, x_ndim=2)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Backward pass of :func:`rnn_step_forward`.

    Args:
        dnext_h: gradient of the loss with respect to ``next_h``, ``(N, H)``.
        cache: from the forward.

    Returns:
        ``dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,)``; parameter gradients
        are summed over the batch (the loss is a sum of per-example terms).
    """
    x, prev_h, Wx, Wh, next_h = cache
    v.array("dnext_h", dnext_h, shape=next_h.shape)
    da = dnext_h * (1.0 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the vanilla RNN over a whole sequence.

    Args:
        x: inputs ``(N, T, D)``; h0: initial hidden state ``(N, H)``;
        Wx: ``(D, H)``; Wh: ``(H, H)``; b: ``(H,)``.

    Returns:
        ``h (N, T, H)``, the hidden state at every step, and
        ``cache = (x, h0, Wx, Wh, h)``: the inputs and every state, which is all that BPTT,
        :mod:`rnnref.gradflow` and truncated BPTT need.
    """
    _check_params("x", x, h0, Wx, Wh, b, x_ndim=3)
    N, T, _ = x.shape
    xw = x @ Wx + b  # (N, T, H): the input projection of every step in one matmul
    h = np.empty(xw.shape, dtype=np.result_type(xw, h0, Wh))
    prev_h = h0
    for t in range(T):
        prev_h = h[:, t] = np.tanh(xw[:, t] + prev_h @ Wh)
    return h, (x, h0, Wx, Wh, h)


def _previous_states(h0, h):
    """``(N, T, H)`` array whose step t is ``h_{t-1}`` (``h0`` at t = 0)."""
    return np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)


def _weight_grads(x, h0, Wx, Wh, h, da):
    """Gradients that are sums over time, from the pre-activation gradients ``da (N, T, H)``.

    Done after the time loop as single matmuls over all N*T rows: the loop would otherwise
    do T small matmuls for each of them.
    """
    N, T, D = x.shape
    H = h.shape[2]
    da2 = da.reshape(N * T, H)
    dx = (da2 @ Wx.T).reshape(N, T, D)
    dWx = x.reshape(N * T, D).T @ da2
    dWh = _previous_states(h0, h).reshape(N * T, H).T @ da2
    return dx, dWx, dWh, da2.sum(axis=0)


def rnn_backward(dh, cache):
    """Backpropagation through time for :func:`rnn_forward`.

    Args:
        dh: upstream gradient for every hidden state, ``(N, T, H)``: the loss may read any
            step (the recurrent gradient from step t+1 is added inside).
        cache: from :func:`rnn_forward`.

    Returns:
        ``dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)``.
    """
    x, h0, Wx, Wh, h = cache
    v.array("dh", dh, shape=h.shape)
    T = h.shape[1]
    da = np.empty_like(h)
    dprev_h = np.zeros_like(h0, dtype=da.dtype)
    for t in reversed(range(T)):
        da[:, t] = (dh[:, t] + dprev_h) * (1.0 - h[:, t] ** 2)
        dprev_h = da[:, t] @ Wh.T
    dx, dWx, dWh, db = _weight_grads(x, h0, Wx, Wh, h, da)
    return dx, dprev_h, dWx, dWh, db
