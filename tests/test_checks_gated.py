"""Hidden checks of lessons 04 (LSTM) and 05 (GRU): correct step-by-step student functions
pass, the known mistakes of gated cells (gate order, the squashed cell update, the dropped cell
gradient, PyTorch's GRU conventions, mean instead of sum) get their targeted messages, and the
answer keys cannot be imported while grading.

Student functions are built from source in a namespace named ``__main__``, as in a kernel.
Knobs (``ORDER``, ``MODE``) switch one mistake on; each test changes one knob.
"""

import textwrap

import pytest

from autograder.judge import check

LSTM = """
import numpy as np

ORDER = "ifog"
MODE = set()


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    blk = {k: a[:, j * H : (j + 1) * H] for j, k in enumerate(ORDER)}
    i, f, o, g = sigmoid(blk["i"]), sigmoid(blk["f"]), sigmoid(blk["o"]), np.tanh(blk["g"])
    next_c = f * prev_c + i * g
    if "squash" in MODE:
        next_c = sigmoid(next_c)
    tc = np.tanh(next_c)
    return o * tc, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc = cache
    dc = dnext_h * o * (1 - tc**2) + (0 if "no_dnext_c" in MODE else dnext_c)
    d = {
        "i": dc * g * i * (1 - i),
        "f": dc * prev_c * f * (1 - f),
        "o": dnext_h * tc * o * (1 - o),
        "g": dc * i * (1 - g**2),
    }
    da = np.concatenate([d[k] for k in ORDER], axis=1)
    db = da.mean(axis=0) if "mean" in MODE else da.sum(axis=0)
    dprev_c = dc if "no_f" in MODE else dc * f
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, db


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, caches = np.zeros((N, T, h0.shape[1])), []
    prev_h, prev_c = h0, (h0 if "c0_is_h0" in MODE else np.zeros_like(h0))
    for t in range(T):
        prev_h, prev_c, c = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(c)
    return h, caches


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        if "no_carry_c" in MODE:
            dprev_c = np.zeros((N, H))
        dx[:, t], dprev_h, dprev_c, a, w, c = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, cache[t]
        )
        dWx, dWh, db = dWx + a, dWh + w, db + c
    return dx, dprev_h, dWx, dWh, db
"""

GRU = """
import numpy as np

ORDER = "zrn"
MODE = set()


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def gru_step_forward(x, prev_h, Wx, Wh, b):
    H = prev_h.shape[1]
    cols = {k: slice(j * H, (j + 1) * H) for j, k in enumerate(ORDER)}
    ax = x @ Wx + b
    z = sigmoid(ax[:, cols["z"]] + prev_h @ Wh[:, cols["z"]])
    r = sigmoid(ax[:, cols["r"]] + prev_h @ Wh[:, cols["r"]])
    if "reset_after" in MODE:
        n = np.tanh(ax[:, cols["n"]] + r * (prev_h @ Wh[:, cols["n"]]))
    else:
        n = np.tanh(ax[:, cols["n"]] + (r * prev_h) @ Wh[:, cols["n"]])
    if "swap_z" in MODE:
        next_h = (1 - z) * n + z * prev_h
    else:
        next_h = (1 - z) * prev_h + z * n
    return next_h, (x, prev_h, Wx, Wh, z, r, n)


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, z, r, n = cache
    H = prev_h.shape[1]
    dz = dnext_h * (n - prev_h)
    dan = dnext_h * z * (1 - n**2)
    dq = dan @ Wh[:, 2 * H :].T
    dazr = np.concatenate([dz * z * (1 - z), dq * prev_h * r * (1 - r)], axis=1)
    dprev_h = dq * r + dazr @ Wh[:, : 2 * H].T
    if "no_direct" not in MODE:
        dprev_h = dprev_h + dnext_h * (1 - z)
    da = np.concatenate([dazr, dan], axis=1)
    dWh = np.concatenate([prev_h.T @ dazr, (r * prev_h).T @ dan], axis=1)
    db = da.mean(axis=0) if "mean" in MODE else da.sum(axis=0)
    return da @ Wx.T, dprev_h, x.T @ da, dWh, db


def gru_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, caches, prev_h = np.zeros((N, T, h0.shape[1])), [], h0
    for t in range(T):
        prev_h, c = gru_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(c)
    return h, caches


def gru_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, 3 * H)), np.zeros((H, 3 * H)), np.zeros(3 * H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        up = dh[:, t] if "no_carry" in MODE else dh[:, t] + dprev_h
        dx[:, t], dprev_h, a, w, c = gru_step_backward(up, cache[t])
        dWx, dWh, db = dWx + a, dWh + w, db + c
    return dx, dprev_h, dWx, dWh, db
"""

FORWARD_OF = {
    "lstm_step_backward": "lstm_step_forward",
    "lstm_backward": "lstm_forward",
    "gru_step_backward": "gru_step_forward",
    "gru_backward": "gru_forward",
}


def run(name, setup="", extra=""):
    source = (LSTM if name.startswith("lstm") else GRU) + textwrap.dedent(setup)
    ns = {"__name__": "__main__"}
    exec(compile(source + textwrap.dedent(extra), "<cell>", "exec"), ns)
    helpers = {FORWARD_OF[name]: ns[FORWARD_OF[name]]} if name in FORWARD_OF else {}
    return check(name, ns[name], **helpers)


@pytest.mark.parametrize(
    "name",
    [
        "lstm_step_forward",
        "lstm_step_backward",
        "lstm_forward",
        "lstm_backward",
        "gru_step_forward",
        "gru_step_backward",
        "gru_forward",
        "gru_backward",
    ],
)
def test_correct_functions_pass(name, capsys):
    run(name)
    out = capsys.readouterr().out
    assert f"{name}: passed" in out, out
    if name.endswith("backward"):
        assert "gradient check" in out


WRONG = {
    # LSTM
    "lstm PyTorch gate order": ("lstm_step_forward", "ORDER = 'ifgo'", "gate order i, f, g, o"),
    "lstm f, i swapped": ("lstm_forward", "ORDER = 'fiog'", "gate order f, i, o, g"),
    "lstm squashed cell": ("lstm_step_forward", "MODE = {'squash'}", "that form is wrong"),
    "lstm gate order, backward": (
        "lstm_step_backward",
        "ORDER = 'ifgo'",
        "fix lstm_step_forward first",
    ),
    "lstm dnext_c ignored": ("lstm_step_backward", "MODE = {'no_dnext_c'}", "dnext_c is ignored"),
    "lstm no f in dprev_c": ("lstm_step_backward", "MODE = {'no_f'}", "misses the forget gate"),
    "lstm mean": ("lstm_step_backward", "MODE = {'mean'}", "mean instead of sum"),
    "lstm c0 = h0": ("lstm_forward", "MODE = {'c0_is_h0'}", "starts from c0 = 0"),
    "lstm cell gradient not carried": (
        "lstm_backward",
        "MODE = {'no_carry_c'}",
        "cell gradient from the next step is dropped",
    ),
    # GRU
    "gru PyTorch form": (
        "gru_step_forward",
        "MODE = {'swap_z', 'reset_after'}",
        "PyTorch's/cuDNN's GRU",
    ),
    "gru z swapped": ("gru_forward", "MODE = {'swap_z'}", "(1 - z) and z are swapped"),
    "gru reset after": ("gru_step_forward", "MODE = {'reset_after'}", "applied after"),
    "gru PyTorch gate order": ("gru_step_forward", "ORDER = 'rzn'", "gate order r, z, n"),
    "gru direct path": ("gru_step_backward", "MODE = {'no_direct'}", "direct path is missing"),
    "gru mean": ("gru_backward", "MODE = {'mean'}", "mean instead of sum"),
    "gru no recurrent gradient": (
        "gru_backward",
        "MODE = {'no_carry'}",
        "missing recurrent gradient",
    ),
}


@pytest.mark.parametrize("mistake", list(WRONG))
def test_known_mistakes_get_targeted_messages(mistake):
    name, setup, expected = WRONG[mistake]
    with pytest.raises(AssertionError) as info:
        run(name, setup)
    assert expected in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("name", "module"), [("lstm_step_forward", "rnnref.lstm"), ("gru_step_forward", "rnnref.gru")]
)
def test_answer_key_is_blocked(name, module):
    extra = f"""
    def {name}(*args):
        from {module} import {name} as key
        return key(*args)
    """
    with pytest.raises(AssertionError, match=f"{module} is not available while grading"):
        run(name, extra=extra)
