import numpy as np
import pytest
from helpers import FAST, GATES, assert_all_close, assert_gradcheck, assert_untouched, layer_params
from hypothesis import given
from hypothesis import strategies as st

from rnnref._cells import CELLS
from rnnref.stacked import stacked_backward, stacked_forward

CELL_NAMES = list(GATES)


def problem(cell, L=2, seed=0, N=2, T=3, D=4, H=3):
    rng = np.random.default_rng(seed)
    G = GATES[cell]
    params = [layer_params(rng, D if k == 0 else H, H, G) for k in range(L)]
    return 0.5 * rng.standard_normal((N, T, D)), 0.5 * rng.standard_normal((L, N, H)), params


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_gradcheck_two_layers(cell):
    # Layer 0's weight gradients pass through two layers and can have entries near 1e-5,
    # where central differences carry ~1e-11 of rounding error; this seed has none that small.
    x, h0, params = problem(cell, seed=5)
    flat = [a for p in params for a in p]

    def forward(x, h0, *flat):
        return stacked_forward(x, h0, [flat[0:3], flat[3:6]], cell)

    def backward(dh, cache):
        dx, dh0, grads = stacked_backward(dh, cache)
        return (dx, dh0, *[g for layer in grads for g in layer])

    names = ["x", "h0"] + [f"{n}{k}" for k in range(2) for n in ("Wx", "Wh", "b")]
    assert_gradcheck(forward, backward, [x, h0, *flat], names=names)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_one_layer_equals_single_layer_function(cell):
    x, h0, params = problem(cell, L=1, seed=2)
    forward, backward, _ = CELLS[cell]
    h, cache = stacked_forward(x, h0, params, cell)
    h_ref, cache_ref = forward(x, h0[0], *params[0])
    np.testing.assert_array_equal(h, h_ref)
    dh = np.random.default_rng(3).standard_normal(h.shape)
    dx, dh0, grads = stacked_backward(dh, cache)
    dx_r, dh0_r, *g_r = backward(dh, cache_ref)
    assert dh0.shape == h0.shape and len(grads) == 1
    assert_all_close((dx, dh0[0], *grads[0]), (dx_r, dh0_r, *g_r))


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_two_layers_equal_composition(cell):
    x, h0, params = problem(cell, seed=4)
    forward, _, _ = CELLS[cell]
    h1, _ = forward(x, h0[0], *params[0])
    h2, _ = forward(h1, h0[1], *params[1])
    np.testing.assert_allclose(stacked_forward(x, h0, params, cell)[0], h2, rtol=1e-13)


@FAST
@given(
    cell=st.sampled_from(CELL_NAMES),
    L=st.integers(1, 3),
    N=st.integers(1, 3),
    T=st.integers(1, 4),
    seed=st.integers(0, 10**6),
)
def test_shapes_no_mutation_batch_independence(cell, L, N, T, seed):
    x, h0, params = problem(cell, L=L, seed=seed, N=N, T=T)
    flat = [a for p in params for a in p]
    copies = [a.copy() for a in flat]
    h, cache = assert_untouched(stacked_forward, x, h0, params, cell)
    assert h.shape == (N, T, 3)
    dh = np.random.default_rng(seed).standard_normal(h.shape)
    dx, dh0, grads = assert_untouched(stacked_backward, dh, cache)
    for a, c in zip(flat, copies, strict=True):
        np.testing.assert_array_equal(a, c)
    assert dx.shape == x.shape and dh0.shape == h0.shape and len(grads) == L
    assert [[g.shape for g in layer] for layer in grads] == [[a.shape for a in p] for p in params]
    h_row, _ = stacked_forward(x[-1:], h0[:, -1:], params, cell)
    np.testing.assert_allclose(h_row[0], h[-1], rtol=1e-12, atol=1e-14)


def test_argument_errors():
    x, h0, params = problem("lstm")
    with pytest.raises(ValueError, match="cell must be one of"):
        stacked_forward(x, h0, params, "transformer")
    with pytest.raises(ValueError, match=r"params must be a list of L = h0.shape\[0\] = 2"):
        stacked_forward(x, h0, params[:1], "lstm")
    with pytest.raises(ValueError, match=r"params\[1\] must be a \(Wx, Wh, b\) tuple"):
        stacked_forward(x, h0, [params[0], params[1][:2]], "lstm")
    with pytest.raises(ValueError, match=r"layer 1: Wx must have shape \(3, 12\)"):
        stacked_forward(x, h0, [params[0], params[0]], "lstm")
    with pytest.raises(ValueError, match="h0 must have 3 dimensions"):
        stacked_forward(x, h0[0], params, "lstm")
