"""``python -m autograder``: the instructor's commands, one per step.

    python -m autograder release                 # lessons/ from solutions/, gradebook updated
    python -m autograder roster students.csv     # optional: id,first_name,last_name,email
    python -m autograder collect downloads/      # or a .zip; places submissions
    python -m autograder autograde --workers 2   # parallel, limited, resumable
    python -m autograder autograde --scheduler tcp://host:8786   # on a Dask cluster
    python -m autograder feedback                # feedback/<student>/<assignment>/*.html
    python -m autograder grades --csv grades.csv # CSV + printed summary
    python -m autograder report --html report.html   # what the class got wrong, and why
    python -m autograder check lessons/01_vanilla_rnn/01_vanilla_rnn.ipynb   # students
    python -m autograder bundle ../term-bundle --released 01   # what students get, no answers

Every command takes ``--db URL`` (any SQLAlchemy URL; env ``RNN_GRADEBOOK_URL``) and
``--course DIR`` (env ``RNN_COURSE_DIR``); see :mod:`autograder.settings`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

from autograder.limits import Limits
from autograder.settings import Settings, redact_url


def do_release(settings: Settings, assignments: list[str] | None) -> None:
    settings.course.mkdir(parents=True, exist_ok=True)
    from autograder import paths

    try:
        from autograder.release import release
    except ImportError:
        release = None
    # the course's release step (reproducible notebooks) works on the repository's solutions/;
    # another source folder (tests, a fork of the course) gets nbgrader's plain generate step
    if release is not None and settings.source == paths.SOLUTIONS.resolve():
        from autograder.sources import SourceError

        try:
            release(assignments=assignments, dest=settings.release, db_url=settings.db_url)
        except SourceError as exc:
            raise SystemExit(f"release stopped: {exc}") from None
    else:
        from autograder.grading.nbconfig import generate_assignments

        generate_assignments(
            settings, assignments or settings.assignments_in_source(), settings.release
        )
    names = ", ".join(assignments or settings.assignments_in_source())
    print(f"released {names} to {settings.release}")


def register_missing(settings: Settings) -> list[str]:
    """Put source assignments the gradebook lacks into it (the release folder is untouched)."""
    from autograder import gradebook
    from autograder.grading.nbconfig import generate_assignments

    settings.course.mkdir(parents=True, exist_ok=True)
    known = set(gradebook.assignment_names(settings.db_url))
    missing = [a for a in settings.assignments_in_source() if a not in known]
    for a in missing:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                generate_assignments(settings, [a], Path(tmp))
            except SystemExit as e:  # a broken source must not stop the other lessons
                print(f"warning: could not register {a} in the gradebook: {e}", file=sys.stderr)
    return missing


def _ids_by_notebook(settings: Settings) -> dict[str, set[str]]:
    from autograder import gradebook

    out = {}
    for _a, nbs in gradebook.structure(settings.db_url).items():
        for nb, cells in nbs.items():
            out[nb] = set(cells)
    return out


def cmd_collect(settings: Settings, args) -> int:
    from autograder import gradebook
    from autograder.collect import collect

    register_missing(settings)
    notebooks = {
        a: sorted(nbs) for a, nbs in gradebook.structure(settings.db_url).items()
    } or settings.notebooks_in_source()
    report = collect(settings, Path(args.path), notebooks, _ids_by_notebook(settings))
    for line in report["placed"]:
        print(f"placed     {line}")
    for line in report["unchanged"]:
        print(f"unchanged  {line}")
    for line in report["backups"]:
        print(f"replaced   {line} (previous submission kept there)")
    for line in report["unplaced"]:
        print(f"NOT PLACED {line}")
    print(
        f"{len(report['placed'])} placed, {len(report['unchanged'])} unchanged, "
        f"{len(report['backups'])} replaced, {len(report['unplaced'])} not placed"
    )
    return 0


def _limit_options(parser: argparse.ArgumentParser) -> None:
    """The options of :class:`Limits` (``autograde`` and ``check`` take the same)."""
    parser.add_argument(
        "--cell-timeout", type=int, default=Limits.cell_timeout, help="seconds per cell"
    )
    parser.add_argument(
        "--timeout", type=int, default=Limits.notebook_timeout, help="seconds per notebook"
    )
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb)
    parser.add_argument(
        "--max-output", type=int, default=Limits.max_output_chars, help="output characters per cell"
    )
    parser.add_argument(
        "--judge-timeout",
        type=int,
        default=Limits.judge_timeout,
        help="seconds per call of a student function in the sandbox worker",
    )


def _limits(args) -> Limits:
    return Limits(
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.timeout,
        memory_mb=args.memory_mb,
        max_output_chars=args.max_output,
        judge_timeout=args.judge_timeout,
    )


def cmd_check(settings: Settings, args) -> int:
    """Exit status 0: every notebook gets full marks; 1: some point lost (or a notebook not
    graded); 2: bad input."""
    from autograder import selfcheck
    from autograder.sandbox import SandboxUnavailable

    try:
        verdicts = selfcheck.check_notebooks(
            [Path(p) for p in args.notebooks],
            assignment=args.assignment,
            source=settings.source,
            limits=_limits(args),
            sandbox=args.sandbox,
            workers=args.workers,
        )
    except (selfcheck.CheckError, SandboxUnavailable) as e:
        print(f"check: {e}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps([selfcheck.as_json(v) for v in verdicts], indent=1))
    print("\n\n".join(selfcheck.render(v) for v in verdicts))
    return 0 if all(v.passed for v in verdicts) else 1


def cmd_autograde(settings: Settings, args) -> int:
    from autograder.grading import autograde

    register_missing(settings)
    limits = _limits(args)
    from autograder.grading.outcome import ClusterUnavailable
    from autograder.sandbox import SandboxUnavailable

    try:
        rep = autograde(
            settings,
            workers=args.workers,
            students=args.student,
            assignments=args.assignment,
            force=args.force,
            limits=limits,
            progress=not args.no_progress,
            sandbox=args.sandbox,  # "none": autograde's run report warns, each result is flagged
            bad_timestamp=args.bad_timestamp,
            keep=tuple(args.keep or ()),
            scheduler=args.scheduler or os.environ.get("RNN_DASK_SCHEDULER") or None,
        )
    except (SandboxUnavailable, ClusterUnavailable) as e:  # why, and how to fix it
        print(f"autograde: {e}", file=sys.stderr)
        return 2
    print(
        f"autograde: {rep.graded} graded ({rep.failed} with errors), {rep.skipped} already "
        f"graded and unchanged (use --force to regrade), {len(rep.unknown)} not placed; "
        f"{rep.seconds:.1f} s"
    )
    if rep.not_graded:
        print(f"{len(rep.not_graded)} not graded because of a grader problem: run again")
        return 1
    return 0


def cmd_feedback(settings: Settings, args) -> int:
    from autograder.feedback import generate

    paths = generate(settings, args.student, args.assignment)
    print(f"feedback: {len(paths)} HTML files in {settings.feedback}")
    return 0


def cmd_grades(settings: Settings, args) -> int:
    from autograder import grades

    table = grades.rows(settings)
    if args.format != "plain" and not args.csv:
        raise SystemExit(f"grades: --format {args.format} writes a file: give it with --csv FILE")
    if args.csv and args.format == "plain":
        grades.write_csv(table, args.csv)
        print(f"wrote {len(table)} rows to {args.csv}")
    elif args.csv:
        n = grades.write_lms_csv(settings, table, args.format, args.csv)
        print(f"wrote {n} students to {args.csv} ({args.format} grade import)")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))
    print(grades.summary(settings, table))
    return 0


def cmd_report(settings: Settings, args) -> int:
    from autograder import report

    reports = report.build(settings, args.assignment)
    if not reports:
        print("report: no assignment in the gradebook" + (" matches" if args.assignment else ""))
        return 1
    if args.html:
        Path(args.html).write_text(report.html_page(reports), encoding="utf-8")
        print(f"wrote {args.html}")
    if args.csv:
        report.write_csv(reports, args.csv)
        print(f"wrote {args.csv}")
    print(report.text(reports))
    return 0


def cmd_bundle(settings: Settings, args) -> int:
    from autograder.bundle import BundleError, bundle

    try:
        made = bundle(args.out, args.released, force=args.force, release_dir=settings.release)
    except BundleError as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 2
    released = ", ".join(n[:2] for n in made.released) or "none"
    print(
        f"wrote the student bundle to {made.out}: {len(made.lessons)} lessons, answers "
        f"released: {released}; {len(made.stubbed)} functions stubbed; {made.files} files, "
        f"{made.size / 1e6:.1f} MB"
    )
    return 0


def cmd_roster(settings: Settings, args) -> int:
    from autograder import gradebook

    with open(args.file, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "id" not in rows[0]:
        raise SystemExit("roster CSV needs a header with an 'id' column")
    n = gradebook.import_roster(settings.db_url, rows)
    print(f"roster: {n} students in {redact_url(settings.db_url)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    # nbgrader runs the ``alembic`` executable when it creates a gradebook: make the venv's
    # scripts findable even when the venv is not activated
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="gradebook SQLAlchemy URL (env RNN_GRADEBOOK_URL)")
    common.add_argument("--course", help="class data folder (env RNN_COURSE_DIR)")
    common.add_argument("--source", help="source notebooks folder (env RNN_SOURCE_DIR)")
    common.add_argument("--release-dir", help="student release folder (env RNN_RELEASE_DIR)")
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("release", parents=[common], help="generate lessons/ from the sources")
    r.add_argument("assignments", nargs="*")
    c = sub.add_parser("collect", parents=[common], help="import submissions (folder or zip)")
    c.add_argument("path")
    a = sub.add_parser("autograde", parents=[common], help="grade submissions in parallel")
    a.add_argument("--workers", type=int, default=1)
    a.add_argument("--student", action="append")
    a.add_argument("--assignment", action="append")
    a.add_argument("--force", action="store_true", help="regrade graded, unchanged work too")
    a.add_argument(
        "--keep",
        action="append",
        metavar="GLOB",
        help="a file the notebook writes that is kept with the graded notebook in autograded/ "
        "(a glob relative to the assignment folder; repeatable); nothing else it writes is",
    )
    a.add_argument(
        "--bad-timestamp",
        choices=("none", "collected"),  # autograder.grading.run.BAD_TIMESTAMP
        default="none",
        help="a timestamp.txt that is not a date (or not a file) becomes no submission time "
        "(default) or the time the submission was collected; either way the student is told",
    )
    _limit_options(a)
    a.add_argument("--no-progress", action="store_true")
    a.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the workers of this Dask scheduler (tcp://host:8786; env "
        "RNN_DASK_SCHEDULER) instead of --workers local processes",
    )
    a.add_argument(
        "--sandbox",
        choices=("bwrap", "none"),
        default="bwrap",
        help="run student code in a bubblewrap sandbox (default) or, where it cannot run, not",
    )
    k = sub.add_parser(
        "check",
        parents=[common],
        help="students: the grader's verdict on your notebook before you submit it",
        description="Grade notebooks exactly as autograde does (same limits, sandbox and "
        "judge) in a temporary class; print per graded function: passed, or the diagnosis. "
        "Needs no gradebook or course folder; the notebooks are not changed.",
    )
    k.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    k.add_argument("--assignment", help="the lesson, when the file name does not say it")
    k.add_argument("--workers", type=int, default=1)
    k.add_argument("--json", help="also write the verdicts as JSON to this file")
    k.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="bubblewrap where it runs (default), or none (the verdict is the same)",
    )
    _limit_options(k)
    f = sub.add_parser("feedback", parents=[common], help="per-student HTML feedback")
    f.add_argument("--student", action="append")
    f.add_argument("--assignment", action="append")
    g = sub.add_parser("grades", parents=[common], help="CSV of grades and a summary")
    g.add_argument("--csv", help="write the grades to this CSV file")
    g.add_argument(
        "--format",
        choices=("plain", "canvas", "moodle"),  # autograder.grades.LMS_FORMATS
        default="plain",
        help="plain: a row per student and assignment, with cells, reasons and flags; canvas "
        "or moodle: the LMS's grade import file, a row per student, a column per assignment",
    )
    g.add_argument("--json", help=argparse.SUPPRESS)
    rp = sub.add_parser(
        "report",
        parents=[common],
        help="the class report: scores, pass rates, the likely causes of lost points, flags",
    )
    rp.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    rp.add_argument("--html", help="write the report as one self-contained HTML page")
    rp.add_argument("--csv", help="write the report's numbers as CSV")
    b = sub.add_parser(
        "bundle",
        parents=[common],
        help="write the students' bundle of a graded term: the lessons, rnnref without answers",
        description="Write what students clone or download for a graded term: the released "
        "lessons, the data, and rnnref with the graded functions of every lesson not named "
        "by --released replaced by stubs that name their lesson; no solutions, checks or "
        "tests. Needs the release (python -m autograder release).",
    )
    b.add_argument("out", metavar="OUT", help="an empty or new folder outside the repository")
    b.add_argument(
        "--released",
        nargs="*",
        default=[],
        metavar="LESSON",
        help="lessons whose answers students may have (past their deadline): 01 02 ...",
    )
    b.add_argument(
        "--force",
        action="store_true",
        help="OUT is not empty: replace the files a bundle writes there, keep everything else",
    )
    ro = sub.add_parser("roster", parents=[common], help="import students from a CSV")
    ro.add_argument("file")
    args = p.parse_args(argv)
    settings = Settings.resolve(args.course, args.db, args.source, args.release_dir)
    if args.cmd == "release":
        do_release(settings, args.assignments or None)
        return 0
    handler = {
        "collect": cmd_collect,
        "check": cmd_check,
        "autograde": cmd_autograde,
        "feedback": cmd_feedback,
        "grades": cmd_grades,
        "roster": cmd_roster,
        "bundle": cmd_bundle,
        "report": cmd_report,
    }[args.cmd]
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
