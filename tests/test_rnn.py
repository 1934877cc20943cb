import numpy as np
import pytest
from helpers import FAST, assert_all_close, assert_gradcheck, assert_untouched, randn
from hypothesis import given
from hypothesis import strategies as st

from rnnref.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward


def problem(seed=0, N=3, T=4, D=5, H=6):
    rng = np.random.default_rng(seed)
    return randn(rng, N, T, D), randn(rng, N, H), randn(rng, D, H), randn(rng, H, H), randn(rng, H)


def test_step_gradcheck():
    x, h0, Wx, Wh, b = problem()
    assert_gradcheck(rnn_step_forward, rnn_step_backward, [x[:, 0], h0, Wx, Wh, b])


def test_sequence_gradcheck():
    assert_gradcheck(rnn_forward, rnn_backward, list(problem(1)))


def test_step_formula():
    x, h0, Wx, Wh, b = problem(2)
    next_h, _ = rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    np.testing.assert_allclose(next_h, np.tanh(x[:, 0] @ Wx + h0 @ Wh + b))


def test_sequence_equals_loop_of_steps():
    x, h0, Wx, Wh, b = problem(3)
    dh = np.random.default_rng(9).standard_normal((3, 4, 6))
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    prev, caches = h0, []
    for t in range(x.shape[1]):
        prev, c = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev, rtol=1e-12)
        caches.append(c)
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev = np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        dx[:, t], dprev, a, c, d = rnn_step_backward(dh[:, t] + dprev, caches[t])
        dWx, dWh, db = dWx + a, dWh + c, db + d
    assert_all_close(rnn_backward(dh, cache), (dx, dprev, dWx, dWh, db))


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
    h, cache = assert_untouched(rnn_forward, x, h0, Wx, Wh, b)
    assert h.shape == (N, T, H) and h.dtype == np.float64
    dh = np.random.default_rng(seed + 1).standard_normal(h.shape)
    grads = assert_untouched(rnn_backward, dh, cache)
    assert [g.shape for g in grads] == [x.shape, h0.shape, Wx.shape, Wh.shape, b.shape]
    for n in range(N):
        h_n, _ = rnn_forward(x[n : n + 1], h0[n : n + 1], Wx, Wh, b)
        np.testing.assert_allclose(h_n[0], h[n], rtol=1e-12, atol=1e-14)


def test_wrong_shapes_name_the_argument():
    x, h0, Wx, Wh, b = problem()
    with pytest.raises(ValueError, match=r"Wh must have shape \(6, 6\), got \(6, 5\)"):
        rnn_forward(x, h0, Wx, Wh[:, :5], b)
    with pytest.raises(ValueError, match="h0"):
        rnn_forward(x, h0[:2], Wx, Wh, b)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        rnn_forward(x[0], h0, Wx, Wh, b)
    _, cache = rnn_forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match="dh"):
        rnn_backward(np.zeros((3, 4, 5)), cache)
