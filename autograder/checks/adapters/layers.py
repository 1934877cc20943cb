"""Adapters of lessons 06 (stacked) and 07 (bidirectional); the convention is the package's.

Their graded functions take lists of ``(Wx, Wh, b)`` tuples and a cell name, and return
nested gradients. Conventions shared with ``lesson06.py`` and ``lesson07.py``:

* the cell travels as a 0-d float array holding its index in :data:`CELLS`;
* stacked parameters travel as ``3 * MAX_LAYERS`` arrays ``Wx, Wh, b`` of layer 0, 1, ...;
  layers at or above ``L = h0.shape[0]`` are empty arrays, in the arguments and in the
  returned gradients alike.
"""

import numpy as np

from autograder.checks.adapters import results

CELLS = ("rnn", "lstm", "gru")
MAX_LAYERS = 3
_last_layers = [None]  # L of the latest stacked forward call, for the backward's messages


def cell_name(code):
    return CELLS[int(code)]


def _triple(what, g, names):
    if not isinstance(g, tuple | list) or len(g) != 3:
        got = type(g).__name__ + (f" of length {len(g)}" if isinstance(g, tuple | list) else "")
        raise ValueError(f"{what} must be a tuple ({', '.join(names)}), got a {got}")
    return tuple(g)


def stacked_forward(fn):
    """``(x, h0, cell, Wx0, Wh0, b0, ..., b2)`` -> ``fn(x, h0, params, cell)``."""

    def call(x, h0, cell, *flat):
        L = h0.shape[0]
        _last_layers[0] = L
        params = [tuple(flat[3 * layer : 3 * layer + 3]) for layer in range(L)]
        return fn(x, h0, params, cell_name(cell))

    return call


def stacked_backward(fn):
    """``fn(dh, cache)`` -> ``(dx, dh0, dWx0, dWh0, db0, ..., db2)``."""

    def call(dh, cache):
        dx, dh0, grads = results("stacked_backward", fn(dh, cache), ("dx", "dh0", "grads"))
        if not isinstance(grads, list | tuple):
            raise ValueError(
                f"grads must be a list of L (dWx, dWh, db) tuples, got a {type(grads).__name__}"
            )
        L = _last_layers[0]
        if (L is not None and len(grads) != L) or len(grads) > MAX_LAYERS:
            raise ValueError(
                f"grads has {len(grads)} entries; expected one (dWx, dWh, db) tuple per layer"
                + (f", L = {L}" if L is not None else "")
            )
        flat = []
        for layer, g in enumerate(grads):
            flat += _triple(f"grads[{layer}]", g, ("dWx", "dWh", "db"))
        flat += [np.zeros(0)] * (3 * MAX_LAYERS - len(flat))
        return (dx, dh0, *flat)

    return call


def bidirectional_forward(fn):
    """``(x, h0_f, h0_b, cell, Wx_f, Wh_f, b_f, Wx_b, Wh_b, b_b)`` -> the student's form."""

    def call(x, h0_f, h0_b, cell, Wx_f, Wh_f, b_f, Wx_b, Wh_b, b_b):
        return fn(x, h0_f, h0_b, (Wx_f, Wh_f, b_f), (Wx_b, Wh_b, b_b), cell_name(cell))

    return call


def bidirectional_backward(fn):
    """``fn(dh, cache)`` -> ``(dx, dh0_f, dh0_b, dWx_f, dWh_f, db_f, dWx_b, dWh_b, db_b)``."""

    def call(dh, cache):
        names = ("dx", "dh0_f", "dh0_b", "grads_f", "grads_b")
        dx, dh0_f, dh0_b, gf, gb = results("bidirectional_backward", fn(dh, cache), names)
        gf = _triple("grads_f", gf, ("dWx_f", "dWh_f", "db_f"))
        gb = _triple("grads_b", gb, ("dWx_b", "dWh_b", "db_b"))
        return (dx, dh0_f, dh0_b, *gf, *gb)

    return call
