"""Every known mistake of every lesson's checks can be computed on every case of its spec.

The judge computes a spec's mistake variants to name the likely cause of a failing output;
a variant that raises (anything but the ValueError or IndexError of a mistake that cannot
occur at those shapes) turns the student's diagnosis into "the grading judge failed".
"""

import numpy as np
import pytest

from autograder import checks
from autograder.checks.spec import Spec

ROWS = [
    (mod.__name__.rsplit(".", 1)[1], spec, ci, case, k)
    for mod in checks.lesson_modules()
    for spec in mod.SPECS.values()
    if isinstance(spec, Spec)
    for ci, case in enumerate(spec.cases)
    for k in range(len(spec.mistakes))
]


@pytest.mark.parametrize(
    "lesson, spec, ci, case, k",
    ROWS,
    ids=[f"{lesson}-{spec.name}-case{ci}-row{k}" for lesson, spec, ci, case, k in ROWS],
)
def test_a_mistake_variant_runs_on_every_case(lesson, spec, ci, case, k):
    rng = np.random.default_rng([spec.seed, ci])  # as the judge makes a case's inputs
    inputs = spec.make_inputs(rng, **case)
    message, variant = spec.mistakes[k]
    try:
        out = variant(**{name: v.copy() for name, v in inputs.items()})
    except (ValueError, IndexError):
        return  # the judge's "cannot occur at these shapes"
    assert isinstance(out, dict) and out, (message, out)
    assert set(out) <= set(spec.outputs), (message, set(out) - set(spec.outputs))


def test_every_lesson_has_mistakes_to_check():
    assert {lesson for lesson, *_ in ROWS} >= {f"lesson0{n}" for n in range(1, 8)}
