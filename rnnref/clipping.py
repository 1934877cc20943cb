"""Gradient clipping (lesson 03).

The first two functions work on a dict ``name -> gradient array`` and return a new dict with
new arrays: the inputs are never modified, so a caller can compare before and after.
"""

import numbers

import numpy as np

from rnnref import _validate as v


def _check_grads(grads):
    if not isinstance(grads, dict):
        raise ValueError(f"grads must be a dict of name -> array, got {type(grads).__name__}")
    for name, g in grads.items():
        v.array(f"grads[{name!r}]", g)
    return grads


def _check_threshold(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        # ``not value >= 0`` also rejects NaN.
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def global_norm(grads):
    """``sqrt(sum of the squares of every entry of every array)``, without overflow or
    underflow: the squares of entries beyond about 1e154 (or below 1e-154) are not
    representable, so in that case the entries are first divided by the largest one."""
    _check_grads(grads)
    squares = sum(float(np.vdot(g, g)) for g in grads.values())
    if 1e-290 < squares < np.inf:
        return float(np.sqrt(squares))
    m = max((float(np.max(np.abs(g))) for g in grads.values() if g.size), default=0.0)
    if m == 0.0 or not np.isfinite(m):
        return m
    return m * float(np.sqrt(sum(float(np.vdot(g / m, g / m)) for g in grads.values())))


def clip_by_value(grads, clip_value):
    """Clip every entry of every gradient into ``[-clip_value, clip_value]``.

    Cheap, but it changes the direction of the gradient vector (large entries shrink, small
    ones do not), unlike :func:`clip_by_global_norm`.

    Args:
        grads: dict ``name -> array``; clip_value: a non-negative number.

    Returns:
        A new dict with the same keys and new arrays.
    """
    _check_grads(grads)
    c = _check_threshold("clip_value", clip_value)
    return {name: np.clip(g, -c, c) for name, g in grads.items()}


def clip_by_global_norm(grads, max_norm):
    """Rescale all gradients together when their global L2 norm exceeds ``max_norm``.

    Every array is multiplied by the same factor ``max_norm / total_norm``, so the direction
    of the whole gradient vector is kept and only its length is capped.

    Args:
        grads: dict ``name -> array``; max_norm: a non-negative number.

    Returns:
        ``(clipped, total_norm)``: a new dict of new arrays, and the global norm *before*
        clipping (worth logging: how often and how far it exceeds ``max_norm``).
    """
    total_norm = global_norm(grads)
    max_norm = _check_threshold("max_norm", max_norm)
    if total_norm > max_norm:
        scale = max_norm / total_norm
        return {name: g * scale for name, g in grads.items()}, total_norm
    return {name: g.copy() for name, g in grads.items()}, total_norm


def clip_norm_range(g, low, high):
    """Two-sided norm rule for one array: keep ``||g||`` inside ``[low, high]``.

    A gradient whose norm is below ``low`` is scaled up to norm ``low``, one above ``high``
    down to norm ``high``; inside the range it is returned unchanged (as a copy). A zero
    array has no direction to rescale, so it stays zero.

    Args:
        g: an array; low, high: numbers with ``0 <= low <= high``.

    Returns:
        A new array of the same shape.
    """
    v.array("g", g)
    low = _check_threshold("low", low)
    high = _check_threshold("high", high)
    if low > high:
        raise ValueError(f"need low <= high, got low={low} and high={high}")
    norm = global_norm({"g": g})
    if norm == 0.0:
        return g.copy()
    if norm < low:
        return g * (low / norm)
    if norm > high:
        return g * (high / norm)
    return g.copy()
