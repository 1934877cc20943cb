"""Numerical gradients by central differences, and a one-call check of a backward function.

``f'(x) ~ (f(x + h) - f(x - h)) / 2h`` has error O(h^2); in float64 with ``h = 1e-5`` an
analytic gradient that is right agrees to a relative error near 1e-9, and one that is wrong
is usually off by more than 1e-3. Keep problems small: each entry costs two forward passes.
"""

import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error needs equal shapes, got {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, h=1e-5):
    """Gradient of the scalar function ``f(x)`` at ``x``, entry by entry.

    ``x`` is perturbed in place and restored after every entry, so ``f`` sees the same array
    object each time; it holds its original values again on return.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of ``sum(f(x) * df)`` at ``x``: the vector-Jacobian product that a backward
    function computes for the upstream gradient ``df``."""
    return eval_numerical_gradient(lambda z: float(np.sum(f(z) * df)), x, h)


def check_backward(forward, backward, inputs, names=None, wrt=None, seed=0, h=1e-5):
    """Compare a backward function with central differences of its forward, in one call.

    Args:
        forward: returns ``(out_1, ..., out_k, cache)``: every element but the last is an
            output array (e.g. ``next_h, next_c, cache`` for an LSTM step).
        backward: ``backward(dout_1, ..., dout_k, cache)`` returns one gradient per checked
            input, in the order of ``wrt``.
        inputs: the forward's arguments; float arrays are copied, never modified.
        names: a name for every input (for the report); defaults to ``x0, x1, ...``.
        wrt: indices of the inputs the backward returns gradients for; defaults to every
            floating-point array input.
        seed: seeds the random upstream gradients.

    Returns:
        A dict ``name -> relative error`` (see :func:`rel_error`).
    """
    inputs = [np.array(a, dtype=np.float64) if _is_float(a) else a for a in inputs]
    names = list(names) if names is not None else [f"x{i}" for i in range(len(inputs))]
    if wrt is None:
        wrt = [i for i, a in enumerate(inputs) if _is_float(a)]
    *outs, cache = forward(*inputs)
    rng = np.random.default_rng(seed)
    douts = [rng.standard_normal(np.shape(o)) for o in outs]
    grads = backward(*douts, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(wrt):
        raise ValueError(f"backward returned {len(grads)} gradients, expected {len(wrt)}")

    def loss(i, z):
        args = list(inputs)
        args[i] = z
        *outs, _ = forward(*args)
        return sum(float(np.sum(o * d)) for o, d in zip(outs, douts, strict=True))

    errors = {}
    for i, g in zip(wrt, grads, strict=True):
        num = eval_numerical_gradient(lambda z, i=i: loss(i, z), inputs[i].copy(), h)
        errors["d" + names[i]] = rel_error(g, num)
    return errors


def _is_float(a):
    return isinstance(a, np.ndarray | float) and np.issubdtype(np.asarray(a).dtype, np.floating)
