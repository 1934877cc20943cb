"""Fresh cases still catch every known mistake.

The judge draws each request's inputs from a fresh ``case_seed`` (so no stored or seen output
can be hard-coded into a pass). That only holds if every mistake the lessons know is caught
whatever the draw: for any seed, some case of the spec must give the mistake's outputs that
differ from the reference's beyond the spec's tolerance (or that have another shape). The
check is made on the mistakes' own variants (``Spec.mistake_outputs``), the judge's
comparison (``verdicts._err``), and many seeds.
"""

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks import lesson_modules
from autograder.checks.spec import MetricSpec
from autograder.judge.verdicts import _err

SPECS = [
    (mod.__name__.rsplit(".", 1)[1], spec)
    for mod in lesson_modules()
    for spec in mod.SPECS.values()
    if not isinstance(spec, MetricSpec) and spec.mistakes
]


def _differs(out: dict, expected: dict, tol: float) -> bool:
    for name, want in expected.items():
        got = out.get(name)
        if got is None:
            continue
        got = np.asarray(got)
        if got.shape != want.shape or not np.isfinite(got).all() or not _err(got, want) <= tol:
            return True
    return False


def missed(spec, case_seed: int) -> list[str]:
    """The known mistakes of ``spec`` that no case drawn with ``case_seed`` tells apart."""
    caught = set()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for ci, case in enumerate(spec.cases):
            inputs = spec.case_inputs(ci, case, case_seed)
            expected = spec.expected(ci, inputs)
            for k in set(range(len(spec.mistakes))) - caught:
                try:
                    out = spec.mistake_outputs(ci, k, dict(inputs))
                except (ValueError, IndexError):  # cannot occur at these shapes
                    continue
                if _differs(out, expected, spec.tol):
                    caught.add(k)
    return [spec.mistakes[k][0] for k in range(len(spec.mistakes)) if k not in caught]


@pytest.mark.parametrize("lesson, spec", SPECS, ids=[f"{m}-{s.name}" for m, s in SPECS])
@settings(max_examples=25, deadline=None, derandomize=True)
@given(case_seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_every_known_mistake_is_caught_on_any_draw(lesson, spec, case_seed):
    assert missed(spec, case_seed) == [], (lesson, spec.name, case_seed)


def test_a_mistake_the_cases_cannot_tell_apart_is_reported():
    """The property can fail: a 'mistake' that computes the reference itself is never caught."""
    _, spec = SPECS[0]
    fake = dataclasses.replace(spec, mistakes=[("the reference itself", spec.reference)])
    assert missed(fake, 0) == ["the reference itself"]
    assert missed(spec, 0) == []
