"""What the judge checks: every lesson's hidden checks as data, and the lesson registry.

* ``lessonNN.py``: a lesson's ``BLOCKED`` answer-key modules and its ``SPECS`` (one
  :class:`~.spec.Spec` or :class:`~.spec.MetricSpec` per graded function: cases, tolerances,
  the known mistakes as ``(message, knobs)`` rows);
* :mod:`.variants` (the wrong variants the mistakes name), :mod:`.adapters` (worker-side
  argument and result conversion), :mod:`._inputs`, :mod:`._messages`, :mod:`._references`;
* :mod:`.demo` (which cells grading may leave out), :mod:`.scan` (static tamper flags);
* the registry, here: which lesson module checks a function or an assignment
  (:func:`find_lesson`), and the grade cells of a lesson's trusted source notebook in
  ``solutions/`` (:func:`grade_cells`, :func:`demo_sources`).

How the checks run (the judge process, the sandbox worker) is :mod:`autograder.judge`, which
reads this package; this package imports nothing of it, nor of the sandbox.

``scan(source) -> list[str]``
    Static flags for tamper attempts in student source (see :mod:`autograder.checks.scan`):
    for the instructor's summary, not a grade by themselves.
"""

import importlib
import json
import pkgutil
import re
from pathlib import Path

from autograder.checks.demo import DEMO_TAG, normalized, skipped
from autograder.checks.scan import scan

__all__ = [
    "find_lesson",
    "lesson_modules",
    "grade_cells",
    "demo_sources",
    "lesson_of",
    "source_notebook",
    "scan",
    "normalized",
    "skipped",
]

_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\w+)["']""")


def lesson_modules():
    """Every ``autograder.checks.lessonNN`` module, in lesson order (imported here)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("lesson") and info.name[6:].isdigit():
            yield importlib.import_module(f"{__name__}.{info.name}")


def find_lesson(name=None, lesson=None):
    """The lesson module that has a spec for ``name`` (or is lesson ``"NN..."``)."""
    for mod in lesson_modules():
        if lesson is not None and mod.__name__.endswith("lesson" + lesson[:2]):
            return mod
        if lesson is None and name in mod.SPECS:
            return mod
    raise KeyError(f"no checks for {lesson or name!r}")


def source_notebook(lesson):
    """The trusted source notebook of ``lesson`` (``solutions/<lesson>/<lesson>.ipynb``)."""
    (nb_path,) = sorted((_SOLUTIONS / lesson).glob("*.ipynb"))
    return nb_path


def grade_cells(lesson):
    """``{grade_id: (points, [function names])}`` of the lesson's source notebook."""
    cells = {}
    for cell in json.loads(source_notebook(lesson).read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cells[meta["grade_id"]] = (float(meta.get("points", 0)), _CHECK_CALL.findall(source))
    return cells


def demo_sources(notebook_path):
    """Normalized sources of the cells tagged ``demo`` in a trusted source notebook.

    A demo cell (a plot, an experiment) defines nothing that a graded cell needs, so grading
    may leave it out (see :mod:`autograder.checks.demo`).
    """
    cells = json.loads(Path(notebook_path).read_text(encoding="utf-8"))["cells"]
    return sorted(
        normalized(c["source"])
        for c in cells
        if c.get("cell_type") == "code" and DEMO_TAG in (c.get("metadata", {}).get("tags") or [])
    )


def lesson_of(path):
    """The lesson of a notebook file, from its name or its folder's."""
    for part in (path.stem, path.parent.name):
        if (_SOLUTIONS / part).is_dir():
            return part
    raise ValueError(f"cannot tell the lesson of {path}; pass lesson=")
