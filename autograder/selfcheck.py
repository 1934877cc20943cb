"""``python -m autograder check NOTEBOOK...``: the grader's own verdict, before submitting.

A student's notebook is graded exactly as ``autograde`` grades it (the same pipeline, limits,
sandbox and out-of-kernel judge) in a throw-away class in a temporary folder: no gradebook and
no course folder are needed, and nothing of the student's is changed. The printout gives, per
graded function, "passed" or what the feedback page would say (the cell's message and the
judge's diagnosis: function, case, output, error, likely cause) and the notes about the whole
notebook (a limit reached, a crash, a deleted test cell). Hidden tests are never printed: the
messages come from the gradebook record, as on the feedback page.

The last cell of every lesson ("Check my work") calls
:func:`autograder.mywork.check_my_work`, which runs this command in a fresh process.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.limits import Limits
from autograder.mywork import GRADING_ENV
from autograder.settings import Settings

__all__ = ["GRADING_ENV", "CheckError", "Verdict", "check_notebooks", "render", "as_json"]


class CheckError(ValueError):
    """A notebook ``check`` cannot take; the message says which and why."""


@dataclass
class Verdict:
    """What ``check`` found for one notebook: the gradebook record of its grading
    (``score``, ``max_score``, ``reasons``, ``cells`` as :func:`autograder.gradebook.results`
    returns them) and the graded functions of each test cell."""

    path: Path
    assignment: str
    record: dict | None
    functions: dict[str, list[str]] = field(default_factory=dict)
    not_graded: str | None = None  # the grader's own failure (the student is not at fault)

    @property
    def passed(self) -> bool:
        return self.record is not None and self.record["score"] >= self.record["max_score"]


def lesson_of(path: Path, assignments: list[str]) -> str:
    """The assignment a notebook belongs to, from its file or folder name."""
    stem = path.stem.split(" ")[0]  # "01_vanilla_rnn (1).ipynb", as a browser saves a copy
    for name in (stem, path.parent.name):
        if name in assignments:
            return name
    raise CheckError(
        f"{path}: cannot tell which lesson this notebook is from its name; "
        f"pass --assignment with one of: {', '.join(assignments)}"
    )


def _regular_file(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        raise CheckError(f"{path}: no such file") from None
    if stat.S_ISLNK(mode):
        raise CheckError(f"{path}: is a link; pass the notebook file itself")
    if not stat.S_ISREG(mode):
        raise CheckError(f"{path}: is not a file")
    if path.suffix != ".ipynb":
        raise CheckError(f"{path}: is not a notebook (.ipynb)")


def choose_sandbox(sandbox: str) -> tuple[str, str | None]:
    """``(mode, note)``: ``"auto"`` is bubblewrap where it runs, else no sandbox with a note
    (on a student's own machine the sandbox guards nothing of anyone else's; the verdict is
    the same without it)."""
    from autograder import sandbox as _sandbox

    if sandbox != "auto":
        _sandbox.require(sandbox)
        return sandbox, None
    try:
        _sandbox.require("bwrap")
    except _sandbox.SandboxUnavailable as exc:
        return "none", f"checked without the sandbox ({exc})"
    return "bwrap", None


def check_notebooks(
    paths: list[Path],
    assignment: str | None = None,
    source: Path | None = None,
    limits: Limits | None = None,
    sandbox: str = "auto",
    workers: int = 1,
    log=print,
) -> list[Verdict]:
    """Grade each notebook of ``paths`` as ``autograde`` would; one :class:`Verdict` each.

    Raises :class:`CheckError` for a path that is not a notebook file or whose lesson cannot
    be told (before anything is graded), and ``SandboxUnavailable`` for ``sandbox="bwrap"``
    where bubblewrap cannot run."""
    from autograder import gradebook
    from autograder.checks import grade_cells
    from autograder.grading import autograde
    from autograder.grading.nbconfig import generate_assignments

    mode, note = choose_sandbox(sandbox)
    if note:
        log(f"note: {note}")
    with tempfile.TemporaryDirectory(prefix="rnn-check-") as tmp:
        base = Path(tmp)
        settings = Settings.resolve(
            course=base / "course",
            db=f"sqlite:///{base / 'gradebook.db'}",
            source=source,
            release=base / "release",
        )
        known = settings.notebooks_in_source()
        if not known:
            raise CheckError(f"{settings.source}: holds no lesson notebooks to check against")
        placed = []
        for i, path in enumerate(map(Path, paths)):
            _regular_file(path)
            lesson = assignment or lesson_of(path, sorted(known))
            if lesson not in known:
                raise CheckError(f"no lesson {lesson!r}; the lessons: {', '.join(sorted(known))}")
            if len(known[lesson]) != 1:
                raise CheckError(
                    f"lesson {lesson} has several notebooks; check them with autograde"
                )
            # one student per notebook: several notebooks of one lesson are checked side by side
            dest = settings.submitted / f"notebook{i + 1}" / lesson / f"{known[lesson][0]}.ipynb"
            dest.parent.mkdir(parents=True)
            shutil.copyfile(path, dest, follow_symlinks=False)  # the student's file unchanged
            placed.append((path, lesson, dest.parent.parent.name))
        settings.course.mkdir(parents=True, exist_ok=True)
        lessons = sorted({lesson for _, lesson, _ in placed})
        generate_assignments(settings, lessons, settings.release)
        report = autograde(
            settings,
            workers=workers,
            limits=limits or Limits(),
            progress=False,
            log=lambda msg: None if msg.startswith("WARNING: every submission") else log(msg),
            sandbox=mode,
        )
        records = {r["student_id"]: r for r in gradebook.results(settings.db_url)}
        functions = {
            lesson: {gid: fns for gid, (_, fns) in grade_cells(lesson).items()}
            for lesson in lessons
        }
        out = []
        for path, lesson, student in placed:
            rec, why = records.get(student), None
            if rec is None:
                why = (
                    "the grader could not grade it (a problem of the grader, not of your work)"
                    if f"{student}/{lesson}" in report.not_graded
                    else "it was not graded"
                )
            out.append(Verdict(path, lesson, rec, functions[lesson], why))
        return out


def render(v: Verdict) -> str:
    """The printout for one notebook: a line per test cell, then the notes and the score."""
    from autograder.feedback import diagnosis, own_message, passed

    head = f"{v.path} (lesson {v.assignment})"
    if v.record is None:
        return f"{head}: NOT CHECKED: {v.not_graded}; run check again"
    lines = [head]
    for gid, cell in v.record["cells"].items():
        names = ", ".join(v.functions.get(gid) or []) or gid
        points = f"{cell.get('score', 0):g}/{cell.get('max_score', 0):g}"
        if passed(cell):
            lines.append(f"  passed  {names}  {points}")
            continue
        lines.append(f"  FAILED  {names}  {points}  (test cell {gid})")
        lines.extend(f"      {line}" for line in own_message(cell).splitlines()[:12])
        if why := diagnosis(cell):
            lines.append("      diagnosis:")
            lines.extend(f"        {line}" for line in why.splitlines()[:20])
    if v.record["reasons"]:
        lines.append("  notes:")
        lines.extend(f"    - {r}" for r in v.record["reasons"])
    lines.append(
        f"  score: {v.record['score']:g} / {v.record['max_score']:g} "
        "(what autograde gives this file as it is saved now)"
    )
    return "\n".join(lines)


def as_json(v: Verdict) -> dict:
    """The verdict as plain data: per test cell its functions, points and messages."""
    from autograder.feedback import diagnosis, own_message, passed

    if v.record is None:
        return {"notebook": str(v.path), "assignment": v.assignment, "error": v.not_graded}
    cells = {}
    for gid, cell in v.record["cells"].items():
        ok = passed(cell)
        cells[gid] = {
            "functions": v.functions.get(gid) or [],
            "passed": ok,
            "score": cell.get("score", 0),
            "max_score": cell.get("max_score", 0),
            "message": None if ok else own_message(cell),
            "diagnosis": diagnosis(cell),
        }
    return {
        "notebook": str(v.path),
        "assignment": v.assignment,
        "score": v.record["score"],
        "max_score": v.record["max_score"],
        "notes": v.record["reasons"],
        "cells": cells,
    }
