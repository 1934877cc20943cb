"""The grading child: one submission, graded in named steps, under the pool process's limits.

:func:`grade_in_child` copies the submission and the gradebook template into private
folders, clears and sets the environment the kernel inherits, checks the notebooks
statically, runs nbgrader's autograde (a kernel that could not start is retried once, then
reported as the grader's fault), reads the scores and errors back, and lets the judge
re-grade what nbgrader passed.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import safefiles
from autograder import sandbox as _sandbox
from autograder.grading import outcome
from autograder.grading.nbconfig import nbgrader_config
from autograder.grading.records import CellResult, Result, Task, new_cells, new_result
from autograder.grading.sources import SUBMISSION_SECRET, SUBMISSION_SECRET_MAX_BYTES, engine
from autograder.grading.static import Inspection, inspect
from autograder.judge import DEFERRED_ENV
from autograder.mywork import GRADING_ENV

# Threads and plotting of the kernel and the sandbox worker: one BLAS thread each (the pool
# runs one grading child per core), and figures not drawn (the inline backend would render
# every figure to PNG, 0.1-0.5 s each, for a feedback page that shows test results).
_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class ChildDirs:
    """The grading child's private folders, made and removed by its pool process:
    ``work`` (its course copy and result file), ``runtime`` (the kernel's IPC sockets) and
    ``scratch`` (its gradebook copy, in memory where possible)."""

    work: Path
    runtime: Path
    scratch: Path

    @property
    def course(self) -> Path:
        return self.work / "course"

    @property
    def gradebook(self) -> Path:
        return self.scratch / "gb.sqlite"


def copy_submission(task: Task, dirs: ChildDirs) -> tuple[Path, list[str]]:
    """The child's copies of the submission and the template gradebook; returns the
    submission's folder in the child's course and why entries were left out.

    Only regular files are copied, never through a link: a link beside a notebook would
    otherwise bring its target (the gradebook, an answer key, a classmate's work) into the
    copy that student code reads. What the sandbox gets is checked to be regular files under
    the copy."""
    sub_dir = dirs.course / "submitted" / task.student / task.assignment
    shutil.copyfile(task.template, dirs.gradebook)
    src = Path(task.submitted)
    try:
        refused = safefiles.copy_tree(src, sub_dir)
    except OSError as exc:
        sub_dir.mkdir(parents=True, exist_ok=True)
        return sub_dir, [f"the submission folder was not graded: {exc}"]
    if bad := safefiles.only_regular(sub_dir):  # only the copy above wrote there
        raise RuntimeError(f"the grading copy holds {bad[0]}, which is not a regular file")
    # the submission time the main process read and checked, or none: nbgrader reads this
    # file again, and a bad one would fail the whole submission
    stamp = sub_dir / "timestamp.txt"
    if stamp.is_dir():
        shutil.rmtree(stamp)
    stamp.unlink(missing_ok=True)
    if task.timestamp:
        stamp.write_text(task.timestamp + "\n")
    return sub_dir, [
        f"{p.relative_to(src)}: {why} (not graded; a link is never followed)" for p, why in refused
    ]


def set_environment(task: Task, dirs: ChildDirs) -> None:
    """The environment the kernel inherits: none of the class's settings (``RNN_*``,
    ``NBGRADER_*``), its runtime folder, the grading marker, one BLAS thread, no figures
    drawn."""
    for var in list(os.environ):
        if var.startswith(("RNN_", "NBGRADER_")):
            del os.environ[var]
    os.environ["JUPYTER_RUNTIME_DIR"] = str(dirs.runtime)
    os.environ[GRADING_ENV] = "1"  # a "Check my work" cell does nothing here
    if task.judged:
        # verify_notebook below is the authority for these lessons: the kernel's hidden-test
        # calls skip their own judge run (it would cost ~1 s per graded function).
        os.environ[DEFERRED_ENV] = "1"
    for var in _THREADS:
        os.environ.setdefault(var, "1")
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    os.environ["MPLBACKEND"] = "Agg"


def drop_ungradable(sub_dir: Path, found: Inspection) -> None:
    """Remove the notebooks the static checks refused: nbgrader must not choke on them."""
    for p in sub_dir.glob("*.ipynb"):
        if p.stem not in found.notebooks:
            p.unlink()


def run_nbgrader(task: Task, dirs: ChildDirs) -> tuple[bool, str]:
    """nbgrader's autograde of the child's copy; ``(success, error and log text)``."""
    from nbgrader.apps import NbGraderAPI

    # nbgrader copies every file of the assignment's source folder that is not a notebook
    # into the folder where the student's notebook runs ("master versions"); the instructor's
    # source holds the lesson's MyST file with every answer: give it an empty one
    source = dirs.scratch / "nbgrader-source"
    (source / task.assignment).mkdir(parents=True, exist_ok=True)
    config = nbgrader_config(
        dirs.course,
        source,
        f"sqlite:///{dirs.gradebook}",
        limits=task.limits,
        skip_sources=task.demo_sources,
        runtime=dirs.runtime,
    )
    api = NbGraderAPI(config=config)
    for _attempt in range(2):  # a kernel that could not start is the grader's fault: retry
        out = api.autograde(task.assignment, task.student, force=True, create=True)
        text = (out.get("error") or "") + (out.get("log") or "")
        if out.get("success") or not outcome.is_infrastructure(text):
            break
    shutil.rmtree(dirs.runtime, ignore_errors=True)
    return bool(out.get("success")), text


def zero_all(cells: dict[str, CellResult], why: str, reasons: list[str]) -> None:
    """nbgrader could not grade the submission: every cell scores 0, with ``why``."""
    reasons.append(f"{why}: 0 points for this assignment")
    for cell in cells.values():
        cell.auto_score, cell.message = 0.0, cell.message or why


def read_back(task: Task, dirs: ChildDirs, found: Inspection, cells: dict) -> list:
    """Scores, comments and cell errors of a successful autograde; returns the comments."""
    comments = outcome.read_scores(
        dirs.gradebook, task.assignment, task.student, cells, found.notes
    )
    for name in found.notebooks:
        path = autograded_dir(task, dirs) / f"{name}.ipynb"
        if path.exists():
            found.reasons.extend(
                outcome.read_cell_errors(path, name, cells, task.limits, process_limit(task))
            )
    for cell in cells.values():
        cell.passed = cell.auto_score >= cell.max_score > 0
    return comments


def process_limit(task: Task) -> int | None:
    """The sandbox's process limit (processes and threads at once), None without one."""
    policy = task.sandbox or {}
    if policy.get("mode") != "bwrap":
        return None
    return int((policy.get("limits") or {}).get("processes") or 0) or None


def limit_reasons(task: Task, flags: list[str], reasons: list[str]) -> list[str]:
    """The student's reasons for the limits the sandbox saw reached (the process limit, the
    memory limit, the space of /tmp, HOME and /dev/shm), when no cell's error already names
    them (the flags themselves are for the instructor)."""
    lim = (task.sandbox or {}).get("limits") or {}
    out = []
    if any(f.startswith("sandbox: the process limit (") for f in flags) and not any(
        "the process limit (" in r for r in reasons
    ):
        out.append(
            f"your code reached the process limit ({process_limit(task)} processes and "
            "threads at once): the processes and threads beyond it could not start, and "
            "those left running were stopped"
        )
    if any(f.startswith("sandbox: the memory limit (") for f in flags):
        out.append(
            f"your code reached the memory limit ({lim.get('memory_mb')} MB, counting memory "
            "held in files in memory: memfd, /dev/shm, /tmp) and the process that held it "
            "was stopped"
        )
    if _sandbox.TMPFS_FULL_FLAG in flags:
        out.append(
            f"your code filled /tmp, HOME or /dev/shm (at most {lim.get('tmp_mb')} MB and "
            f"{lim.get('tmp_files')} files each): write less, or into your own folder"
        )
    return out


def autograded_of(work: Path, student: str, assignment: str) -> Path:
    """The autograded folder of a submission in the grading child's folder ``work``."""
    return Path(work) / "course" / "autograded" / student / assignment


def autograded_dir(task: Task, dirs: ChildDirs) -> Path:
    return autograded_of(dirs.work, task.student, task.assignment)


def apply_judge(task: Task, dirs: ChildDirs, found: Inspection, cells: dict) -> None:
    """Re-grade the autograded notebooks out of the kernel; zero what only nbgrader passed."""
    verify, _ = engine()
    if verify is None or not task.judged:
        return
    for name in found.notebooks:
        path = autograded_dir(task, dirs) / f"{name}.ipynb"
        if not path.exists():
            continue
        try:
            verdict = verify(
                str(path),
                lesson=task.assignment,
                in_process=True,  # this child is the grader: no judge process to start
                timeout=task.limits.judge_timeout,  # per check call and per cell
                memory_mb=task.limits.memory_mb,
            )
        except Exception as e:  # noqa: BLE001
            found.flags.append(f"{name}: the judge could not run ({type(e).__name__}: {e})")
            continue
        for gid, v in (verdict or {}).items():
            if gid in cells:
                _take_verdict(gid, cells[gid], v, found.reasons)


def _take_verdict(gid: str, cell: CellResult, v: dict, reasons: list[str]) -> None:
    cell.judge = {"passed": bool(v.get("passed")), "message": v.get("message")}
    if cell.auto_score < cell.max_score and not v.get("passed"):
        # a visible assertion failed first in the kernel: its message says what differs,
        # the judge's says where and why (the case, the output, the likely cause)
        cell.add_diagnosis(v.get("message"))
    elif cell.auto_score > 0 and not v.get("passed"):
        # The kernel deferred its hidden tests to the judge, so this is the ordinary way a
        # wrong function loses its points; tampering shows in the scan's flags.
        cell.override = True
        cell.message = f"judge: {v.get('message') or 'failed'}"
        reasons.append(
            f"{gid}: 0 points from the out-of-kernel judge: "
            f"{str(v.get('message') or 'failed')[:200]}"
        )


def bound_autograded(task: Task, folder: Path) -> list[str]:
    """Leave in ``folder`` (what goes into the class's ``autograded/``) only the graded
    notebooks, ``timestamp.txt``, nbgrader's ``submission_secret.txt`` and the files matching
    the run's ``keep`` globs, within the limits' count and total size; remove the rest.
    Returns the note for the student when something was removed: files student code wrote
    are its own business, not the class's."""
    if not folder.is_dir():
        return []
    lim = task.limits
    files, _ = safefiles.walk(folder)  # links were pruned before: regular files only
    graded = {f"{nb}.ipynb" for nb in task.expected} | {"timestamp.txt"}
    secret = folder / SUBMISSION_SECRET
    if secret.is_file() and secret.stat().st_size <= SUBMISSION_SECRET_MAX_BYTES:
        graded.add(SUBMISSION_SECRET)

    def rank(p: Path) -> tuple[int, str]:
        rel = p.relative_to(folder).as_posix()
        return (0 if rel in graded else 1, rel)

    kept, size, dropped = 0, 0, []
    for path in sorted(files, key=rank):
        rel = path.relative_to(folder).as_posix()
        wanted = rel in graded or any(fnmatch.fnmatch(rel, g) for g in task.keep)
        n = path.stat().st_size
        fits = kept < lim.autograded_files and size + n <= lim.autograded_mb * 2**20
        if rel in graded or (wanted and fits):
            kept, size = kept + 1, size + n
            continue
        path.unlink()
        dropped.append(rel)
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()
    if not dropped:
        return []
    return [
        f"{len(dropped)} files the notebook wrote were not kept with the graded notebook "
        f"(only the notebook and the files the assignment declares come back, at most "
        f"{lim.autograded_files} files, {lim.autograded_mb} MB): {', '.join(dropped[:5])}"
        + (", ..." if len(dropped) > 5 else "")
    ]


def grade_in_child(task: Task, dirs: ChildDirs) -> Result:
    """Grade ``task`` in this (forked, limited) process; returns its :class:`Result`."""
    t0 = time.monotonic()
    sub_dir, refused = copy_submission(task, dirs)
    set_environment(task, dirs)
    # this submission's sandbox: the kernel and the sandbox worker started from here use it
    _sandbox.activate(task.sandbox, dirs.scratch / "sandbox", task.assignment)
    found = inspect(task, sub_dir)
    found.reasons[:0] = [*task.notes, *refused]
    found.flags.extend(f"submission: {line}" for line in refused)
    drop_ungradable(sub_dir, found)
    cells = new_cells(task)
    for gid, note in found.notes.items():
        cells[gid].message = note
    status, comments, phases = "graded", [], {}
    if found.notebooks:
        t_nbgrader = time.monotonic()
        success, text = run_nbgrader(task, dirs)
        phases["nbgrader"] = time.monotonic() - t_nbgrader
        outcome.raise_if_infrastructure(success, text)
        if not success:
            status = "error"
            zero_all(cells, outcome.why_nbgrader_failed(text), found.reasons)
        else:
            comments = read_back(task, dirs, found, cells)
            t_judge = time.monotonic()
            apply_judge(task, dirs, found, cells)
            phases["judge"] = time.monotonic() - t_judge
    for cell in cells.values():
        cell.settle()
    found.flags.extend(_sandbox.finish_flags(task.sandbox, found.reasons))
    found.reasons.extend(limit_reasons(task, found.flags, found.reasons))
    left = safefiles.prune(autograded_dir(task, dirs)) if found.notebooks else []
    if left:  # only regular files go back into the class folder
        found.flags.append(
            f"sandbox: removed what student code left that is not a regular "
            f"file (links, FIFOs): {', '.join(left[:5])}"
        )
    found.reasons.extend(bound_autograded(task, autograded_dir(task, dirs)))
    return new_result(
        task,
        status,
        cells,
        comments=comments,
        reasons=found.reasons,
        flags=found.flags,
        seconds=time.monotonic() - t0,
        phases=phases,
    )
