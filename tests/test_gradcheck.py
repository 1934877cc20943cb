import numpy as np
import pytest

from rnnref.gradcheck import (
    check_backward,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)


def test_rel_error_basic():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="equal shapes"):
        rel_error(np.ones(2), np.ones(3))


def test_numerical_gradient_of_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    grad = eval_numerical_gradient(lambda z: float(np.sum(z**2)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0])  # restored


def test_numerical_gradient_array_is_vjp():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    df = rng.standard_normal(3)
    num = eval_numerical_gradient_array(lambda z: A @ z, x, df)
    np.testing.assert_allclose(num, A.T @ df, rtol=1e-7)


def _fwd(x, w):
    return x @ w, (x, w)


def test_check_backward_accepts_right_and_flags_wrong():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    good = check_backward(_fwd, lambda d, c: (d @ c[1].T, c[0].T @ d), [x, w], names=["x", "w"])
    assert max(good.values()) < 1e-8 and set(good) == {"dx", "dw"}
    bad = check_backward(_fwd, lambda d, c: (d @ c[1].T, 2 * c[0].T @ d), [x, w], names=["x", "w"])
    assert bad["dw"] > 1e-2 and bad["dx"] < 1e-8


def test_check_backward_counts_gradients():
    x, w = np.ones((2, 2)), np.ones((2, 2))
    with pytest.raises(ValueError, match="expected 2"):
        check_backward(_fwd, lambda d, c: d, [x, w])
