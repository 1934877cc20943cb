"""A lesson's checks as stored data: what a student bundle's ``check`` runs without the answers.

The judge needs, per graded function, the cases' inputs, the reference's outputs on them and
what each known mistake computes on them. A student bundle cannot hold the reference or the
wrong variants (their code is the answer, or nearly), so :func:`write_lesson` runs them once,
on the instructor's side, on cases drawn from one ``case_seed``, and stores the arrays
(``cases/<lesson>.npz``) with the spec's metadata, the lesson's grade cells and its demo
cells (``cases/<lesson>.json``). :func:`load_lesson` rebuilds the specs as
:class:`StoredSpec`: the judge's comparisons, gradient checks (against the student's own
forward, run in the sandbox worker as always) and diagnoses run unchanged, on the stored
arrays. ``autograde`` draws fresh cases on every run, so the stored outputs are no way to
pass it.

The registry functions at the end are those of :mod:`autograder.checks`, over the stored
lessons: a bundle's ``autograder/checks/__init__.py`` re-exports them.

A :class:`~autograder.checks.spec.MetricSpec` (the capstone's quality bar) is evaluated with
the reference model; stored, it reports "not checked here" (``passed`` None).
"""

from __future__ import annotations

import functools
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from autograder.checks.spec import MetricSpec, Spec

FORMAT = 1
CASES = Path(__file__).with_name("cases")
NOT_CHECKED = (
    "{name}: not checked by the bundle's check: the grader computes it with the course's "
    "reference model, which this bundle does not have; the visible test computes the same "
    "figure with your own functions."
)


def _key(name, ci, part, k):
    return f"{name}|{ci}|{part}|{k}"


def _ref(fn):
    return f"{fn.__module__}:{fn.__qualname__}" if fn is not None else None


def _deref(ref):
    if ref is None:
        return None
    module, qualname = ref.split(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _listed(value):
    return list(value) if isinstance(value, tuple) else value


def _spec_meta(spec: Spec) -> dict:
    return {
        "kind": "spec",
        "name": spec.name,
        "args": list(spec.args),
        "outputs": list(spec.outputs),
        "forward": spec.forward,
        "forward_args": list(spec.forward_args),
        "forward_out": _listed(spec.forward_out),
        "upstream": _listed(spec.upstream),
        "wrt": spec.wrt,
        "mistakes": [text for text, _ in spec.mistakes],
        "errors": [list(e) for e in spec.errors],
        "tol": spec.tol,
        "grad_tol": spec.grad_tol,
        "gradcheck_cases": spec.gradcheck_cases,
        "seed": spec.seed,
        "adapter": _ref(spec.adapter),
    }


def _store_case(spec, ci, case, case_seed, arrays) -> dict:
    """Case ``ci`` of ``spec``: its inputs, the reference's outputs and each mistake's, into
    ``arrays``; returns what the JSON keeps of it."""
    inputs = spec.case_inputs(ci, case, case_seed)
    for k, v in inputs.items():
        arrays[_key(spec.name, ci, "in", k)] = np.asarray(v)
    for k, v in spec.expected(ci, inputs).items():
        arrays[_key(spec.name, ci, "out", k)] = np.asarray(v)
    mistakes = []
    for m in range(len(spec.mistakes)):
        try:
            outs = spec.mistake_outputs(ci, m, inputs)
        except (ValueError, IndexError):  # cannot occur at these shapes (as in the judge)
            outs = None
        for k, v in (outs or {}).items():
            arrays[_key(spec.name, ci, f"m{m}", k)] = np.asarray(v)
        mistakes.append(None if outs is None else sorted(outs))
    return {
        "case": case,
        "inputs": list(inputs),
        "scalars": [k for k, v in inputs.items() if not isinstance(v, np.ndarray)],
        "outputs": sorted(k for k in arrays if k.startswith(_key(spec.name, ci, "out", ""))),
        "mistakes": mistakes,
    }


def _store_spec(spec, specs, arrays, case_seed) -> int:
    """Append ``spec``'s metadata to ``specs`` and its cases' arrays to ``arrays``."""
    if isinstance(spec, MetricSpec):
        specs.append({"kind": "metric", "name": spec.name, "outputs": list(spec.outputs)})
        specs[-1].update(adapter=_ref(spec.adapter), errors=[list(e) for e in spec.errors])
        return 0
    meta = _spec_meta(spec)
    meta["cases"] = [
        _store_case(spec, ci, case, case_seed, arrays) for ci, case in enumerate(spec.cases)
    ]
    specs.append(meta)
    return len(meta["cases"])


def write_lesson(mod, lesson: str, grade_cells: dict, demo_sources: list, folder, case_seed):
    """Store the checks of lesson module ``mod`` (``lesson``: its folder name) in ``folder``:
    ``lesson.json`` and ``lesson.npz``. Returns the number of cases stored."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays, specs, n = {}, [], 0
    with np.errstate(all="ignore"):  # wrong variants overflow or divide by zero, as they may
        for spec in mod.SPECS.values():
            n += _store_spec(spec, specs, arrays, case_seed)
    data = {
        "format": FORMAT,
        "lesson": lesson,
        "module": mod.__name__.rsplit(".", 1)[1],
        "blocked": list(mod.BLOCKED),
        "grade_cells": {gid: [pts, fns] for gid, (pts, fns) in grade_cells.items()},
        "demo_sources": list(demo_sources),
        "specs": specs,
    }
    (folder / f"{lesson}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    np.savez_compressed(folder / f"{lesson}.npz", **arrays)
    return n


def _never(**_):
    raise RuntimeError("a stored spec has no reference; its outputs are stored")


@dataclass(frozen=True)
class StoredSpec(Spec):
    """A :class:`Spec` whose inputs, expected outputs and mistakes' outputs are stored arrays
    (``stored``: ``{"inputs": [...], "expected": [...], "mistakes": [[dict or None]]}``,
    one entry per case)."""

    stored: dict = field(default_factory=dict)

    def case_inputs(self, ci, case, case_seed):
        return {k: v.copy() for k, v in self.stored["inputs"][ci].items()}

    def expected(self, ci, inputs):
        return self.stored["expected"][ci]

    def mistake_outputs(self, ci, k, inputs):
        outs = self.stored["mistakes"][ci][k]
        if outs is None:
            raise ValueError("this mistake cannot occur at these shapes")
        return outs


def _arrays_of(npz, name, ci, part, keys, scalars=()):
    out = {}
    for k in keys:
        a = npz[_key(name, ci, part, k)]
        out[k] = a[()] if k in scalars else a
    return out


def _stored_spec(meta: dict, npz) -> StoredSpec:
    name = meta["name"]
    stored = {"inputs": [], "expected": [], "mistakes": []}
    for ci, c in enumerate(meta["cases"]):
        stored["inputs"].append(_arrays_of(npz, name, ci, "in", c["inputs"], c["scalars"]))
        outs = [k.rsplit("|", 1)[1] for k in c["outputs"]]
        stored["expected"].append(_arrays_of(npz, name, ci, "out", outs))
        stored["mistakes"].append(
            [
                None if keys is None else _arrays_of(npz, name, ci, f"m{m}", keys)
                for m, keys in enumerate(c["mistakes"])
            ]
        )
    tupled = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
    return StoredSpec(
        name=name,
        args=tuple(meta["args"]),
        outputs=tuple(meta["outputs"]),
        make_inputs=_never,
        cases=[c["case"] for c in meta["cases"]],
        reference=_never,
        forward=meta["forward"],
        forward_args=tuple(meta["forward_args"]),
        forward_out=tupled(meta["forward_out"]),
        upstream=tupled(meta["upstream"]),
        wrt=meta["wrt"],
        mistakes=[(text, None) for text in meta["mistakes"]],
        errors=[tuple(e) for e in meta["errors"]],
        tol=meta["tol"],
        grad_tol=meta["grad_tol"],
        gradcheck_cases=meta["gradcheck_cases"],
        seed=meta["seed"],
        adapter=_deref(meta["adapter"]),
        stored=stored,
    )


def _stored_metric(meta: dict) -> MetricSpec:
    message = NOT_CHECKED.format(name=meta["name"])
    return MetricSpec(
        name=meta["name"],
        outputs=tuple(meta["outputs"]),
        adapter=_deref(meta["adapter"]),
        evaluate=lambda got: (None, message),
        errors=[tuple(e) for e in meta["errors"]],
    )


@functools.cache
def load_lesson(lesson: str, folder: Path = CASES) -> SimpleNamespace:
    """The stored lesson as a lesson module: ``__name__``, ``BLOCKED``, ``SPECS``, and
    ``GRADE_CELLS``, ``DEMO_SOURCES``."""
    data = json.loads((Path(folder) / f"{lesson}.json").read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{lesson}: stored cases of format {data.get('format')}, not {FORMAT}")
    with np.load(Path(folder) / f"{lesson}.npz", allow_pickle=False) as npz:
        specs = {
            m["name"]: _stored_metric(m) if m["kind"] == "metric" else _stored_spec(m, npz)
            for m in data["specs"]
        }
    return SimpleNamespace(
        __name__=f"autograder.checks.{data['module']}",
        LESSON=lesson,
        BLOCKED=tuple(data["blocked"]),
        SPECS=specs,
        GRADE_CELLS={gid: (pts, fns) for gid, (pts, fns) in data["grade_cells"].items()},
        DEMO_SOURCES=data["demo_sources"],
    )


# The registry of autograder.checks, over the stored lessons.


def stored_lessons(folder: Path = CASES) -> list[str]:
    return sorted(p.stem for p in Path(folder).glob("*.json"))


def lesson_modules():
    for lesson in stored_lessons():
        yield load_lesson(lesson)


def find_lesson(name=None, lesson=None):
    for mod in lesson_modules():
        if lesson is not None and mod.LESSON[:2] == lesson[:2]:
            return mod
        if lesson is None and name in mod.SPECS:
            return mod
    raise KeyError(f"no checks for {lesson or name!r}")


def source_notebook(lesson):
    """Where the lesson's stored checks are (stands for the source notebook)."""
    return CASES / f"{lesson}.json"


def grade_cells(lesson):
    return dict(find_lesson(lesson=lesson).GRADE_CELLS)


def demo_sources(path):
    return list(load_lesson(Path(path).stem).DEMO_SOURCES)


def lesson_of(path):
    path = Path(path)
    lessons = stored_lessons()
    for part in (path.stem.split(" ")[0], path.parent.name):
        if part in lessons:
            return part
    raise ValueError(f"cannot tell the lesson of {path}; pass lesson=")
