import numpy as np
import pytest
from helpers import FAST, assert_all_close, assert_gradcheck, assert_untouched, layer_params, randn
from hypothesis import given
from hypothesis import strategies as st

from rnnref.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward

NAMES = ["x", "h0", "Wx", "Wh", "b", "bh"]


def problem(seed=0, N=3, T=4, D=5, H=4):
    rng = np.random.default_rng(seed)
    return (randn(rng, N, T, D), randn(rng, N, H), *layer_params(rng, D, H, 3)), randn(rng, 3 * H)


def sig(a):
    return 1 / (1 + np.exp(-a))


def naive_documents(x, h, Wx, Wh, b):
    H = h.shape[1]
    z_, r_, n_ = (slice(k * H, (k + 1) * H) for k in range(3))
    z = sig(x @ Wx[:, z_] + h @ Wh[:, z_] + b[z_])
    r = sig(x @ Wx[:, r_] + h @ Wh[:, r_] + b[r_])
    n = np.tanh(x @ Wx[:, n_] + (r * h) @ Wh[:, n_] + b[n_])
    return (1 - z) * h + z * n, z, r, n


def naive_pytorch(x, h, Wx, Wh, b, bh):
    """torch.nn.GRU's documented equations, written out (weights transposed to ours)."""
    H = h.shape[1]
    z_, r_, n_ = (slice(k * H, (k + 1) * H) for k in range(3))
    r = sig(x @ Wx[:, r_] + b[r_] + h @ Wh[:, r_] + bh[r_])
    z = sig(x @ Wx[:, z_] + b[z_] + h @ Wh[:, z_] + bh[z_])
    n = np.tanh(x @ Wx[:, n_] + b[n_] + r * (h @ Wh[:, n_] + bh[n_]))
    return (1 - z) * n + z * h, z, r, n


def pt_step(x, h, Wx, Wh, b, bh):
    return gru_step_forward(x, h, Wx, Wh, b, variant="pytorch", bh=bh)


def pt_seq(x, h0, Wx, Wh, b, bh):
    return gru_forward(x, h0, Wx, Wh, b, variant="pytorch", bh=bh)


def test_step_formulas():
    (x, h0, Wx, Wh, b), bh = problem(1)
    h, cache = gru_step_forward(x[:, 0], h0, Wx, Wh, b)
    np.testing.assert_allclose(h, naive_documents(x[:, 0], h0, Wx, Wh, b)[0], rtol=1e-12)
    hp, cache_p = pt_step(x[:, 0], h0, Wx, Wh, b, bh)
    ref, z, r, n = naive_pytorch(x[:, 0], h0, Wx, Wh, b, bh)
    np.testing.assert_allclose(hp, ref, rtol=1e-12)
    np.testing.assert_allclose(cache_p[5], z, rtol=1e-12)
    np.testing.assert_allclose(cache_p[7], n, rtol=1e-12)


def test_variants_differ_exactly_where_they_should():
    (x, h0, Wx, Wh, b), bh = problem(2)
    zero = np.zeros_like(bh)
    _, (_, _, _, _, _, z_d, r_d, n_d, _) = gru_step_forward(x[:, 0], h0, Wx, Wh, b)
    _, (_, _, _, _, _, z_p, r_p, n_p, _) = pt_step(x[:, 0], h0, Wx, Wh, b, zero)
    # Same gates z and r (with bh = 0), different candidate.
    np.testing.assert_allclose(z_d, z_p, rtol=1e-12)
    np.testing.assert_allclose(r_d, r_p, rtol=1e-12)
    assert not np.allclose(n_d, n_p)
    # With Wh_n = 0 (and bh = 0) the reset gate has nothing to act on: same candidate, and
    # the outputs differ only by the update convention, z <-> 1 - z.
    H = h0.shape[1]
    Wh0 = Wh.copy()
    Wh0[:, 2 * H :] = 0.0
    h_d, (_, _, _, _, _, z, _, n_d, _) = gru_step_forward(x[:, 0], h0, Wx, Wh0, b)
    h_p, (_, _, _, _, _, _, _, n_p, _) = pt_step(x[:, 0], h0, Wx, Wh0, b, zero)
    np.testing.assert_allclose(n_d, n_p, rtol=1e-12)
    np.testing.assert_allclose(h_d, (1 - z) * h0 + z * n_d, rtol=1e-12)
    np.testing.assert_allclose(h_p, (1 - z) * n_d + z * h0, rtol=1e-12)
    assert not np.allclose(h_d, h_p)


def test_gradchecks_documents():
    # Central differences carry ~1e-11 of rounding error, so an entry near 1e-4 can show a
    # relative error near 1e-7 even when the backward is exact; this seed has none that small.
    (x, h0, Wx, Wh, b), _ = problem(20)
    assert_gradcheck(gru_step_forward, gru_step_backward, [x[:, 0], h0, Wx, Wh, b], names=NAMES[:5])
    assert_gradcheck(gru_forward, gru_backward, [x, h0, Wx, Wh, b], names=NAMES[:5])


def test_gradchecks_pytorch():
    (x, h0, Wx, Wh, b), bh = problem(4)
    assert_gradcheck(pt_step, gru_step_backward, [x[:, 0], h0, Wx, Wh, b, bh], names=NAMES)
    assert_gradcheck(pt_seq, gru_backward, [x, h0, Wx, Wh, b, bh], names=NAMES)


@pytest.mark.parametrize("variant", ["documents", "pytorch"])
def test_sequence_equals_loop_of_steps(variant):
    (x, h0, Wx, Wh, b), bh = problem(5)
    kw = {"variant": variant, "bh": bh if variant == "pytorch" else None}
    N, T, _ = x.shape
    dh = np.random.default_rng(6).standard_normal((N, T, h0.shape[1]))
    h, cache = gru_forward(x, h0, Wx, Wh, b, **kw)
    prev, caches = h0, []
    for t in range(T):
        prev, c = gru_step_forward(x[:, t], prev, Wx, Wh, b, **kw)
        np.testing.assert_allclose(h[:, t], prev, rtol=1e-12)
        caches.append(c)
    grads = None
    dprev = np.zeros_like(h0)
    dx = np.zeros_like(x)
    for t in reversed(range(T)):
        dx[:, t], dprev, *g = gru_step_backward(dh[:, t] + dprev, caches[t])
        grads = g if grads is None else [a + c for a, c in zip(grads, g, strict=True)]
    got = gru_backward(dh, cache)
    assert len(got) == (6 if variant == "pytorch" else 5)
    assert_all_close(got, (dx, dprev, *grads))


@FAST
@given(
    N=st.integers(1, 4),
    T=st.integers(1, 5),
    D=st.integers(1, 4),
    H=st.integers(1, 4),
    seed=st.integers(0, 10**6),
    variant=st.sampled_from(["documents", "pytorch"]),
)
def test_shapes_batch_independence_no_mutation(N, T, D, H, seed, variant):
    (x, h0, Wx, Wh, b), bh = problem(seed, N, T, D, H)
    kw = {"variant": variant, "bh": bh if variant == "pytorch" else None}
    h, cache = assert_untouched(gru_forward, x, h0, Wx, Wh, b, **kw)
    assert h.shape == (N, T, H) and h.dtype == np.float64
    dh = np.random.default_rng(seed + 1).standard_normal(h.shape)
    grads = assert_untouched(gru_backward, dh, cache)
    shapes = [x.shape, h0.shape, Wx.shape, Wh.shape, b.shape]
    assert [g.shape for g in grads] == shapes + ([bh.shape] if variant == "pytorch" else [])
    for n in range(N):
        h_n, c_n = gru_forward(x[n : n + 1], h0[n : n + 1], Wx, Wh, b, **kw)
        np.testing.assert_allclose(h_n[0], h[n], rtol=1e-12, atol=1e-14)
        dx_n, dh0_n, *_ = gru_backward(dh[n : n + 1], c_n)
        np.testing.assert_allclose(dx_n[0], grads[0][n], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(dh0_n[0], grads[1][n], rtol=1e-10, atol=1e-13)


def test_argument_errors():
    (x, h0, Wx, Wh, b), bh = problem()
    with pytest.raises(ValueError, match=r"Wx must have shape \(5, 12\), got \(5, 16\)"):
        gru_forward(x, h0, np.zeros((5, 16)), Wh, b)
    with pytest.raises(ValueError, match="Wh must have shape"):
        gru_step_forward(x[:, 0], h0, Wx, Wh[:, :-1], b)
    with pytest.raises(ValueError, match="variant must be one of"):
        gru_forward(x, h0, Wx, Wh, b, variant="keras")
    with pytest.raises(ValueError, match="needs the recurrent bias bh"):
        gru_forward(x, h0, Wx, Wh, b, variant="pytorch")
    with pytest.raises(ValueError, match="bh is only used"):
        gru_forward(x, h0, Wx, Wh, b, bh=bh)
    with pytest.raises(ValueError, match=r"bh must have shape \(12\), got \(4,\)"):
        gru_forward(x, h0, Wx, Wh, b, variant="pytorch", bh=bh[:4])
    with pytest.raises(TypeError):
        gru_forward(x, h0, Wx, Wh, b, "pytorch")  # variant is keyword-only
    _, cache = gru_forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match="dh must have shape"):
        gru_backward(np.zeros((3, 4, 5)), cache)
