"""Hidden checks of lessons 06 (stacked) and 07 (bidirectional): functions whose arguments
are lists of ``(Wx, Wh, b)`` tuples and a cell name reach the grading engine through the
worker-side adapters (``Spec.adapter``, :mod:`autograder.checks.adapters.layers`).

Student functions are built from source in a namespace named ``__main__``, as in a kernel.
"""

import textwrap

import pytest

from autograder.judge import check

CELLS = """
import numpy as np
from rnnref.gru import gru_backward, gru_forward
from rnnref.lstm import lstm_backward, lstm_forward
from rnnref.rnn import rnn_backward, rnn_forward

CELLS = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
         "gru": (gru_forward, gru_backward)}
"""

STACKED = """
def stacked_forward(x, h0, params, cell):
    out, caches = x, []
    for layer, (Wx, Wh, b) in enumerate(params):
        out, c = CELLS[cell][0](out, h0[layer], Wx, Wh, b)
        caches.append(c)
    return out, (cell, caches)

def stacked_backward(dh, cache):
    cell, caches = cache
    dout, dh0, grads = dh, [], []
    for c in reversed(caches):
        dout, d0, dWx, dWh, db = CELLS[cell][1](dout, c)
        dh0.append(d0)
        grads.append((dWx, dWh, db))
    return dout, np.stack(dh0[::-1]), grads[::-1]
"""

BIDIRECTIONAL = """
def bidirectional_forward(x, h0_f, h0_b, params_f, params_b, cell):
    h_f, cache_f = CELLS[cell][0](x, h0_f, *params_f)
    h_b, cache_b = CELLS[cell][0](x[:, ::-1], h0_b, *params_b)
    return np.concatenate([h_f, h_b[:, ::-1]], axis=2), (cell, cache_f, cache_b)

def bidirectional_backward(dh, cache):
    cell, cache_f, cache_b = cache
    H = dh.shape[2] // 2
    dx_f, dh0_f, *g_f = CELLS[cell][1](dh[..., :H], cache_f)
    dx_b, dh0_b, *g_b = CELLS[cell][1](dh[:, ::-1, H:], cache_b)
    return dx_f + dx_b[:, ::-1], dh0_f, dh0_b, tuple(g_f), tuple(g_b)
"""

FORWARD_OF = {
    "stacked_backward": "stacked_forward",
    "bidirectional_backward": "bidirectional_forward",
}


def run(name, extra=""):
    source = CELLS + (STACKED if name.startswith("stacked") else BIDIRECTIONAL)
    ns = {"__name__": "__main__"}
    exec(compile(source + textwrap.dedent(extra), "<cell>", "exec"), ns)
    helpers = {FORWARD_OF[name]: ns[FORWARD_OF[name]]} if name in FORWARD_OF else {}
    return check(name, ns[name], **helpers)


@pytest.mark.parametrize(
    "name",
    ["stacked_forward", "stacked_backward", "bidirectional_forward", "bidirectional_backward"],
)
def test_correct_functions_pass(name, capsys):
    run(name)
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: passed 6 cases"), out
    if name.endswith("backward"):
        assert "gradient check" in out


WRONG = {
    "x to every layer": (
        "stacked_forward",
        """
        def stacked_forward(x, h0, params, cell):
            out, caches = x, []
            for layer, (Wx, Wh, b) in enumerate(params):
                out, c = CELLS[cell][0](x, h0[layer], Wx, Wh, b)
                caches.append(c)
            return out, (cell, caches)
        """,
        "every layer reads the input x",
    ),
    "shared weights": (
        "stacked_forward",
        """
        def stacked_forward(x, h0, params, cell):
            out, caches = x, []
            for layer in range(len(params)):
                out, c = CELLS[cell][0](out, h0[layer], *params[0])
                caches.append(c)
            return out, (cell, caches)
        """,
        "every layer uses the same weights",
    ),
    "dh to every layer": (
        "stacked_backward",
        """
        def stacked_backward(dh, cache):
            cell, caches = cache
            dout, dh0, grads = dh, [], []
            for c in reversed(caches):
                dout, d0, dWx, dWh, db = CELLS[cell][1](dh, c)
                dh0.append(d0)
                grads.append((dWx, dWh, db))
            return dout, np.stack(dh0[::-1]), grads[::-1]
        """,
        "given the top gradient dh",
    ),
    "grads top first": (
        "stacked_backward",
        """
        _right = stacked_backward
        def stacked_backward(dh, cache):
            dx, dh0, grads = _right(dh, cache)
            return dx, dh0, grads[::-1]
        """,
        "grads is listed top layer first",
    ),
    "grads not tuples": (
        "stacked_backward",
        """
        _right = stacked_backward
        def stacked_backward(dh, cache):
            dx, dh0, grads = _right(dh, cache)
            return dx, dh0, [{"dWx": g[0]} for g in grads]
        """,
        "grads[0] must be a tuple (dWx, dWh, db), got a dict",
    ),
    "backward states not realigned": (
        "bidirectional_forward",
        """
        def bidirectional_forward(x, h0_f, h0_b, params_f, params_b, cell):
            h_f, cache_f = CELLS[cell][0](x, h0_f, *params_f)
            h_b, cache_b = CELLS[cell][0](x[:, ::-1], h0_b, *params_b)
            return np.concatenate([h_f, h_b], axis=2), (cell, cache_f, cache_b)
        """,
        "not reversed back to input time",
    ),
    "backward first": (
        "bidirectional_forward",
        """
        def bidirectional_forward(x, h0_f, h0_b, params_f, params_b, cell):
            h_f, cache_f = CELLS[cell][0](x, h0_f, *params_f)
            h_b, cache_b = CELLS[cell][0](x[:, ::-1], h0_b, *params_b)
            return np.concatenate([h_b[:, ::-1], h_f], axis=2), (cell, cache_f, cache_b)
        """,
        "concatenation order",
    ),
    "dh split wrong": (
        "bidirectional_backward",
        """
        def bidirectional_backward(dh, cache):
            cell, cache_f, cache_b = cache
            H = dh.shape[2] // 2
            dx_f, dh0_f, *g_f = CELLS[cell][1](dh[..., H:], cache_f)
            dx_b, dh0_b, *g_b = CELLS[cell][1](dh[:, ::-1, :H], cache_b)
            return dx_f + dx_b[:, ::-1], dh0_f, dh0_b, tuple(g_f), tuple(g_b)
        """,
        "dh is split the wrong way round",
    ),
    "dx not summed": (
        "bidirectional_backward",
        """
        _right = bidirectional_backward
        def bidirectional_backward(dh, cache):
            cell, cache_f, cache_b = cache
            H = dh.shape[2] // 2
            dx_f = CELLS[cell][1](dh[..., :H], cache_f)[0]
            _, dh0_f, dh0_b, g_f, g_b = _right(dh, cache)
            return dx_f, dh0_f, dh0_b, g_f, g_b
        """,
        "dx is not the sum of both directions",
    ),
}


@pytest.mark.parametrize("mistake", list(WRONG))
def test_known_mistakes_get_targeted_messages(mistake):
    name, extra, expected = WRONG[mistake]
    with pytest.raises(AssertionError) as info:
        run(name, extra)
    assert expected in str(info.value), str(info.value)


def test_answer_key_is_blocked():
    extra = """
    def stacked_forward(x, h0, params, cell):
        from rnnref.stacked import stacked_forward as key
        return key(x, h0, params, cell)
    """
    with pytest.raises(AssertionError, match="rnnref.stacked is not available while grading"):
        run("stacked_forward", extra)
