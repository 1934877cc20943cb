"""Adapters of lesson 03 (gradient clipping); the convention is the package's.

The clipping functions take and return a dict of gradients: the spec sends the three arrays
``Wx, Wh, b`` (and the thresholds as 0-d arrays); these adapters build the ``grads`` dict,
call the student's function with Python floats, and hand back the returned dict as a tuple in
the key order (``total_norm`` as a 0-d float64 array). They also enforce the contract "a new
dict of new arrays, inputs untouched" beyond what the engine's snapshot sees: a returned dict
that IS the input dict, returned arrays sharing memory with the inputs, or entries of the
input dict replaced, added or removed.
"""

import numbers

import numpy as np

KEYS = ("Wx", "Wh", "b")


class ReturnedInputError(ValueError):
    """A clipping function handed back (part of) its input, or changed the input dict."""


def _check_new(name, out, g):
    if isinstance(out, np.ndarray) and isinstance(g, np.ndarray) and np.shares_memory(out, g):
        raise ReturnedInputError(
            f"{name} is the input array itself (or a view of it). Return a new array "
            f"(g.copy(), or g * scale), also when nothing is clipped"
        )


def _flatten(clipped, grads, before):
    if clipped is grads:
        raise ReturnedInputError(
            "the returned dict is the input dict `grads` itself. Return a NEW dict of new "
            "arrays, also when nothing is clipped (e.g. {name: g.copy() for ...}): a caller "
            "that changes the result must not change its gradients"
        )
    if list(grads) != list(before) or any(grads[k] is not before[k] for k in before):
        raise ReturnedInputError(
            "the input dict `grads` was changed (an entry replaced, added or removed): "
            "build a new dict for the result and leave `grads` as it was"
        )
    if not isinstance(clipped, dict):
        raise ReturnedInputError(
            f"expected a dict name -> clipped array, got a {type(clipped).__name__}"
        )
    if set(clipped) != set(grads):
        raise ReturnedInputError(
            f"the returned dict has the keys {sorted(map(str, clipped))}; expected the keys "
            f"of grads, {sorted(map(str, grads))}"
        )
    for k in KEYS:
        _check_new(f"clipped[{k!r}]", clipped[k], grads[k])
    return tuple(clipped[k] for k in KEYS)


def _number(total_norm):
    if isinstance(total_norm, numbers.Real | np.floating | np.integer):
        return np.asarray(total_norm, dtype=np.float64)
    if isinstance(total_norm, np.ndarray) and total_norm.size == 1:
        return np.asarray(total_norm, dtype=np.float64).reshape(())
    return total_norm  # the engine reports what it is


def value_adapter(fn):
    """``(Wx, Wh, b, clip_value)`` -> ``fn(grads, float)`` -> ``(clipped[Wx], ..[Wh], ..[b])``."""

    def call(Wx, Wh, b, threshold):
        grads = dict(zip(KEYS, (Wx, Wh, b), strict=True))
        before = dict(grads)
        return _flatten(fn(grads, float(threshold)), grads, before)

    return call


def global_adapter(fn):
    """Like :func:`value_adapter`, for ``fn`` returning ``(clipped, total_norm)``."""

    def call(Wx, Wh, b, threshold):
        grads = dict(zip(KEYS, (Wx, Wh, b), strict=True))
        before = dict(grads)
        out = fn(grads, float(threshold))
        if type(out) is not tuple or len(out) != 2:
            got = f"a tuple of {len(out)}" if type(out) is tuple else f"a {type(out).__name__}"
            raise ReturnedInputError(
                f"clip_by_global_norm must return the tuple (clipped, total_norm); got {got}"
            )
        return (*_flatten(out[0], grads, before), _number(out[1]))

    return call


def range_adapter(fn):
    """``(g, low, high)`` -> ``fn(g, float, float)``, refusing the input array as result."""

    def call(g, low, high):
        out = fn(g, float(low), float(high))
        _check_new("the result", out, g)
        return out

    return call
