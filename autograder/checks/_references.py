"""Reference wrappers: a spec's ``reference`` from the answer key's forward and backward.

The judge calls ``reference(**inputs)`` and compares the returned ``{output name: array}``
with the student's outputs of the same names, so a wrapper only picks the forward's inputs
from the case and names the answer key's results.
"""


def forward_reference(forward, args, outputs):
    """``reference(**inputs)`` of ``forward(*inputs[args])``, whose results are named
    ``outputs`` in order; ``None`` names what is not compared (the cache)."""

    def reference(**inputs):
        results = forward(*(inputs[a] for a in args))
        return {n: r for n, r in zip(outputs, results, strict=True) if n is not None}

    return reference


def backward_reference(forward, backward, args, upstreams, outputs):
    """``reference(**inputs)`` of ``backward(*inputs[upstreams], cache)``, the cache being
    the last result of ``forward(*inputs[args])``; the gradients are named ``outputs``."""

    def reference(**inputs):
        cache = forward(*(inputs[a] for a in args))[-1]
        grads = backward(*(inputs[u] for u in upstreams), cache)
        return dict(zip(outputs, grads, strict=True))

    return reference
