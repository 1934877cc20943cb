"""First-order optimizers over a dict of parameters ``name -> array``.

``step(params, grads)`` updates the arrays of ``params`` **in place**: the one deliberate
exception to the package's "nothing mutates its inputs" rule, because changing the parameters
is an optimizer's whole job and models hold references to those arrays. ``grads`` is never
modified. Per-parameter state (velocities, moments) is kept by name, created at the first
step; every later step must use the same names and shapes.
"""

import numbers

import numpy as np

from rnnref import _validate as v


def _check_number(name, value, low, high=None, low_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (high is None or value < high)
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (
            f" and < {high}" if high is not None else ""
        )
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")
    return float(value)


def _check_step(params, grads, state):
    for name, d in (("params", params), ("grads", grads)):
        if not isinstance(d, dict):
            raise ValueError(f"{name} must be a dict of name -> array, got {type(d).__name__}")
    if params.keys() != grads.keys():
        raise ValueError(
            f"params and grads must have the same keys, got {sorted(params)} and {sorted(grads)}"
        )
    if state and state.keys() != params.keys():
        raise ValueError(
            f"params has keys {sorted(params)} but the optimizer was used with {sorted(state)}"
        )
    for name, p in params.items():
        v.array(f"params[{name!r}]", p)
        v.array(f"grads[{name!r}]", grads[name], shape=p.shape)


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``velocity = momentum * velocity - lr * grad``; ``param += velocity``. With
    ``momentum = 0`` this is plain SGD.
    """

    def __init__(self, lr=0.01, momentum=0.0):
        self.lr = _check_number("lr", lr, 0.0, low_open=True)
        self.momentum = _check_number("momentum", momentum, 0.0, 1.0)
        self.velocity = {}

    def step(self, params, grads):
        """Update every ``params[name]`` in place from ``grads[name]``."""
        _check_step(params, grads, self.velocity)
        for name, p in params.items():
            vel = self.velocity.get(name)
            if vel is None:
                vel = self.velocity[name] = np.zeros_like(p)
            vel *= self.momentum
            vel -= self.lr * grads[name]
            p += vel


class Adam:
    """Adam (Kingma and Ba, 2015): per-entry steps scaled by running moment estimates.

    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``, and with the bias corrections
    ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``:
    ``param -= lr * m_hat / (sqrt(v_hat) + eps)``. The corrections make the first step
    ``lr * g / (|g| + eps)``, i.e. about ``lr`` in every entry, whatever the gradient's scale.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = _check_number("lr", lr, 0.0, low_open=True)
        self.beta1 = _check_number("beta1", beta1, 0.0, 1.0)
        self.beta2 = _check_number("beta2", beta2, 0.0, 1.0)
        self.eps = _check_number("eps", eps, 0.0, low_open=True)
        self.t = 0
        self.m = {}
        self.v = {}

    def step(self, params, grads):
        """Update every ``params[name]`` in place from ``grads[name]``."""
        _check_step(params, grads, self.m)
        self.t += 1
        # Fold both bias corrections into one step size instead of two array divisions.
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.t) / (1.0 - self.beta1**self.t)
        eps_t = self.eps * np.sqrt(1.0 - self.beta2**self.t)
        for name, p in params.items():
            g = grads[name]
            if name not in self.m:
                self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)
            m, s = self.m[name], self.v[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            s *= self.beta2
            s += (1.0 - self.beta2) * g * g
            p -= lr_t * m / (np.sqrt(s) + eps_t)
