import numpy as np
import pytest
from helpers import FAST, GATES, assert_all_close, assert_gradcheck, assert_untouched, layer_params
from hypothesis import given
from hypothesis import strategies as st

from rnnref._cells import CELLS
from rnnref.bidirectional import bidirectional_backward, bidirectional_forward

CELL_NAMES = list(GATES)


def problem(cell, seed=0, N=2, T=3, D=4, H=3):
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    x = rng.standard_normal((N, T, D))
    h0_f, h0_b = 0.5 * rng.standard_normal((2, N, H))
    return x, h0_f, h0_b, layer_params(rng, D, H, G), layer_params(rng, D, H, G)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_gradcheck(cell):
    x, h0_f, h0_b, pf, pb = problem(cell, seed=1)

    def forward(x, h0_f, h0_b, *p):
        return bidirectional_forward(x, h0_f, h0_b, p[:3], p[3:], cell)

    def backward(dh, cache):
        dx, dh0_f, dh0_b, gf, gb = bidirectional_backward(dh, cache)
        return (dx, dh0_f, dh0_b, *gf, *gb)

    names = ["x", "h0_f", "h0_b"] + [f"{n}_{d}" for d in "fb" for n in ("Wx", "Wh", "b")]
    assert_gradcheck(forward, backward, [x, h0_f, h0_b, *pf, *pb], names=names)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_halves_are_the_two_directions(cell):
    x, h0_f, h0_b, pf, pb = problem(cell, seed=2)
    forward, backward, _ = CELLS[cell]
    h, cache = bidirectional_forward(x, h0_f, h0_b, pf, pb, cell)
    H = h0_f.shape[1]
    assert h.shape == (2, 3, 2 * H)
    np.testing.assert_array_equal(h[..., :H], forward(x, h0_f, *pf)[0])
    # The backward half at time t has read x[:, t:] (from the end back to t).
    for t in range(x.shape[1]):
        h_rev, _ = forward(x[:, t:][:, ::-1].copy(), h0_b, *pb)
        np.testing.assert_allclose(h[:, t, H:], h_rev[:, -1], rtol=1e-12)
    # Backward half of dh zero: the gradients are those of the forward function alone.
    dh = np.random.default_rng(3).standard_normal(h.shape)
    dh[..., H:] = 0.0
    dx, dh0_f, dh0_b, gf, gb = bidirectional_backward(dh, cache)
    dx_r, dh0_r, *g_r = backward(dh[..., :H].copy(), forward(x, h0_f, *pf)[1])
    assert_all_close((dx, dh0_f, *gf), (dx_r, dh0_r, *g_r))
    assert np.all(dh0_b == 0) and all(np.all(g == 0) for g in gb)


@FAST
@given(
    cell=st.sampled_from(CELL_NAMES),
    N=st.integers(1, 3),
    T=st.integers(1, 4),
    seed=st.integers(0, 10**6),
)
def test_no_mutation_shapes_batch_independence(cell, N, T, seed):
    x, h0_f, h0_b, pf, pb = problem(cell, seed=seed, N=N, T=T)
    copies = [a.copy() for a in (*pf, *pb)]
    h, cache = assert_untouched(bidirectional_forward, x, h0_f, h0_b, pf, pb, cell)
    dh = np.random.default_rng(seed).standard_normal(h.shape)
    dx, dh0_f, dh0_b, gf, gb = assert_untouched(bidirectional_backward, dh, cache)
    for a, c in zip((*pf, *pb), copies, strict=True):
        np.testing.assert_array_equal(a, c)
    assert dx.shape == x.shape and dh0_f.shape == dh0_b.shape == h0_f.shape
    assert [g.shape for g in (*gf, *gb)] == [a.shape for a in (*pf, *pb)]
    h_row, _ = bidirectional_forward(x[:1], h0_f[:1], h0_b[:1], pf, pb, cell)
    np.testing.assert_allclose(h_row[0], h[0], rtol=1e-12, atol=1e-14)


def test_argument_errors():
    x, h0_f, h0_b, pf, pb = problem("gru")
    with pytest.raises(ValueError, match="cell must be one of"):
        bidirectional_forward(x, h0_f, h0_b, pf, pb, "GRU")
    with pytest.raises(ValueError, match=r"h0_b must have shape \(2, 3\)"):
        bidirectional_forward(x, h0_f, h0_b[:1], pf, pb, "gru")
    with pytest.raises(ValueError, match="params_b must be a"):
        bidirectional_forward(x, h0_f, h0_b, pf, pb[:2], "gru")
    with pytest.raises(ValueError, match="backward direction .*Wx must have shape"):
        bidirectional_forward(x, h0_f, h0_b, pf, (pb[0][:2], *pb[1:]), "gru")
    h, cache = bidirectional_forward(x, h0_f, h0_b, pf, pb, "gru")
    with pytest.raises(ValueError, match="dh must have an even last axis"):
        bidirectional_backward(h[..., :-1], cache)
