import numpy as np
import pytest

from rnnref.optim import SGD, Adam


def quadratic(params, A):
    """``f = 0.5 * sum_k (p_k - 1)^T A (p_k - 1)`` and its gradient."""
    loss = sum(0.5 * (p - 1) @ A @ (p - 1) for p in params.values())
    return float(loss), {k: A @ (p - 1) for k, p in params.items()}


@pytest.mark.parametrize(
    "opt", [SGD(lr=0.05), SGD(lr=0.05, momentum=0.9), Adam(lr=0.05)], ids=["sgd", "mom", "adam"]
)
def test_optimizers_reduce_a_quadratic(opt):
    rng = np.random.default_rng(0)
    A = np.diag([1.0, 4.0, 9.0])
    params = {"a": rng.standard_normal(3), "b": rng.standard_normal(3)}
    first, _ = quadratic(params, A)
    for _ in range(300):
        loss, grads = quadratic(params, A)
        opt.step(params, grads)
    assert loss < 1e-3 * first


def test_momentum_beats_plain_sgd_on_ill_conditioned_problem():
    A = np.diag([0.01, 1.0])
    losses = []
    for momentum in (0.0, 0.9):
        params, opt = {"p": np.zeros(2)}, SGD(lr=0.5, momentum=momentum)
        for _ in range(100):
            opt.step(params, quadratic(params, A)[1])
        losses.append(quadratic(params, A)[0])
    assert losses[1] < 0.1 * losses[0]


def test_sgd_step_exact_and_in_place():
    p = np.array([1.0, 2.0])
    params = {"p": p}
    grads = {"p": np.array([10.0, -10.0])}
    opt = SGD(lr=0.1, momentum=0.5)
    opt.step(params, grads)
    assert params["p"] is p  # updated in place
    np.testing.assert_allclose(p, [0.0, 3.0])
    opt.step(params, grads)  # velocity 0.5 * (-1, 1) - (1, -1)
    np.testing.assert_allclose(p, [-1.5, 4.5])
    np.testing.assert_array_equal(grads["p"], [10.0, -10.0])


def test_adam_first_step_has_size_lr():
    rng = np.random.default_rng(1)
    for scale in (1e-4, 1.0, 1e4):
        p = rng.standard_normal(5)
        before = p.copy()
        Adam(lr=0.01).step({"p": p}, {"p": scale * rng.standard_normal(5)})
        np.testing.assert_allclose(np.abs(p - before), 0.01, rtol=1e-3)


def test_adam_matches_textbook_update():
    rng = np.random.default_rng(2)
    p = rng.standard_normal(4)
    ref = p.copy()
    m, v = np.zeros(4), np.zeros(4)
    opt = Adam(lr=0.1, beta1=0.8, beta2=0.9, eps=1e-3)
    for t in range(1, 4):
        g = rng.standard_normal(4)
        opt.step({"p": p}, {"p": g})
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        ref -= 0.1 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.9**t)) + 1e-3)
        np.testing.assert_allclose(p, ref, rtol=1e-12)


def test_argument_errors():
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        SGD(lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.0)
    with pytest.raises(ValueError, match="beta2"):
        Adam(beta2=-0.1)
    opt = Adam()
    with pytest.raises(ValueError, match="same keys"):
        opt.step({"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(ValueError, match=r"grads\['a'\] must have shape \(2\)"):
        opt.step({"a": np.zeros(2)}, {"a": np.zeros(3)})
    with pytest.raises(ValueError, match="params must be a dict"):
        opt.step([np.zeros(2)], {"a": np.zeros(2)})
    opt.step({"a": np.zeros(2)}, {"a": np.ones(2)})
    with pytest.raises(ValueError, match="optimizer was used with"):
        opt.step({"b": np.zeros(2)}, {"b": np.ones(2)})
