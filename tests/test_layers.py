import numpy as np
import pytest
from helpers import FAST, assert_gradcheck, assert_untouched
from hypothesis import given
from hypothesis import strategies as st

from rnnref.gradcheck import eval_numerical_gradient
from rnnref.layers import (
    embedding_backward,
    embedding_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)


def test_embedding_gradcheck_with_repeated_tokens():
    rng = np.random.default_rng(0)
    x = np.array([[0, 2, 2], [1, 0, 2]])  # repeated ids must accumulate
    W = rng.standard_normal((4, 3))
    assert_gradcheck(embedding_forward, embedding_backward, [x, W], names=["x", "W"], wrt=[1])


def test_embedding_rejects_out_of_range():
    with pytest.raises(ValueError, match="token ids"):
        embedding_forward(np.array([[0, 5]]), np.ones((4, 2)))
    with pytest.raises(ValueError, match="x must have an integer dtype"):
        embedding_forward(np.zeros((1, 2)), np.ones((4, 2)))


def test_temporal_affine_gradcheck():
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)]
    assert_gradcheck(temporal_affine_forward, temporal_affine_backward, inputs)


def test_temporal_affine_shape_errors():
    with pytest.raises(ValueError, match="w must have shape"):
        temporal_affine_forward(np.ones((2, 3, 4)), np.ones((5, 5)), np.ones(5))


def test_softmax_loss_gradient_and_mask():
    rng = np.random.default_rng(2)
    N, T, V = 3, 4, 5
    x = rng.standard_normal((N, T, V))
    y = rng.integers(0, V, (N, T))
    mask = rng.random((N, T)) > 0.3
    loss, dx = temporal_softmax_loss(x, y, mask)
    num = eval_numerical_gradient(lambda z: temporal_softmax_loss(z, y, mask)[0], x.copy())
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-9)
    assert np.all(dx[~mask] == 0)
    # Uniform scores: loss = (unmasked steps / N) * log V.
    loss0, _ = temporal_softmax_loss(np.zeros((N, T, V)), y, mask)
    assert loss0 == pytest.approx(mask.sum() / N * np.log(V))


@FAST
@given(N=st.integers(1, 3), T=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_layers_no_mutation_and_batch_independence(N, T, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, 3))
    w, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    out, _ = assert_untouched(temporal_affine_forward, x, w, b)
    for n in range(N):
        np.testing.assert_allclose(temporal_affine_forward(x[n : n + 1], w, b)[0][0], out[n])
    y = rng.integers(0, 2, (N, T))
    mask = np.ones((N, T), dtype=bool)
    assert_untouched(temporal_softmax_loss, out, y, mask)
