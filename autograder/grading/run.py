"""The main process of ``autograde``: list the submissions, hand them to the pool, store.

It alone writes the class gradebook (one transaction per submission) and moves each
autograded folder into ``autograded/``. An interrupted run loses only the submissions in
flight; the next run grades them.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import shutil
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nbgrader import utils as nbutils

from autograder import gradebook, safefiles
from autograder import sandbox as _sandbox
from autograder.grading import sources
from autograder.grading.child import autograded_of
from autograder.grading.nbconfig import IGNORE
from autograder.grading.records import Result, Task
from autograder.grading.supervise import grade_task, pool_init, quiet
from autograder.limits import Limits
from autograder.settings import Settings


@dataclass
class RunReport:
    graded: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: list = field(default_factory=list)
    seconds: float = 0.0
    per_notebook: list = field(default_factory=list)
    not_graded: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # per submission, graded all the same


@dataclass(frozen=True)
class _Pending:
    """A submission to grade, as found in ``submitted/`` (before the run's common part)."""

    student: str
    assignment: str
    folder: Path
    files_hash: str
    timestamp: str | None
    notes: list[str]


def find_submissions(settings: Settings) -> list[tuple[str, str, Path]]:
    out = []
    if not settings.submitted.is_dir():
        return out
    for sdir in sorted(settings.submitted.iterdir()):
        if sdir.is_dir() and not sdir.name.startswith("."):
            for adir in sorted(sdir.iterdir()):
                if adir.is_dir() and not adir.name.startswith("."):
                    out.append((sdir.name, adir.name, adir))
    return out


def _pending(
    settings, structure, selected, force, report: RunReport, bad_timestamp: str = "none"
) -> list[_Pending]:
    """The submissions to grade: selected, of a known assignment, new or changed."""
    stored = gradebook.done(settings.db_url)
    out = []
    for student, assignment, folder in find_submissions(settings):
        if not selected(student, assignment):
            continue
        if assignment not in structure:
            report.unknown.append(f"{student}/{assignment}: no such assignment in the gradebook")
            continue
        fh = sources.files_hash(folder)
        if not force and stored.get((student, assignment)) == fh:
            report.skipped += 1
            continue
        note_file = settings.course / "collect_notes" / student / f"{assignment}.json"
        notes = json.loads(note_file.read_text()) if note_file.exists() else []
        timestamp, why = read_timestamp(folder, bad_timestamp)
        if why:
            notes = [*notes, why]
            report.notes.append(f"{student}/{assignment}: {why}")
        out.append(_Pending(student, assignment, folder, fh, timestamp, notes))
    return out


BAD_TIMESTAMP = ("none", "collected")  # what a bad timestamp.txt becomes: no time, or collect's


def read_timestamp(folder: Path, bad: str = "none") -> tuple[str | None, str | None]:
    """The submission time of ``folder/timestamp.txt`` (nbgrader's format), and why it was not
    taken when it is bad: not a regular file (a link is never followed), not UTF-8, not a
    date. A bad one is that student's note, never an error of the run; with ``bad ==
    "collected"`` the time the folder was placed stands in for it."""
    path = folder / "timestamp.txt"
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None, None
    why = None
    if not stat.S_ISREG(mode):
        why = f"timestamp.txt is {safefiles.kind(mode) or 'a folder'}"
    else:
        try:
            text = safefiles.read_bytes(path)[:200].decode("utf-8").strip()
            if not text:
                raise ValueError("empty")
            nbutils.parse_utc(text)
            return text, None
        except UnicodeDecodeError:
            why = "timestamp.txt is not UTF-8 text"
        except (ValueError, OverflowError, TypeError) as exc:
            why = f"timestamp.txt is not a date ({_short(text)}: {type(exc).__name__})"
        except OSError as exc:
            why = f"timestamp.txt could not be read ({exc.strerror or exc})"
    if bad == "collected":
        placed = datetime.fromtimestamp(folder.stat().st_mtime, UTC)
        return placed.strftime("%Y-%m-%d %H:%M:%S.%f UTC"), f"{why}: the time it was collected used"
    return None, f"{why}: ignored (no submission time)"


def _short(text: str) -> str:
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


def _tasks(
    settings, structure, pending, template: Path, run_dir: Path, limits, policy=None, keep=()
) -> list[Task]:
    """One :class:`Task` per pending submission, with what the run shares."""
    assignments = {p.assignment for p in pending}
    demos = {a: sources.demo_sources(settings.source / a) for a in assignments}
    judged = {a: sources.judge_covers(a) for a in assignments}
    tests = sources.released_tests(settings.db_url)
    return [
        Task(
            student=p.student,
            assignment=p.assignment,
            submitted=str(p.folder),
            files_hash=p.files_hash,
            timestamp=p.timestamp,
            notes=p.notes,
            template=str(template),
            structure=structure,
            test_sources=tests.get(p.assignment, {}),
            demo_sources=demos[p.assignment],
            source=str(settings.source),
            workdir=str(run_dir),
            limits=limits,
            judged=judged[p.assignment],
            sandbox=policy,
            keep=tuple(keep),
        )
        for p in pending
    ]


def _install(settings: Settings, result: Result) -> None:
    """Move the child's autograded folder into the class folder (replacing an old one)."""
    src = autograded_of(Path(result.workdir), result.student, result.assignment)
    dest = settings.autograded / result.student / result.assignment
    old = dest.with_name(dest.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if dest.exists():
        dest.rename(old)
    if src.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(dest))
    if old.exists():
        shutil.rmtree(old)


def _store(settings, gb, result: Result, structure, report: RunReport, log) -> None:
    """Record one finished submission: stored and installed, or reported as not graded."""
    name = f"{result.student}/{result.assignment}"
    if result.status == "infra":  # not the student's fault: no grade
        report.not_graded.append(name)
        log(f"NOT GRADED {name}: {result.reasons[0]} (run again)")
        return
    _install(settings, result)
    gradebook.store_result(gb, result.to_dict())
    shutil.rmtree(result.workdir, ignore_errors=True)
    report.graded += 1
    report.per_notebook.append(result.seconds / max(1, len(structure[result.assignment])))
    if result.status != "graded":
        report.failed += 1


def _local_results(tasks, workers, sandbox, stopped):
    """The result of each task (or the exception of a broken pool process) as the local pool
    finishes it; on Ctrl-C (``stopped()`` true when closed), the pool processes
    are stopped (they kill their grading children)."""
    ex = cf.ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=mp.get_context("spawn"),
        initializer=pool_init,
        initargs=(sandbox,),
    )
    futures = [ex.submit(grade_task, t) for t in tasks]
    try:
        for fut in cf.as_completed(futures):
            try:
                yield fut.result()
            except Exception as e:  # noqa: BLE001 (a broken pool process: report, go on)
                yield e
    finally:
        if stopped():
            for f in futures:
                f.cancel()
            for p in list(getattr(ex, "_processes", {}).values()):
                p.terminate()
        ex.shutdown(wait=True, cancel_futures=True)


def _grade_all(settings, tasks, workers, structure, report, progress, log, sandbox, where):
    """Run ``tasks`` on the local pool, or through the Dask scheduler ``where.scheduler``,
    and store each result as it comes; on Ctrl-C, stop and re-raise."""
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc="autograde", unit="nb", disable=not progress, file=sys.stderr)
    interrupted = [False]
    if where.scheduler:
        from autograder.grading import cluster

        results = cluster.grade_on_cluster(
            where.scheduler, tasks, sandbox, where.run_dir, skip=IGNORE, log=log
        )
    else:
        results = _local_results(tasks, workers, sandbox, lambda: interrupted[0])
    try:
        with gradebook.open_gradebook(settings.db_url) as gb:
            for result in results:
                if isinstance(result, Exception):
                    report.failed += 1
                    log(f"worker failed: {type(result).__name__}: {result}")
                else:
                    _store(settings, gb, result, structure, report, log)
                    if result.status != "infra":
                        bar.set_postfix_str(f"{result.student}/{result.assignment}")
                bar.update(1)
    except KeyboardInterrupt:
        interrupted[0] = True
        log("interrupted: results stored so far are kept; run again to grade the rest")
    finally:
        bar.close()
        results.close()
    if interrupted[0]:
        raise KeyboardInterrupt


@dataclass(frozen=True)
class _Where:
    """Where a run grades: its scratch folder, and the Dask scheduler (None: locally)."""

    run_dir: Path
    scheduler: str | None = None


def autograde(
    settings: Settings,
    workers: int = 1,
    students: list[str] | None = None,
    assignments: list[str] | None = None,
    force: bool = False,
    limits: Limits | None = None,
    progress: bool = True,
    log=print,
    sandbox: str = "bwrap",
    bad_timestamp: str = "none",
    keep: tuple[str, ...] = (),
    scheduler: str | None = None,
) -> RunReport:
    """Grade the new and changed submissions of the class on ``workers`` pool processes,
    student code inside ``sandbox`` (``"bwrap"``, or ``"none"``: recorded on every
    submission). A bad ``timestamp.txt`` becomes no submission time, or with
    ``bad_timestamp="collected"`` the time it was collected (see :func:`read_timestamp`).
    Of what a notebook writes, only the files matching the ``keep`` globs are kept with it.
    ``scheduler`` (``tcp://host:8786``): grade on that Dask cluster's workers instead of
    local pool processes (:mod:`.cluster`); the same grades either way.
    Raises :class:`autograder.sandbox.SandboxUnavailable` when bwrap cannot run."""
    _sandbox.require(sandbox)  # before anything is graded: why, and how to fix it
    if bad_timestamp not in BAD_TIMESTAMP:
        raise ValueError(f"bad_timestamp must be one of {BAD_TIMESTAMP}, not {bad_timestamp!r}")
    limits = limits or Limits()
    if sandbox == "none":
        log(f"WARNING: every submission of this run is {_sandbox.UNSANDBOXED}")
    else:  # a cap that falls back to a weaker one here is said once, before grading
        for msg in _sandbox.notes(_sandbox.SandboxLimits(memory_mb=limits.memory_mb)):
            log(f"note: {msg}")
    quiet()
    t_start = time.monotonic()
    report = RunReport()
    structure = gradebook.structure(settings.db_url)

    def selected(student, assignment):
        return (not students or student in students) and (
            not assignments or assignment in assignments
        )

    pending = _pending(settings, structure, selected, force, report, bad_timestamp)
    for msg in report.unknown:
        log(f"cannot place: {msg}")
    for msg in report.notes:
        log(f"note: {msg}")
    if pending:
        settings.course.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix=".autograde-", dir=settings.course))
        try:
            template = run_dir / "template.sqlite"
            gradebook.make_template(settings.db_url, str(template))
            policy = _sandbox.policy_for(settings, sandbox, limits.file_size_mb, limits.memory_mb)
            tasks = _tasks(settings, structure, pending, template, run_dir, limits, policy, keep)
            where = _Where(run_dir, scheduler)
            _grade_all(settings, tasks, workers, structure, report, progress, log, sandbox, where)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    report.seconds = time.monotonic() - t_start
    return report
