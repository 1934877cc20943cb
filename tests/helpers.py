"""Shared pieces of the rnnref tests: random problems, gradient-check assertions, mutation
checks."""

import numpy as np
from hypothesis import settings

from rnnref.gradcheck import check_backward

# Modest example counts keep the whole rnnref suite fast; no deadline because the first
# call of a test also pays for imports and BLAS warm-up.
FAST = settings(max_examples=15, deadline=None)

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TOL = 1e-7


def randn(rng, *shape, scale=0.5):
    return rng.standard_normal(shape) * scale


def layer_params(rng, D, H, G, scale=0.5):
    """``(Wx, Wh, b)`` for a cell with G fused gates."""
    return randn(rng, D, G * H, scale=scale), randn(rng, H, G * H, scale=scale), randn(rng, G * H)


def assert_gradcheck(forward, backward, inputs, names=None, tol=TOL, **kw):
    errors = check_backward(forward, backward, inputs, names=names, **kw)
    bad = {k: e for k, e in errors.items() if not e < tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"
    return errors


def assert_untouched(fn, *args, **kwargs):
    """Call ``fn`` and check that no array argument changed; returns the result."""
    arrays = [a for a in list(args) + list(kwargs.values()) if isinstance(a, np.ndarray)]
    copies = [a.copy() for a in arrays]
    out = fn(*args, **kwargs)
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)
    return out


def assert_all_close(got, want, **kw):
    assert len(got) == len(want), (len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"item {i}", **kw)
