"""Argument checks shared by every public function of :mod:`rnnref`.

Each check raises ``ValueError`` naming the argument and the shape or dtype it saw, so that a
student who calls the reference with a transposed matrix learns which one at once.
"""

import numpy as np


def array(name, a, ndim=None, shape=None, floating=True):
    """Check that ``a`` is an ndarray with ``ndim`` dimensions and matching ``shape``.

    ``shape`` may hold ``None`` for a free axis. Returns ``a`` itself (never a copy), so that
    callers keep the no-mutation guarantee by not writing into it.
    """
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(a).__name__}")
    if floating and not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must have a floating dtype, got {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    if shape is not None:
        if len(shape) != a.ndim or any(
            s is not None and s != d for s, d in zip(shape, a.shape, strict=True)
        ):
            want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    return a


def int_array(name, a, ndim=None, shape=None):
    """Like :func:`array` for integer index arrays (token ids, labels)."""
    array(name, a, ndim=ndim, shape=shape, floating=False)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must have an integer dtype, got {a.dtype}")
    return a


def gates(name, W, rows, H, G):
    """Check a fused weight matrix of shape ``(rows, G*H)``."""
    return array(name, W, ndim=2, shape=(rows, G * H))


def cell_name(cell, allowed=("rnn", "lstm", "gru")):
    if cell not in allowed:
        raise ValueError(f"cell must be one of {', '.join(map(repr, allowed))}, got {cell!r}")
    return cell
