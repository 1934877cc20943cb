import numpy as np
import pytest
from helpers import FAST, assert_all_close, assert_untouched, randn
from hypothesis import given
from hypothesis import strategies as st

from rnnref.gradcheck import eval_numerical_gradient
from rnnref.gradflow import gradient_norms_through_time, truncated_rnn_backward
from rnnref.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward


def problem(seed=0, N=3, T=6, D=4, H=5):
    rng = np.random.default_rng(seed)
    x, h0 = randn(rng, N, T, D), randn(rng, N, H)
    Wx, Wh, b = randn(rng, D, H), randn(rng, H, H), randn(rng, H)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    return (x, h0, Wx, Wh, b), cache, rng.standard_normal(h.shape)


def test_norms_last_entry_and_against_full_bptt():
    (x, h0, Wx, Wh, b), cache, _ = problem()
    N, T, H = x.shape[0], x.shape[1], h0.shape[1]
    dh_last = np.random.default_rng(1).standard_normal((N, H))
    norms = assert_untouched(gradient_norms_through_time, dh_last, cache)
    assert norms.shape == (T,)
    assert norms[-1] == pytest.approx(np.linalg.norm(dh_last, axis=1).mean())
    # dLoss/dh_t by running BPTT on the prefix h_0..h_t... with the loss on h_{T-1}: the
    # gradient that full BPTT carries into step t+1 is dLoss/dh_t.
    for t in range(T - 1):
        dh = np.zeros((N, T, H))
        dh[:, -1] = dh_last
        _, sub_cache = rnn_forward(x[:, t + 1 :], cache[4][:, t], Wx, Wh, b)
        _, dh_t, *_ = rnn_backward(dh[:, t + 1 :], sub_cache)
        assert norms[t] == pytest.approx(np.linalg.norm(dh_t, axis=1).mean(), rel=1e-12)


def test_norms_numerically():
    (x, h0, Wx, Wh, b), cache, _ = problem(2, N=2, T=4)
    dh_last = np.random.default_rng(3).standard_normal((2, 5))
    norms = gradient_norms_through_time(dh_last, cache)
    h = cache[4]

    # Perturb h_1 and rerun steps 2..3 to get dLoss/dh_1 by central differences.
    def loss(h1):
        hh = h1
        for t in (2, 3):
            hh, _ = rnn_step_forward(x[:, t], hh, Wx, Wh, b)
        return float(np.sum(hh * dh_last))

    g = eval_numerical_gradient(loss, h[:, 1].copy())
    assert norms[1] == pytest.approx(np.linalg.norm(g, axis=1).mean(), rel=1e-7)


@pytest.mark.parametrize("scale, shrinking", [(0.5, True), (1.5, False)])
def test_norms_follow_spectral_radius(scale, shrinking):
    rng = np.random.default_rng(4)
    N, T, D, H = 4, 12, 3, 8
    Q, _ = np.linalg.qr(rng.standard_normal((H, H)))
    Wh = scale * Q  # every singular value equals `scale`
    # Tiny inputs keep tanh in its linear range, so each step scales the gradient by ~scale.
    x = 1e-4 * rng.standard_normal((N, T, D))
    _, cache = rnn_forward(x, np.zeros((N, H)), rng.standard_normal((D, H)), Wh, np.zeros(H))
    norms = gradient_norms_through_time(rng.standard_normal((N, H)), cache)
    ratios = norms[:-1] / norms[1:]  # one step further back in time
    if shrinking:
        assert np.all(ratios < 0.6) and norms[0] < 1e-3 * norms[-1]
    else:
        assert np.all(ratios > 1.4) and norms[0] > 50 * norms[-1]


def test_truncated_k_at_least_T_is_full_bptt():
    _, cache, dh = problem(5)
    full = rnn_backward(dh, cache)
    for k in (6, 7, 100):
        assert_all_close(truncated_rnn_backward(dh, cache, k), full)


def test_truncated_k1_keeps_only_local_terms():
    (x, h0, Wx, Wh, b), cache, dh = problem(6)
    dx, dh0, dWx, dWh, db = truncated_rnn_backward(dh, cache, 1)
    h = cache[4]
    # Each dh[:, t] only goes through step t: dx[:, t] depends on dh[:, t] alone.
    for t in range(x.shape[1]):
        prev = h0 if t == 0 else h[:, t - 1]
        _, c = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        dx_t, dprev, *_ = rnn_step_backward(dh[:, t], c)
        np.testing.assert_allclose(dx[:, t], dx_t, rtol=1e-12)
        if t == 0:
            np.testing.assert_allclose(dh0, dprev, rtol=1e-12)
    dh2 = dh.copy()
    dh2[:, 3] += 1.0
    dx2 = truncated_rnn_backward(dh2, cache, 1)[0]
    changed = np.any(dx2 != dx, axis=(0, 2))
    assert changed.tolist() == [t == 3 for t in range(x.shape[1])]


def test_truncated_matches_explicit_definition():
    (x, h0, Wx, Wh, b), cache, dh = problem(7)
    N, T, H = dh.shape
    k = 3
    # Reference: backpropagate every dh[:, s] on its own through at most k steps.
    dx = np.zeros_like(x)
    dh0 = np.zeros_like(h0)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    h = cache[4]
    for s in range(T):
        g = dh[:, s]
        for t in range(s, max(s - k, -1), -1):
            prev = h0 if t == 0 else h[:, t - 1]
            _, c = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
            dx_t, g, a, bb, cc = rnn_step_backward(g, c)
            dx[:, t] += dx_t
            dWx, dWh, db = dWx + a, dWh + bb, db + cc
            if t == 0:
                dh0 += g
    assert_all_close(truncated_rnn_backward(dh, cache, k), (dx, dh0, dWx, dWh, db))


def test_truncation_changes_the_result():
    _, cache, dh = problem(8)
    full = rnn_backward(dh, cache)
    trunc = truncated_rnn_backward(dh, cache, 2)
    assert not np.allclose(trunc[2], full[2])


@pytest.mark.parametrize("k", [0, -1, 2.0, True, "3", None])
def test_truncated_rejects_bad_k(k):
    _, cache, dh = problem()
    with pytest.raises(ValueError, match="k must be a positive int"):
        truncated_rnn_backward(dh, cache, k)


def test_shape_errors():
    _, cache, dh = problem()
    with pytest.raises(ValueError, match="dh_last"):
        gradient_norms_through_time(np.zeros((3, 4)), cache)
    with pytest.raises(ValueError, match="dh must have shape"):
        truncated_rnn_backward(dh[:, :-1], cache, 2)


@FAST
@given(T=st.integers(1, 6), k=st.integers(1, 7), seed=st.integers(0, 10**6))
def test_truncated_no_mutation_shapes_batch_independence(T, k, seed):
    (x, h0, Wx, Wh, b), cache, dh = problem(seed, N=3, T=T)
    grads = assert_untouched(truncated_rnn_backward, dh, cache, k)
    assert [g.shape for g in grads] == [x.shape, h0.shape, Wx.shape, Wh.shape, b.shape]
    _, c1 = rnn_forward(x[1:2], h0[1:2], Wx, Wh, b)
    dx1, dh01, *_ = truncated_rnn_backward(dh[1:2], c1, k)
    np.testing.assert_allclose(dx1[0], grads[0][1], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dh01[0], grads[1][1], rtol=1e-10, atol=1e-13)
