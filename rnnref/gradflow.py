"""Gradient flow through time (lesson 02): vanishing and exploding gradients, truncated BPTT.

Both functions work on the cache of :func:`rnnref.rnn.rnn_forward`, ``(x, h0, Wx, Wh, h)``.
Shapes: N batch, T time steps, D input size, H hidden size.

Backpropagating one step multiplies the gradient by ``diag(1 - h_t^2) Wh^T``; over many steps
its norm behaves like a power of the spectral radius of ``Wh`` (damped by the tanh slopes),
which is why it vanishes for small ``Wh`` and can explode for large ones.
"""

import numbers

import numpy as np

from rnnref import _validate as v
from rnnref.rnn import _weight_grads, rnn_backward


def gradient_norms_through_time(dh_last, cache):
    """Norm of the gradient with respect to every hidden state, for a loss on the last one.

    Args:
        dh_last: gradient of the loss with respect to the last hidden state ``h_{T-1}``,
            ``(N, H)``. The loss reads no other step, so no upstream gradient is added on the
            way back.
        cache: from :func:`rnnref.rnn.rnn_forward`.

    Returns:
        ``norms (T,)``: ``norms[t]`` is the mean over the batch of ``||dLoss/dh_t||_2``;
        ``norms[T-1]`` is the batch-mean norm of ``dh_last`` itself.
    """
    _, _, _, Wh, h = cache
    N, T, H = h.shape
    v.array("dh_last", dh_last, shape=(N, H))
    norms = np.empty(T)
    grad = dh_last
    norms[T - 1] = np.linalg.norm(grad, axis=1).mean()
    for t in range(T - 1, 0, -1):
        grad = (grad * (1.0 - h[:, t] ** 2)) @ Wh.T
        norms[t - 1] = np.linalg.norm(grad, axis=1).mean()
    return norms


def truncated_rnn_backward(dh, cache, k):
    """BPTT where every upstream gradient travels back through at most ``k`` steps.

    ``dh[:, t]`` is backpropagated through the step functions of times ``t, t-1, ...,
    t-k+1``; the part that would flow further back is dropped, except that it reaches ``dh0``
    when ``t-k+1 = 0`` (or earlier: a gradient that runs out of steps at the start of the
    sequence lands in ``dh0`` like in full BPTT). With ``k >= T`` nothing is dropped and the
    result is exactly :func:`rnnref.rnn.rnn_backward`; with ``k = 1`` every step only sees its
    own upstream gradient.

    The gradients from different source steps have used up different amounts of their budget,
    so they cannot be summed into one running gradient as in full BPTT. The loop keeps them
    apart in an ``(k, N, H)`` "in flight" array (row j came from step t+j) and drops the
    oldest row at every step: O(T*k) work, done as one matmul per step.

    Args:
        dh: upstream gradient for every hidden state, ``(N, T, H)``.
        cache: from :func:`rnnref.rnn.rnn_forward`.
        k: truncation length, a positive int.

    Returns:
        ``dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,)``, like ``rnn_backward``.
    """
    x, h0, Wx, Wh, h = cache
    v.array("dh", dh, shape=h.shape)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    N, T, H = h.shape
    if k >= T:
        return rnn_backward(dh, cache)
    da = np.empty(h.shape, dtype=np.result_type(h, dh))
    in_flight = np.zeros((k, N, H), dtype=da.dtype)
    for t in reversed(range(T)):
        in_flight[0] = dh[:, t]
        slope = 1.0 - h[:, t] ** 2
        da[:, t] = in_flight.sum(axis=0) * slope
        if t == 0:
            break
        # Every gradient but the oldest one (which has now used its k steps) moves one step
        # back and one row down; row 0 is refilled with the next upstream gradient.
        in_flight[1:] = (in_flight[:-1] * slope) @ Wh.T
    # At t = 0 every gradient still in flight reaches h0, as in full BPTT.
    dh0 = da[:, 0] @ Wh.T
    dx, dWx, dWh, db = _weight_grads(x, h0, Wx, Wh, h, da)
    return dx, dh0, dWx, dWh, db
