"""Layers around the recurrence: word embedding, per-step affine output, masked softmax loss.

Shapes: N batch, T time steps, V vocabulary size, D embedding size, H hidden size,
M output size. Used from lesson 01 on and by the capstone's character model.
"""

import numpy as np

from rnnref import _validate as v


def embedding_forward(x, W):
    """Look up the embedding of every token.

    Args:
        x: integer token ids ``(N, T)``, each in ``[0, V)``; W: embedding matrix ``(V, D)``.

    Returns:
        ``out (N, T, D)`` and ``cache = (x, W.shape, W.dtype)``: the backward scatters into a
        zero matrix of W's shape, it never needs W's values.
    """
    v.int_array("x", x, ndim=2)
    v.array("W", W, ndim=2)
    if x.size and (x.min() < 0 or x.max() >= W.shape[0]):
        raise ValueError(
            f"x holds token ids in [{x.min()}, {x.max()}] but W has only {W.shape[0]} rows"
        )
    return W[x], (x, W.shape, W.dtype)


def embedding_backward(dout, cache):
    """Backward of :func:`embedding_forward`.

    Args:
        dout: ``(N, T, D)``.

    Returns:
        ``dW (V, D)``. A token that occurs several times accumulates all its gradients, which
        is why this is ``np.add.at`` and not a fancy-indexed assignment (that would keep only
        the last occurrence).
    """
    x, W_shape, W_dtype = cache
    v.array("dout", dout, shape=(*x.shape, W_shape[1]))
    dW = np.zeros(W_shape, dtype=np.result_type(W_dtype, dout))
    np.add.at(dW, x, dout)
    return dW


def temporal_affine_forward(x, w, b):
    """The same affine map at every time step: ``out[:, t] = x[:, t] @ w + b``.

    Args:
        x: ``(N, T, D)``; w: ``(D, M)``; b: ``(M,)``.

    Returns:
        ``out (N, T, M)`` and ``cache = (x, w)``.
    """
    v.array("x", x, ndim=3)
    v.array("w", w, shape=(x.shape[2], None))
    v.array("b", b, shape=(w.shape[1],))
    return x @ w + b, (x, w)


def temporal_affine_backward(dout, cache):
    """Backward of :func:`temporal_affine_forward`.

    Returns:
        ``dx (N, T, D), dw (D, M), db (M,)``, the parameter gradients summed over N and T.
    """
    x, w = cache
    N, T, D = x.shape
    M = w.shape[1]
    v.array("dout", dout, shape=(N, T, M))
    dout2 = dout.reshape(N * T, M)
    dx = (dout2 @ w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T @ dout2
    return dx, dw, dout2.sum(axis=0)


def temporal_softmax_loss(x, y, mask):
    """Softmax cross-entropy summed over the unmasked time steps, averaged over the batch.

    ``loss = -(1/N) * sum_{n,t} mask[n,t] * log softmax(x[n,t])[y[n,t]]``. Dividing by N
    (not by the number of unmasked steps) is the convention of the course's sources; divide
    the result by ``mask.sum() / N`` to get a loss per token.

    Args:
        x: scores ``(N, T, V)``; y: integer targets ``(N, T)`` in ``[0, V)``;
        mask: ``(N, T)`` booleans (or 0/1), true where the step counts.

    Returns:
        ``loss`` (a float) and ``dx (N, T, V)``.
    """
    v.array("x", x, ndim=3)
    N, T, V = x.shape
    v.int_array("y", y, shape=(N, T))
    v.array("mask", mask, shape=(N, T), floating=False)
    if y.size and (y.min() < 0 or y.max() >= V):
        raise ValueError(f"y holds targets in [{y.min()}, {y.max()}] but x has only {V} scores")
    m = mask.astype(x.dtype)
    # Shift by the max before exponentiating so large scores cannot overflow.
    shifted = x - x.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_probs, y[..., None], axis=2)[..., 0]
    loss = -(m * picked).sum() / N
    dx = np.exp(log_probs)
    np.put_along_axis(dx, y[..., None], np.take_along_axis(dx, y[..., None], axis=2) - 1, axis=2)
    dx *= m[..., None] / N
    return float(loss), dx
