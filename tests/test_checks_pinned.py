"""Every lesson's hidden checks, pinned: the mistakes each spec knows with their messages
(byte for byte), the error hints, the cases, and what the references and the wrong variants
compute on each case's seeded inputs (sums of every output array).

``tests/data/check_specs.json`` was written from main's lesson modules before the checks
became data; a refactor of ``autograder/checks`` that changes any message, case or variant
fails here. Regenerate it (only for an intended change) with
``.venv/bin/python tests/test_checks_pinned.py``.
"""

import importlib
import json
import pkgutil
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

import autograder.checks as checks_pkg
from autograder.checks.spec import MetricSpec

PINNED = Path(__file__).parent / "data" / "check_specs.json"


def lesson_module_names():
    return sorted(
        m.name
        for m in pkgutil.iter_modules(checks_pkg.__path__)
        if m.name.startswith("lesson") and m.name[6:].isdigit()
    )


def _digest(out):
    """``{name: [shape, sum, sum of |.|, NaN count]}`` of a dict of arrays (or the error)."""
    if isinstance(out, BaseException):
        return f"raises {type(out).__name__}"
    rows = {}
    for name in sorted(out):
        a = np.asarray(out[name], dtype=np.float64)
        rows[name] = [
            list(a.shape),
            float(np.nansum(a)),
            float(np.nansum(np.abs(a))),
            int(np.isnan(a).sum()),
        ]
    return rows


class _TooLong(Exception):
    """A variant that does not return within :data:`VARIANT_SECONDS` (pinned as such)."""


VARIANT_SECONDS = 2.0


def _alarm(signum, frame):
    raise _TooLong


def _run(fn, inputs):
    # Lesson 08's "no_stop" sampling variant never ends at temperature 0 when the greedy token
    # is </s>: the engine has that behaviour too, so it is pinned, not fixed here.
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, VARIANT_SECONDS)
    try:
        with np.errstate(all="ignore"):  # a wrong variant may overflow; its numbers are pinned
            return fn(**{k: v.copy() for k, v in inputs.items()})
    except Exception as exc:  # noqa: BLE001 (a variant that cannot apply to a case is pinned too)
        return exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def describe_spec(spec):
    """The pinned description of one spec: its declaration and its numbers."""
    if isinstance(spec, MetricSpec):
        return {
            "kind": "metric",
            "outputs": list(spec.outputs),
            "adapter": spec.adapter.__name__,
            "errors": [list(e) for e in spec.errors],
            "tol": spec.tol,
        }
    cases = []
    for ci, case in enumerate(spec.cases):
        inputs = spec.make_inputs(np.random.default_rng([spec.seed, ci]), **case)
        cases.append(
            {
                "inputs": _digest(inputs),
                "reference": _digest(_run(spec.reference, inputs)),
                "mistakes": [_digest(_run(variant, inputs)) for _, variant in spec.mistakes],
            }
        )
    return {
        "kind": "spec",
        "args": list(spec.args),
        "outputs": list(spec.outputs),
        "cases": json.loads(json.dumps(spec.cases)),
        "forward": spec.forward,
        "forward_args": list(spec.forward_args),
        "forward_out": list(spec.forward_outs),
        "upstream": list(spec.upstreams) if spec.upstream else None,
        "wrt": spec.wrt,
        "mistakes": [message for message, _ in spec.mistakes],
        "errors": [list(e) for e in spec.errors],
        "tol": spec.tol,
        "grad_tol": spec.grad_tol,
        "gradcheck_cases": spec.gradcheck_cases,
        "seed": spec.seed,
        "adapter": spec.adapter.__name__ if spec.adapter else None,
        "numbers": cases,
    }


def describe(module_name):
    mod = importlib.import_module(f"autograder.checks.{module_name}")
    return {
        "blocked": list(mod.BLOCKED),
        "specs": {name: describe_spec(spec) for name, spec in mod.SPECS.items()},
    }


def _assert_close(got, want, where):
    if isinstance(want, dict) and isinstance(got, dict):
        assert sorted(got) == sorted(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            _assert_close(got[k], want[k], f"{where}/{k}")
    elif isinstance(want, list) and isinstance(got, list):
        assert len(got) == len(want), f"{where}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_close(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and isinstance(got, int | float):
        assert np.isclose(got, want, rtol=1e-9, atol=1e-12), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


@pytest.fixture(scope="module")
def pinned():
    return json.loads(PINNED.read_text(encoding="utf-8"))


def test_every_lesson_module_is_pinned(pinned):
    assert lesson_module_names() == sorted(pinned)


@pytest.mark.parametrize("module_name", lesson_module_names())
def test_messages_are_unchanged(pinned, module_name):
    """Mistake messages and error hints, byte for byte, in their order, for every spec."""
    got, want = describe(module_name), pinned[module_name]
    assert got["blocked"] == want["blocked"]
    assert list(got["specs"]) == list(want["specs"])
    for name, spec in want["specs"].items():
        assert got["specs"][name]["errors"] == spec["errors"], name
        if spec["kind"] == "spec":
            assert got["specs"][name]["mistakes"] == spec["mistakes"], name


@pytest.mark.parametrize("module_name", lesson_module_names())
def test_specs_compute_what_they_did(pinned, module_name):
    """Declarations (cases, derivatives, tolerances) and every reference and variant's
    numbers on every case."""
    got = describe(module_name)
    _assert_close(got, pinned[module_name], module_name)
    for name, spec in pinned[module_name]["specs"].items():
        if spec["kind"] == "spec":  # the numerical check perturbs the inputs in this order
            assert list(got["specs"][name]["wrt"]) == list(spec["wrt"]), name


if __name__ == "__main__":
    PINNED.parent.mkdir(exist_ok=True)
    data = {name: describe(name) for name in lesson_module_names()}
    # readable declarations (a reviewer reads the messages), one compact line of numbers each
    numbers = {}
    for mod in data.values():
        for spec in mod["specs"].values():
            if "numbers" in spec:
                key = f"@numbers {len(numbers)}"
                numbers[key], spec["numbers"] = json.dumps(spec["numbers"]), key
    text = json.dumps(data, indent=1)
    for key, line in numbers.items():
        text = text.replace(json.dumps(key), line)
    PINNED.write_text(text + "\n", encoding="utf-8")
    print("wrote", PINNED, file=sys.stderr)
