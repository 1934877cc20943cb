"""The hidden checks of lessons 02 (gradient flow) and 03 (clipping): honest solutions pass,
common mistakes get their targeted message, and the contract "new dict of new arrays, inputs
untouched" is enforced. Each check starts a judge process (a few seconds each)."""

import textwrap

import pytest

from autograder.judge import check

PRELUDE = "import numpy as np\nfrom rnnref.rnn import rnn_forward\n"

NORMS = """
def gradient_norms_through_time(dh_last, cache):
    x, h0, Wx, Wh, h = cache
    T = h.shape[1]
    norms, g = np.zeros(T), dh_last
    norms[T - 1] = np.linalg.norm(g, axis=1).mean()
    for t in range(T - 1, 0, -1):
        g = (g * (1 - h[:, t] ** 2)) @ Wh{T}
        norms[t - 1] = np.linalg.norm(g, axis=1).mean()
    return norms
"""

TRUNC = """
def truncated_rnn_backward(dh, cache, k):
    assert isinstance(k, int)
    x, h0, Wx, Wh, h = cache
    N, T, H = h.shape
    prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    dx, dh0 = np.zeros(x.shape), np.zeros(h0.shape)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(H)
    for t in range(T):
        g = dh[:, t]
        for u in range(t, max(t - ({K}), -1), -1):
            da = g * (1 - h[:, u] ** 2)
            dx[:, u] += da @ Wx.T
            dWx += x[:, u].T @ da
            dWh += prev[:, u].T @ da
            db += da.sum(axis=0)
            g = da @ Wh.T
            if u == 0:
                dh0 += g
    return dx, dh0, dWx, dWh, db
"""

GLOBAL = """
def clip_by_global_norm(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    if total {CMP} max_norm:
        return {{k: g * (max_norm / total) for k, g in grads.items()}}, total
    return {RET}, total
"""

RANGE = """
def clip_norm_range(g, low, high):
    n = float(np.sqrt(np.sum(g * g)))
    if n > high:
        return g * (high / n)
    if {LOW}:
        return g * (low / n)
    return g.copy()
"""

VALUE = """
def clip_by_value(grads, clip_value):
    return {k: np.clip(g, -clip_value, clip_value) for k, g in grads.items()}
"""


def load(src):
    ns = {"__name__": "__main__"}  # pickled by value, like notebook code
    exec(compile(PRELUDE + textwrap.dedent(src), "<student>", "exec"), ns)
    return ns


CASES = {
    "norms ok": ("gradient_norms_through_time", NORMS.replace("{T}", ".T"), None),
    "norms Wh not Wh.T": ("gradient_norms_through_time", NORMS.replace("{T}", ""), "Wh.T"),
    "truncated ok": ("truncated_rnn_backward", TRUNC.replace("{K}", "k"), None),
    "truncated off by one": ("truncated_rnn_backward", TRUNC.replace("{K}", "k + 1"), "off by one"),
    "value ok": ("clip_by_value", VALUE, None),
    "global ok": (
        "clip_by_global_norm",
        GLOBAL.format(CMP=">", RET="{k: g.copy() for k, g in grads.items()}"),
        None,
    ),
    "global returns its input": (
        "clip_by_global_norm",
        GLOBAL.format(CMP=">", RET="grads"),
        "the input dict `grads` itself",
    ),
    "global >= divides 0 by 0": (
        "clip_by_global_norm",
        GLOBAL.format(CMP=">=", RET="{k: g.copy() for k, g in grads.items()}"),
        "0 / 0 for all-zero gradients",
    ),
    "range ok": ("clip_norm_range", RANGE.format(LOW="0 < n < low"), None),
    "range never scales up": ("clip_norm_range", RANGE.format(LOW="False"), "UP to norm low"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lesson_02_03_checks(case, capsys):
    name, src, expected = CASES[case]
    ns = load(src)
    helpers = (
        {"rnn_forward": ns["rnn_forward"]}
        if name in ("gradient_norms_through_time", "truncated_rnn_backward")
        else {}
    )
    if expected is None:
        check(name, ns[name], **helpers)
        assert capsys.readouterr().out.startswith(f"{name}: passed")
    else:
        with pytest.raises(AssertionError, match=expected.replace(".", r"\.")):
            check(name, ns[name], **helpers)
