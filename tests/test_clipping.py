import numpy as np
import pytest
from helpers import FAST
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnnref.clipping import clip_by_global_norm, clip_by_value, clip_norm_range

finite = st.floats(-100, 100, allow_nan=False)
small_arrays = arrays(np.float64, st.integers(1, 6), elements=finite)
# Thresholds near the underflow limit would only test the rounding of np.linalg.norm.
positive_or_zero = st.one_of(st.just(0.0), st.floats(1e-6, 10))


def l2(a):
    """L2 norm that neither underflows nor overflows (independent of rnnref's)."""
    m = np.max(np.abs(a))
    return 0.0 if m == 0 else m * np.linalg.norm(a / m)


def grads_dict(seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return {"Wx": scale * rng.standard_normal((3, 4)), "b": scale * rng.standard_normal(4)}


def copy(d):
    return {k: g.copy() for k, g in d.items()}


def test_clip_by_value():
    g = {"a": np.array([-3.0, -0.5, 0.0, 2.0, 5.0])}
    out = clip_by_value(g, 1.0)
    np.testing.assert_array_equal(out["a"], [-1.0, -0.5, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(g["a"], [-3.0, -0.5, 0.0, 2.0, 5.0])
    assert out["a"] is not g["a"]


@FAST
@given(a=small_arrays, b=small_arrays, max_norm=st.floats(0.01, 50))
def test_global_norm_invariants(a, b, max_norm):
    g = {"a": a, "b": b}
    before = copy(g)
    clipped, total = clip_by_global_norm(g, max_norm)
    for k in g:
        np.testing.assert_array_equal(g[k], before[k])  # inputs untouched
        assert clipped[k] is not g[k]
    want_total = l2(np.concatenate([a, b]))
    assert total == pytest.approx(want_total)
    new_total = l2(np.concatenate([clipped["a"], clipped["b"]]))
    assert new_total <= max_norm * (1 + 1e-12) or total <= max_norm
    if total <= max_norm:
        for k in g:
            np.testing.assert_array_equal(clipped[k], g[k])  # no-op below the threshold
    else:
        assert new_total == pytest.approx(max_norm)
        # Same factor for every array: the direction is preserved.
        scale = max_norm / total
        for k in g:
            np.testing.assert_allclose(clipped[k], g[k] * scale, rtol=1e-12)


def test_norms_do_not_underflow_or_overflow():
    tiny = {"a": np.array([3e-200]), "b": np.array([4e-200])}
    _, total = clip_by_global_norm(tiny, 1.0)
    assert total == pytest.approx(5e-200)
    huge = {"a": np.array([3e200]), "b": np.array([4e200])}
    clipped, total = clip_by_global_norm(huge, 1.0)
    assert total == pytest.approx(5e200)
    np.testing.assert_allclose(clipped["a"], [0.6])
    np.testing.assert_allclose(clip_norm_range(np.array([1e-200]), 1.0, 2.0), [1.0])


def test_global_norm_example():
    g = {"a": np.array([3.0]), "b": np.array([4.0])}
    clipped, total = clip_by_global_norm(g, 1.0)
    assert total == 5.0
    np.testing.assert_allclose(clipped["a"], [0.6])
    np.testing.assert_allclose(clipped["b"], [0.8])


@FAST
@given(g=small_arrays, low=positive_or_zero, width=positive_or_zero)
def test_norm_range(g, low, width):
    high = low + width
    before = g.copy()
    out = clip_norm_range(g, low, high)
    np.testing.assert_array_equal(g, before)
    norm, new = l2(g), l2(out)
    if norm == 0:
        assert np.all(out == 0)
    elif norm < low:
        assert new == pytest.approx(low)
    elif norm > high:
        assert new == pytest.approx(high)
    else:
        np.testing.assert_array_equal(out, g)
    if norm > 0 and new > 0:
        # Only the length changes, never the direction.
        np.testing.assert_allclose(out / new, g / norm, rtol=1e-9, atol=1e-12)


def test_norm_range_examples():
    np.testing.assert_allclose(clip_norm_range(np.array([0.3, 0.4]), 1.0, 2.0), [0.6, 0.8])
    np.testing.assert_allclose(clip_norm_range(np.array([3.0, 4.0]), 1.0, 2.0), [1.2, 1.6])
    np.testing.assert_array_equal(clip_norm_range(np.zeros(2), 1.0, 2.0), [0.0, 0.0])


def test_bad_arguments():
    g = grads_dict(0)
    with pytest.raises(ValueError, match="clip_value must be a non-negative"):
        clip_by_value(g, -1.0)
    with pytest.raises(ValueError, match="max_norm must be a non-negative"):
        clip_by_global_norm(g, -0.5)
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm(g, float("nan"))
    with pytest.raises(ValueError, match="grads must be a dict"):
        clip_by_global_norm([g["b"]], 1.0)
    with pytest.raises(ValueError, match="grads\\['b'\\] must be a numpy array"):
        clip_by_value({"b": [1.0, 2.0]}, 1.0)
    with pytest.raises(ValueError, match="low <= high"):
        clip_norm_range(g["b"], 2.0, 1.0)
    with pytest.raises(ValueError, match="low must be a non-negative"):
        clip_norm_range(g["b"], -1.0, 1.0)
