"""``python -m autograder check NOTEBOOK`` in a student bundle: the grader's judge, offline.

A bundle holds no reference and no wrong variants, so its ``autograder.checks`` is the stored
one (:mod:`autograder.checks.stored`: each lesson's cases, expected outputs and mistakes'
outputs, written when the bundle was made). :func:`check_notebook` runs
:func:`autograder.judge.verify_notebook` on the saved file as ``autograde`` does: the
notebook's code cells in the sandbox worker (its own process, under the grader's limits), then
every check of the lesson on each graded function as its test cell saw it, with the same
comparisons, gradient checks against the student's own forward and diagnoses. What differs:
the cases are the stored ones (``autograde`` draws fresh ones), the visible tests of the test
cells are not run (run them in the notebook), and the capstone's quality bar, computed with the
course's model, is not checked here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograder.limits import Limits


class CheckError(ValueError):
    """A notebook this check cannot take; the message says why."""


def check_notebook(path, lesson=None, limits: Limits | None = None) -> tuple[str, dict]:
    """``(lesson, {grade_id: result})`` of :func:`autograder.judge.verify_notebook`."""
    from autograder.checks import lesson_of
    from autograder.judge import verify_notebook

    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise CheckError(f"{path}: no such notebook file (a link is not followed)")
    try:
        lesson = lesson or lesson_of(path)
    except ValueError:
        raise CheckError(
            f"{path}: cannot tell which lesson this is from its name; pass --assignment"
        ) from None
    limits = limits or Limits()
    results = verify_notebook(
        str(path.resolve()), lesson, timeout=limits.judge_timeout, memory_mb=limits.memory_mb
    )
    return lesson, results


def render(path, lesson: str, results: dict) -> str:
    """A line per test cell (passed, FAILED with the judge's message, or not checked), the
    notebook's failing cells, then the score of what was checked."""
    lines = [f"{path} (lesson {lesson}; the grader's checks on this bundle's stored cases)"]
    score = total = 0.0
    for gid, r in results.items():
        names = ", ".join(r["functions"]) or gid
        points = f"{r['points']:g}/{r['max_points']:g}"
        if not r.get("checked", True):
            lines.append(f"  not checked  {names}  ({r['message']})")
            continue
        total += r["max_points"]
        score += r["points"]
        if r["passed"]:
            lines.append(f"  passed  {names}  {points}")
        else:
            lines.append(f"  FAILED  {names}  {points}  (test cell {gid})")
            lines.extend(f"      {line}" for line in r["message"].splitlines()[:20])
    errors = next(iter(results.values()), {}).get("cell_errors", [])
    if errors:
        lines.append("  cells that failed when the notebook ran:")
        lines.extend(f"    - {e.splitlines()[0] if e else e}" for e in errors[:10])
    lines.append(
        f"  score: {score:g} / {total:g} of what this check grades (autograde also runs the "
        "visible tests, on fresh cases)"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    """Exit status 0: full marks on what was checked; 1: some point lost; 2: bad input."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("check", help="the grader's verdict on your saved notebook")
    k.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    k.add_argument("--assignment", help="the lesson, when the file name does not say it")
    k.add_argument("--json", help="also write the verdicts as JSON to this file")
    args = p.parse_args(argv)
    status, verdicts = 0, []
    for nb in args.notebooks:
        try:
            lesson, results = check_notebook(nb, args.assignment)
        except CheckError as exc:
            print(f"check: {exc}", file=sys.stderr)
            return 2
        print(render(nb, lesson, results))
        verdicts.append({"notebook": str(nb), "assignment": lesson, "cells": results})
        if not all(r["passed"] for r in results.values() if r.get("checked", True)):
            status = 1
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(verdicts, indent=1), encoding="utf-8")
    return status
