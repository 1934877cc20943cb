import numpy as np
import pytest
from helpers import FAST, assert_all_close, assert_gradcheck, assert_untouched, layer_params, randn
from hypothesis import given
from hypothesis import strategies as st

from rnnref.lstm import (
    lstm_backward,
    lstm_backward_with_cell,
    lstm_cell_states,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    sigmoid,
)


def problem(seed=0, N=3, T=4, D=5, H=4):
    rng = np.random.default_rng(seed)
    return (randn(rng, N, T, D), randn(rng, N, H), *layer_params(rng, D, H, 4))


def naive_step(x, h, c, Wx, Wh, b):
    """The textbook LSTM step, gate by gate (order i, f, o, g)."""
    H = h.shape[1]
    blk = [slice(k * H, (k + 1) * H) for k in range(4)]
    i, f, o = (1 / (1 + np.exp(-(x @ Wx[:, s] + h @ Wh[:, s] + b[s]))) for s in blk[:3])
    g = np.tanh(x @ Wx[:, blk[3]] + h @ Wh[:, blk[3]] + b[blk[3]])
    c = f * c + i * g
    return o * np.tanh(c), c


def test_sigmoid_is_stable_and_accurate():
    a = np.linspace(-40, 40, 801)
    with np.errstate(all="raise"):  # no overflow warning, even far out
        s = sigmoid(np.concatenate([[-1000.0], a, [1000.0]]))
    assert 0.0 <= s[0] < 1e-300 and s[-1] == 1.0
    # tanh-based: accurate to ~1 ulp of 1 (absolute), which is what the backward needs.
    np.testing.assert_allclose(s[1:-1], 1 / (1 + np.exp(-a)), rtol=1e-15)
    out = a.copy()
    assert sigmoid(out, out=out) is out
    np.testing.assert_array_equal(out, s[1:-1])


def test_step_matches_textbook_formula():
    x, h0, Wx, Wh, b = problem(1)
    c0 = np.random.default_rng(2).standard_normal(h0.shape)
    h, c, _ = lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b)
    h_ref, c_ref = naive_step(x[:, 0], h0, c0, Wx, Wh, b)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12)
    np.testing.assert_allclose(c, c_ref, rtol=1e-12)


# Central differences carry ~1e-11 of rounding error, so an entry near 1e-4 can show a relative
# error near 1e-7 even when the backward is exact: the gradient checks use a seed that has no
# entry that small.
GRAD_SEED = 22


def test_step_gradcheck():
    x, h0, Wx, Wh, b = problem(GRAD_SEED)
    c0 = np.random.default_rng(GRAD_SEED + 1).standard_normal(h0.shape)
    assert_gradcheck(
        lstm_step_forward,
        lstm_step_backward,
        [x[:, 0], h0, c0, Wx, Wh, b],
        names=["x", "prev_h", "prev_c", "Wx", "Wh", "b"],
    )


def test_sequence_gradcheck():
    assert_gradcheck(
        lstm_forward, lstm_backward, list(problem(GRAD_SEED)), names=["x", "h0", "Wx", "Wh", "b"]
    )


def test_sequence_with_cell_gradcheck():
    x, h0, Wx, Wh, b = problem(GRAD_SEED)
    c0 = np.random.default_rng(GRAD_SEED + 1).standard_normal(h0.shape)

    def forward(x, h0, c0, Wx, Wh, b):
        h, cache = lstm_forward(x, h0, Wx, Wh, b, c0=c0)
        return h, lstm_cell_states(cache)[:, -1], cache

    def backward(dh, dc_last, cache):
        return lstm_backward_with_cell(dh, cache, dc_last)

    assert_gradcheck(
        forward, backward, [x, h0, c0, Wx, Wh, b], names=["x", "h0", "c0", "Wx", "Wh", "b"]
    )


def test_sequence_equals_loop_of_steps():
    x, h0, Wx, Wh, b = problem(8)
    N, T, _ = x.shape
    dh = np.random.default_rng(9).standard_normal((N, T, h0.shape[1]))
    h, cache = lstm_forward(x, h0, Wx, Wh, b)
    prev_h, prev_c, caches = h0, np.zeros_like(h0), []
    for t in range(T):
        prev_h, prev_c, c = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev_h, rtol=1e-12)
        caches.append(c)
    np.testing.assert_allclose(lstm_cell_states(cache)[:, -1], prev_c, rtol=1e-12)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, a, c, d = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, caches[t]
        )
        dWx, dWh, db = dWx + a, dWh + c, db + d
    assert_all_close(lstm_backward(dh, cache), (dx, dprev_h, dWx, dWh, db))


def test_c0_default_is_zero():
    x, h0, Wx, Wh, b = problem(10)
    h1, _ = lstm_forward(x, h0, Wx, Wh, b)
    h2, _ = lstm_forward(x, h0, Wx, Wh, b, c0=np.zeros_like(h0))
    np.testing.assert_array_equal(h1, h2)
    h3, _ = lstm_forward(x, h0, Wx, Wh, b, c0=np.ones_like(h0))
    assert not np.allclose(h1, h3)


@FAST
@given(
    N=st.integers(1, 4),
    T=st.integers(1, 5),
    D=st.integers(1, 4),
    H=st.integers(1, 4),
    seed=st.integers(0, 10**6),
)
def test_shapes_batch_independence_no_mutation(N, T, D, H, seed):
    x, h0, Wx, Wh, b = problem(seed, N, T, D, H)
    h, cache = assert_untouched(lstm_forward, x, h0, Wx, Wh, b)
    assert h.shape == (N, T, H) and h.dtype == np.float64
    h_view = h.copy()
    h[:] = 0.0  # the returned states are not a view of the cache
    dh = np.random.default_rng(seed + 1).standard_normal(h.shape)
    grads = assert_untouched(lstm_backward, dh, cache)
    assert [g.shape for g in grads] == [x.shape, h0.shape, Wx.shape, Wh.shape, b.shape]
    for n in range(N):
        h_n, c_n = lstm_forward(x[n : n + 1], h0[n : n + 1], Wx, Wh, b)
        np.testing.assert_allclose(h_n[0], h_view[n], rtol=1e-12, atol=1e-14)
        dx_n, dh0_n, *_ = lstm_backward(dh[n : n + 1], c_n)
        np.testing.assert_allclose(dx_n[0], grads[0][n], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(dh0_n[0], grads[1][n], rtol=1e-10, atol=1e-13)
    step = assert_untouched(lstm_step_forward, x[:, 0], h0, h0 * 2, Wx, Wh, b)
    assert_untouched(lstm_step_backward, dh[:, 0], dh[:, 0] * 0.5, step[2])


def test_wrong_shapes_name_the_argument():
    x, h0, Wx, Wh, b = problem()
    with pytest.raises(ValueError, match=r"Wx must have shape \(5, 16\), got \(5, 12\)"):
        lstm_forward(x, h0, Wx[:, :12], Wh, b)
    with pytest.raises(ValueError, match=r"Wh must have shape \(4, 16\)"):
        lstm_forward(x, h0, Wx, Wh.T, b)
    with pytest.raises(ValueError, match=r"b must have shape \(16\), got \(15,\)"):
        lstm_forward(x, h0, Wx, Wh, b[:-1])
    with pytest.raises(ValueError, match="h0"):
        lstm_forward(x, h0[:2], Wx, Wh, b)
    with pytest.raises(ValueError, match="c0"):
        lstm_forward(x, h0, Wx, Wh, b, c0=h0[:, :2])
    with pytest.raises(ValueError, match="prev_c"):
        lstm_step_forward(x[:, 0], h0, h0[:1], Wx, Wh, b)
    with pytest.raises(ValueError, match="x must have a floating dtype"):
        lstm_forward(x.astype(int), h0, Wx, Wh, b)
    _, cache = lstm_forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match="dh must have shape"):
        lstm_backward(np.zeros((3, 4, 5)), cache)
