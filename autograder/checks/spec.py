"""Declarative check specs: what a lesson module (``lessonNN.py``) states per graded function.

A lesson module defines ``SPECS = {name: Spec(...)}`` and ``BLOCKED`` (reference modules the
worker refuses to import while grading, i.e. the answer key of that lesson).
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Spec:
    """How the judge checks one graded function.

    name: the student function's name.
    args: its parameter names in order; ``"cache"`` means "the cache that the student's own
        ``forward`` returned for the same inputs" (kept in the worker, passed by handle).
    outputs: names of the returned tuple's elements; ``None`` for opaque ones (a cache).
    make_inputs: ``(rng, **case) -> dict`` of float64 input arrays, including the forward's
        inputs and the upstream gradient of a backward.
    cases: shapes to try, e.g. ``[dict(N=3, D=4, H=5), dict(N=1, D=2, H=3)]`` (seeded).
    reference: ``(**inputs) -> dict`` of expected outputs, computed in the judge.
    forward: for a backward, the student's forward function name, its ``forward_args``, the
        index of its output that ``upstream`` (an input name) is the gradient of, and
        ``wrt``: gradient output name -> forward input name, for the numerical check. By
        default ``wrt`` is derived: every output ``"d" + a`` whose ``a`` is a forward input
        (``dx -> x``, ``dprev_h -> prev_h``, ``dWx of layer 0 -> Wx of layer 0``), in the
        order of the outputs.
    mistakes: ``(message, variant)`` pairs; ``variant(**inputs) -> dict`` computes a known
        wrong answer. A failing output that matches a variant gets that message. Lessons
        write them as data, ``(message, knobs)`` rows of one variant function with knobs
        (see :func:`mistakes`).
    errors: ``(substring, message)`` pairs matched against exceptions the student code raises.
    tol: largest accepted ``max|yours - expected| / max|expected|``.
    adapter: for functions whose arguments or results are not flat arrays (lists of
        parameter tuples, a cell name): a function of :mod:`autograder.checks.adapters`
        (importable in the worker, unlike the lesson module, which imports the answer key),
        sent by reference.
        The worker calls ``adapter(student_fn)(*args)``: it maps the spec's flat float arrays
        to the student's signature and the student's results back to a flat tuple. Also
        applied when this spec's function is another spec's ``forward``.
    """

    name: str
    args: tuple
    outputs: tuple
    make_inputs: Callable
    cases: list
    reference: Callable
    forward: str | None = None
    forward_args: tuple = ()
    forward_out: int | tuple = 0
    upstream: str | None = None
    wrt: dict | None = None
    mistakes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    tol: float = 1e-6
    grad_tol: float = 1e-5
    gradcheck_cases: int = 2
    seed: int = 0
    adapter: Callable | None = None

    def __post_init__(self):
        if self.wrt is None:
            grads = [o for o in self.outputs if o and o.startswith("d")]
            derived = {g: g[1:] for g in grads if g[1:] in self.forward_args}
            object.__setattr__(self, "wrt", derived)  # frozen: set once, here

    def case_inputs(self, ci, case, case_seed):
        """The inputs of case ``ci``, drawn from the spec's seed, the case's index and the
        run's ``case_seed`` (each grading run draws its own: no stored output passes it)."""
        import numpy as np

        return self.make_inputs(np.random.default_rng([self.seed, ci, case_seed]), **case)

    def expected(self, ci, inputs):
        """The reference's outputs on case ``ci``'s ``inputs`` (given copies of them)."""
        return self.reference(**{k: v.copy() for k, v in inputs.items()})

    def mistake_outputs(self, ci, k, inputs):
        """What the ``k``-th known mistake computes on case ``ci``'s ``inputs``; raises
        ValueError or IndexError when the mistake cannot occur at these shapes."""
        return self.mistakes[k][1](**inputs)

    @property
    def forward_outs(self):
        """Indices of the forward's outputs that the numerical check differentiates."""
        return self.forward_out if isinstance(self.forward_out, tuple) else (self.forward_out,)

    @property
    def upstreams(self):
        """Input names of the upstream gradients, one per entry of ``forward_outs``."""
        return self.upstream if isinstance(self.upstream, tuple) else (self.upstream,)


def gradients(args):
    """The names of the gradients of ``args``: ``("x", "prev_h") -> ("dx", "dprev_h")``."""
    return tuple("d" + a for a in args)


def mistakes(variant, table):
    """A spec's ``mistakes`` from data: ``table`` holds ``(message, knobs)`` rows, and the
    wrong answer of a row is ``variant(inputs, **knobs)`` (``inputs`` the case's dict)."""
    return [(message, _turned(variant, knobs)) for message, knobs in table]


def _turned(variant, knobs):
    return lambda **inputs: variant(inputs, **knobs)


def unpacked(variant):
    """``variant(**inputs, **knobs)`` as the ``variant(inputs, **knobs)`` of :func:`mistakes`."""
    return lambda inputs, **knobs: variant(**inputs, **knobs)


@dataclass(frozen=True)
class MetricSpec:
    """A judge-side metric: the worker returns the student's arrays (through ``adapter``),
    ``evaluate(got) -> (passed, message)`` runs here, in the judge, with the reference."""

    name: str
    outputs: tuple
    adapter: object
    evaluate: object
    errors: list = field(default_factory=list)
    tol: float = 0.0
