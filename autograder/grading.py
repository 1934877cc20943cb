"""Autograde a class: parallel, limited, interruptible, and with one gradebook writer.

Design (see also :mod:`autograder.gradebook`):

* The main process lists the submissions (``submitted/<student>/<assignment>/``), skips those
  whose files are unchanged since they were stored (unless ``force``), copies the assignment
  structure into a template SQLite gradebook, and hands one task per submission to N worker
  processes.
* A worker forks one child per submission. The child starts a new session, gets
  ``RLIMIT_AS`` (memory), ``RLIMIT_FSIZE`` and ``RLIMIT_CORE`` limits (inherited by the
  kernel it starts), checks the notebooks statically, runs nbgrader's autograde against a
  private copy of the template gradebook in a private course folder (kernels talk over IPC
  sockets in a private runtime folder: no TCP port races), then the engine's out-of-kernel
  judge (:func:`autograder.checks.verify_notebook`), and writes a JSON result. The worker
  kills the child and every process below it when the wall-clock limit is reached.
* The main process alone writes results into the class gradebook, one transaction per
  submission, then moves the autograded notebooks into ``autograded/``. An interrupted run
  loses only the submissions in flight; the next run grades them.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import hashlib
import json
import multiprocessing as mp
import os
import re
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder import gradebook
from autograder import sandbox as _sandbox
from autograder.checks import DEFERRED_ENV
from autograder.checks import normalized as _norm
from autograder.settings import COURSE_ID, Settings

HIDDEN_RE = re.compile(
    r"^\s*### BEGIN HIDDEN TESTS.*?^\s*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S
)


# Failures of the grading machinery, not of the submission: never stored as a grade.
INFRA_RE = re.compile(r"ZMQError[^\n]*|Address already in use|Kernel didn't respond[^\n]*")


class InfrastructureError(RuntimeError):
    pass


@dataclass
class Limits:
    cell_timeout: int = 60  # seconds per cell
    notebook_timeout: int = 300  # seconds per notebook (kernel start included)
    memory_mb: int = 4096  # address space of the grading process and its kernel
    max_output_chars: int = 20000  # per cell
    judge_timeout: int = 10  # seconds per call of a student function in the out-of-kernel judge
    file_size_mb: int = 512  # largest file student code may write


# ---------------------------------------------------------------------------------------
# helpers shared by the main process and the children


def files_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and ".ipynb_checkpoints" not in p.parts:
            h.update(str(p.relative_to(folder)).encode() + b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def strip_hidden(source: str) -> str:
    return HIDDEN_RE.sub("", source)


def _engine():
    """The grading engine's (verify_notebook, scan), or (None, None) before it exists."""
    try:
        from autograder import checks
    except ImportError:
        return None, None
    return getattr(checks, "verify_notebook", None), getattr(checks, "scan", None)


def judge_covers(assignment: str) -> bool:
    """Whether the engine's judge knows the assignment's checks (the course's lessons do)."""
    try:
        from autograder.checks import grade_cells

        return any(fns for _, fns in grade_cells(assignment).values())
    except Exception:  # noqa: BLE001 (no engine, or not one of its lessons)
        return False


# ---------------------------------------------------------------------------------------
# the child: one submission


def _quiet() -> None:
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def _set_limits(limits: Limits) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb * mb, limits.file_size_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _static_checks(sub_dir: Path, task: dict) -> tuple[dict, list[str], list[str], dict]:
    """Read and check the submitted notebooks before anything runs.

    Returns ``(notebooks, reasons, flags, cell_notes)``: the parsed notebooks to grade by
    name, reasons for the feedback, tamper flags, and ``{grade_id: note}`` for test cells that
    were deleted or edited.
    """
    import nbformat

    structure = task["structure"]  # {assignment: {notebook: {grade_id: max}}}
    expected = structure[task["assignment"]]
    owner = {gid: a for a, nbs in structure.items() for cells in nbs.values() for gid in cells}
    sources = task["test_sources"]  # {grade_id: release source of the test cell}
    notebooks, reasons, flags, notes = {}, [], [], {}
    # the instructor's own cells, as released, are not the student's (lesson 02's read-only
    # cell imports rnnref.rnn on purpose): the tamper scan leaves them out
    released = {_norm(src) for src in sources.values()}
    released.update(task.get("demo_sources", {}).get(task["assignment"], []))
    present = {p.stem: p for p in sub_dir.glob("*.ipynb")}
    for name in sorted(set(present) - set(expected)):
        reasons.append(f"{name}.ipynb is not a notebook of {task['assignment']}: ignored")
    _, scan = _engine()
    for name in sorted(expected):
        path = present.get(name)
        if path is None:
            reasons.append(f"{name}.ipynb missing: 0 points for its tests")
            for gid in expected[name]:
                notes[gid] = "notebook missing"
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as e:  # noqa: BLE001 (any unreadable file is the student's 0)
            reasons.append(f"{name}.ipynb could not be read ({type(e).__name__}): 0 points")
            for gid in expected[name]:
                notes[gid] = "notebook unreadable (malformed JSON)"
            continue
        seen = {}
        for cell in nb.cells:
            md = cell.get("metadata", {}).get("nbgrader", {}) or {}
            gid = md.get("grade_id")
            if gid:
                seen[gid] = cell
        foreign = {owner[g] for g in seen if g in owner and owner[g] != task["assignment"]}
        if foreign and not set(seen) & set(expected[name]):
            reasons.append(
                f"{name}.ipynb is a notebook of {', '.join(sorted(foreign))}, "
                f"not of {task['assignment']}: 0 points"
            )
            for gid in expected[name]:
                notes[gid] = "wrong assignment's notebook"
            continue
        for gid in expected[name]:
            cell = seen.get(gid)
            if cell is None:
                notes[gid] = "test cell deleted"
                reasons.append(f"test cell {gid} was deleted: 0 points for it")
            elif gid in sources and (
                cell.cell_type != "code" or _norm(cell.source) != _norm(sources[gid])
            ):
                notes[gid] = "test cell edited (restored from the source before grading)"
                reasons.append(f"test cell {gid} was edited: graded with the original test")
        if scan is not None:
            student_code = "\n\n".join(
                c.source
                for c in nb.cells
                if c.cell_type == "code"
                and not (c.get("metadata", {}).get("nbgrader", {}) or {}).get("grade")
                and _norm(c.source) not in released
            )
            try:
                flags.extend(f"{name}: {f}" for f in scan(student_code))
            except Exception as e:  # noqa: BLE001
                flags.append(f"{name}: tamper scan failed ({type(e).__name__}: {e})")
        notebooks[name] = nb
    return notebooks, reasons, flags, notes


def _error_message(cell, limits: Limits) -> str | None:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    # a timed-out cell is interrupted (KeyboardInterrupt) and then gets CellTimeoutError
    if any(o.get("ename") == "CellTimeoutError" for o in errors):
        errors = [o for o in errors if o.get("ename") == "CellTimeoutError"]
    for out in errors:
        if out.get("output_type") == "error":
            ename = out.get("ename", "Error")
            if ename == "CellTimeoutError" or (
                ename == "KeyboardInterrupt" and not out.get("evalue")
            ):
                return (
                    f"CellTimeoutError: stopped after {limits.cell_timeout} s (time limit per cell)"
                )
            if ename == "NotebookTimeoutError":
                return f"{ename}: {out.get('evalue', '')} (time limit per notebook)"
            if ename == "MemoryError":
                return f"MemoryError: memory limit ({limits.memory_mb} MB) reached"
            return f"{ename}: {out.get('evalue', '')}".strip()[:1000]
    return None


def _grade_in_child(task: dict, work: Path, limits: Limits) -> dict:
    """Runs in the forked child, under the limits. Returns the result dict."""
    import nbformat
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    t0 = time.monotonic()
    student, assignment = task["student"], task["assignment"]
    expected = task["structure"][assignment]
    root = work / "course"
    sub_dir = root / "submitted" / student / assignment
    shutil.copytree(task["submitted"], sub_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    db = Path(task["scratch"]) / "gb.sqlite"
    shutil.copyfile(task["template"], db)
    runtime = Path(task["runtime"])
    for var in list(os.environ):
        if var.startswith(("RNN_", "NBGRADER_")):
            del os.environ[var]
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    if task.get("judge"):
        # verify_notebook below is the authority for these lessons: the kernel's hidden-test
        # calls skip their own judge run (it would cost ~1 s per graded function).
        os.environ[DEFERRED_ENV] = "1"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    # Figures are not drawn while grading: the inline backend would render every figure to
    # PNG (0.1-0.5 s each) for a feedback page that shows test results, not plots.
    os.environ["MPLBACKEND"] = "Agg"
    # --- sandbox hook: this submission's bwrap sandbox (kernel and judge's worker) ---
    box = _sandbox.activate(task.get("sandbox"), Path(task["scratch"]) / "sandbox", assignment)

    notebooks, reasons, flags, notes = _static_checks(sub_dir, task)
    reasons[:0] = task.get("notes", [])
    for p in sub_dir.glob("*.ipynb"):
        if p.stem not in notebooks:
            p.unlink()  # unreadable, foreign or unknown: nbgrader must not choke on it

    cells = {
        gid: {"notebook": nb, "auto_score": 0.0, "max_score": mx, "passed": False, "message": None}
        for nb, gids in expected.items()
        for gid, mx in gids.items()
    }
    for gid, note in notes.items():
        cells[gid]["message"] = note
    comments: list = []
    phases: dict[str, float] = {}
    status = "graded"
    autograded = root / "autograded" / student / assignment
    if notebooks:
        c = Config()
        c.CourseDirectory.course_id = COURSE_ID
        c.CourseDirectory.root = str(root)
        c.CourseDirectory.source_directory = task["source"]
        c.CourseDirectory.db_url = f"sqlite:///{db}"
        c.Autograde.autograde_preprocessors = [
            "autograder.limited_execute.LimitedExecute",
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata",
        ]
        c.Execute.timeout = limits.cell_timeout
        c.LimitedExecute.timeout = limits.cell_timeout
        c.LimitedExecute.notebook_timeout = limits.notebook_timeout
        c.LimitedExecute.max_output_chars = limits.max_output_chars
        c.LimitedExecute.skip_sources = task.get("demo_sources", {}).get(assignment, [])
        # the kernel is killed once the last cell has run (a polite shutdown waits ~0.4 s)
        c.LimitedExecute.shutdown_kernel = "immediate"
        c.KernelManager.transport = "ipc"
        c.KernelManager.ip = str(runtime / "k")
        if box is not None:  # --- sandbox hook: the kernel starts inside bwrap ---
            c.LimitedExecute.kernel_manager_class = "autograder.sandbox.SandboxedKernelManager"
        api = NbGraderAPI(config=c)
        t_nbgrader = time.monotonic()
        for _attempt in range(2):  # a kernel that could not start is the grader's fault: retry
            out = api.autograde(assignment, student, force=True, create=True)
            text = (out.get("error") or "") + (out.get("log") or "")
            if out.get("success") or not INFRA_RE.search(text):
                break
        shutil.rmtree(runtime, ignore_errors=True)
        phases["nbgrader"] = time.monotonic() - t_nbgrader
        if not out.get("success") and INFRA_RE.search(text):
            raise InfrastructureError(f"kernel could not start: {INFRA_RE.search(text).group(0)}")
        if not out.get("success"):
            status = "error"
            if "DeadKernelError" in text or "Kernel died" in text:
                why = (
                    "the kernel died while running the notebook "
                    "(os._exit, a crash or the memory limit)"
                )
            elif "CellTimeoutError" in text or "TimeoutError" in text:
                why = "the kernel stopped answering (time limit)"
            else:
                lines = [
                    ln.strip()
                    for ln in text.splitlines()
                    if re.search(r"\w(Error|Exception|Entry)\b", ln) and "above traceback" not in ln
                ]
                why = f"nbgrader could not grade it: {(lines or ['unknown error'])[-1][:300]}"
            reasons.append(f"{why}: 0 points for this assignment")
            for cell in cells.values():
                cell["auto_score"], cell["message"] = 0.0, cell["message"] or why
        else:
            from nbgrader.api import Gradebook

            with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
                sub = gb.find_submission(assignment, student)
                for nb in sub.notebooks:
                    for g in nb.grades:
                        if (
                            g.name in cells
                            and g.name not in notes
                            or (g.name in notes and notes[g.name].startswith("test cell edited"))
                        ):
                            cell = cells[g.name]
                            cell["auto_score"] = float(g.auto_score or 0.0)
                            cell["needs_manual_grade"] = bool(
                                g.needs_manual_grade and g.auto_score is None
                            )
                    for cm in nb.comments:
                        comments.append([nb.name, cm.name, cm.auto_comment])
            for name in notebooks:
                path = autograded / f"{name}.ipynb"
                if not path.exists():
                    continue
                graded = nbformat.read(path, as_version=4)
                student_errors = []
                for i, cell in enumerate(graded.cells):
                    if cell.cell_type != "code":
                        continue
                    md = cell.get("metadata", {}).get("nbgrader", {}) or {}
                    msg = _error_message(cell, limits)
                    gid = md.get("grade_id")
                    if gid in cells and md.get("grade"):
                        if msg:
                            cells[gid]["message"] = msg
                            if "time limit" in msg:
                                reasons.append(f"{gid}: {msg}")
                    elif msg and not msg.startswith("NotebookTimeoutError"):
                        student_errors.append(f"{name}.ipynb cell {i + 1} raised {msg[:200]}")
                reasons.extend(student_errors[:5])
                if len(student_errors) > 5:
                    reasons.append(f"... and {len(student_errors) - 5} more cells with errors")
            for cell in cells.values():
                cell["passed"] = cell["auto_score"] >= cell["max_score"] > 0
            t_judge = time.monotonic()
            _judge(task, autograded, notebooks, cells, reasons, flags, limits)
            phases["judge"] = time.monotonic() - t_judge

    for cell in cells.values():
        cell["score"] = 0.0 if cell.get("override") else cell["auto_score"]
    flags.extend(_sandbox.finish_flags(task.get("sandbox"), reasons))  # --- sandbox hook ---
    return {
        "student": student,
        "assignment": assignment,
        "files_hash": task["files_hash"],
        "timestamp": task.get("timestamp"),
        "status": status,
        "cells": cells,
        "comments": comments,
        "reasons": reasons,
        "flags": flags,
        "score": sum(c["score"] for c in cells.values()),
        "max_score": sum(c["max_score"] for c in cells.values()),
        "seconds": time.monotonic() - t0,
        "phases": phases,
    }


def _judge(task, autograded: Path, notebooks, cells, reasons, flags, limits: Limits) -> None:
    """Re-grade the autograded notebooks out of the kernel; zero what only nbgrader passed."""
    verify, _ = _engine()
    if verify is None or not task.get("judge"):
        return
    for name in notebooks:
        path = autograded / f"{name}.ipynb"
        if not path.exists():
            continue
        try:
            verdict = verify(
                str(path),
                lesson=task["assignment"],
                in_process=True,  # this child is the grader: no second interpreter to start
                timeout=limits.judge_timeout,  # per check call and per cell
                memory_mb=limits.memory_mb,
            )
        except Exception as e:  # noqa: BLE001
            flags.append(f"{name}: the judge could not run ({type(e).__name__}: {e})")
            continue
        for gid, v in (verdict or {}).items():
            cell = cells.get(gid)
            if cell is None:
                continue
            cell["judge"] = {"passed": bool(v.get("passed")), "message": v.get("message")}
            if cell["auto_score"] > 0 and not v.get("passed"):
                # The kernel deferred its hidden tests to the judge, so this is the ordinary
                # way a wrong function loses its points; tampering shows in the scan's flags.
                cell["override"] = True
                cell["message"] = f"judge: {v.get('message') or 'failed'}"
                reasons.append(
                    f"{gid}: 0 points from the out-of-kernel judge: "
                    f"{str(v.get('message') or 'failed')[:200]}"
                )


# ---------------------------------------------------------------------------------------
# the worker: fork, limit, wait, kill


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _kill_all(pids) -> None:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def kill_tree(pid: int) -> None:
    _kill_all([pid, *_descendants(pid)])


_CURRENT_CHILD: list[int] = []
_CURRENT_RUNTIME: list[str] = []


def _reap_orphans() -> None:
    """Kill and reap whatever the last submission left running: a process that a student's
    code started in its own session (a busy loop, say) outlives the kernel, and as this
    worker is a subreaper it is re-parented here, not to init."""
    for _ in range(100):
        rest = _descendants(os.getpid())
        if not rest:
            return
        _kill_all(rest)
        for p in rest:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:  # not (yet) re-parented to this process
                pass
        time.sleep(0.01)


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides; see _on_term
    try:  # PR_SET_CHILD_SUBREAPER: orphans of a graded notebook become this worker's
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
    except Exception:  # noqa: BLE001
        pass

    def _on_term(signum, frame):
        for pid in _CURRENT_CHILD:
            kill_tree(pid)
        for path in _CURRENT_RUNTIME:
            shutil.rmtree(path, ignore_errors=True)
        os._exit(1)

    signal.signal(signal.SIGTERM, _on_term)
    _warm_up()


def _warm_up() -> None:
    """Pay once per worker what every forked child would otherwise pay again: imports, the
    gradebook's ORM set-up, the notebook schema validators, the judge and its lesson checks."""
    import nbformat
    import sqlalchemy.orm
    from nbgrader import api as nbapi  # noqa: F401 (declares the gradebook's mappers)
    from nbgrader.apps import NbGraderAPI  # noqa: F401
    from nbgrader.preprocessors import Execute  # noqa: F401

    sqlalchemy.orm.configure_mappers()
    nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))
    if _engine()[0] is not None:
        from IPython.core.inputtransformer2 import TransformerManager  # noqa: F401 (scan)

        from autograder.checks import judge

        list(judge.lesson_modules())


def _failure(task: dict, why: str, t0: float) -> dict:
    cells = {
        gid: {
            "notebook": nb,
            "auto_score": 0.0,
            "max_score": mx,
            "score": 0.0,
            "passed": False,
            "message": why,
        }
        for nb, gids in task["structure"][task["assignment"]].items()
        for gid, mx in gids.items()
    }
    return {
        "student": task["student"],
        "assignment": task["assignment"],
        "files_hash": task["files_hash"],
        "timestamp": task.get("timestamp"),
        "status": "killed",
        "cells": cells,
        "comments": [],
        "reasons": [f"{why}: 0 points for this assignment"],
        "flags": [],
        "score": 0.0,
        "max_score": sum(c["max_score"] for c in cells.values()),
        "seconds": time.monotonic() - t0,
    }


def grade_task(task: dict) -> dict:
    """Grade one submission in a forked, limited child; never raises for student faults."""
    limits = Limits(**task["limits"])
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="sub-", dir=task["workdir"]))
    result_file = work / "result.json"
    # IPC socket paths must stay under ~100 characters: a short private folder in /tmp,
    # made and removed here so that nothing is left behind whatever happens to the child
    runtime = tempfile.mkdtemp(prefix="rnnk-", dir="/tmp" if os.path.isdir("/tmp") else None)
    # the child's throwaway gradebook copy: in memory where possible, since nbgrader commits
    # (and so syncs to disk) after every cell's grade
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    scratch = tempfile.mkdtemp(prefix="rnndb-", dir=shm)
    task = {**task, "runtime": runtime, "scratch": scratch}
    _CURRENT_RUNTIME[:] = [runtime, scratch]
    n_nb = max(1, len(task["structure"][task["assignment"]]))
    judge = 120 + 40 * limits.judge_timeout if task.get("judge") else 0  # the engine's own cap
    wall = n_nb * (limits.notebook_timeout + judge) + 60
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.setsid()
            try:
                libc = ctypes.CDLL(None)
                libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
                # PR_SET_DUMPABLE 0: the judge runs in this process, so the student's kernel
                # and worker (same user) must not read or ptrace its memory
                libc.prctl(4, 0, 0, 0, 0)
            except Exception:  # noqa: BLE001
                pass
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _set_limits(limits)
            _quiet()
            os.chdir(work)
            result = _grade_in_child(task, work, limits)
            tmp = result_file.with_suffix(".part")
            tmp.write_text(json.dumps(result))
            tmp.rename(result_file)
            code = 0
        except BaseException:  # noqa: BLE001
            try:
                (work / "child_error.txt").write_text(traceback.format_exc())
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)
    _CURRENT_CHILD[:] = [pid]
    why = None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - t0 > wall:
                kill_tree(pid)
                os.waitpid(pid, 0)
                why = f"time limit: grading took more than {wall} s and was stopped"
                break
            if pidfd is None:
                time.sleep(0.05)
            else:  # woken the moment the child exits
                select.select([pidfd], [], [], 1.0)
        _reap_orphans()
    finally:
        if pidfd is not None:
            os.close(pidfd)
        _CURRENT_CHILD.clear()
        _sandbox.release_cgroups(pid)  # --- sandbox hook: nothing of its sandboxes is left ---
        for path in (runtime, scratch):
            shutil.rmtree(path, ignore_errors=True)
        _CURRENT_RUNTIME.clear()
    if why is None and result_file.exists():
        result = json.loads(result_file.read_text())
        result["workdir"] = str(work)
        return result
    if why is None:
        err = (work / "child_error.txt").read_text() if (work / "child_error.txt").exists() else ""
        if "InfrastructureError" in err:
            result = _failure(task, err.strip().splitlines()[-1][:300], t0)
            result.update(status="infra", workdir=str(work))
            return result
        if "MemoryError" in err:
            why = f"memory limit ({limits.memory_mb} MB) exceeded by the grading process"
        elif err:
            why = f"grading failed: {err.strip().splitlines()[-1][:300]}"
        else:
            why = "the grading process died (memory limit or a crash)"
    result = _failure(task, why, t0)
    result["workdir"] = str(work)
    return result


# ---------------------------------------------------------------------------------------
# the main process


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


def _demo_sources(folder: Path) -> list[str]:
    """The demo cells of an assignment's source notebooks (not run while grading)."""
    from autograder.checks import demo_sources

    return sorted({s for nb in sorted(folder.glob("*.ipynb")) for s in demo_sources(nb)})


def _test_sources(db_url: str) -> dict[str, str]:
    """``{grade_id: source as released}`` of the autograded test cells."""
    from nbgrader import api as nbapi

    out = {}
    with gradebook.open_gradebook(db_url) as gb:
        for cell in gb.db.query(nbapi.SourceCell).filter(nbapi.SourceCell.locked.is_(True)):
            out[cell.name] = strip_hidden(cell.source)
    return out


def _install(settings: Settings, result: dict) -> None:
    """Move the child's autograded folder into the class folder (replacing an old one)."""
    work = Path(result.get("workdir", ""))
    src = work / "course" / "autograded" / result["student"] / result["assignment"]
    dest = settings.autograded / result["student"] / result["assignment"]
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


@dataclass
class RunReport:
    graded: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: list | None = None
    seconds: float = 0.0
    per_notebook: list | None = None
    not_graded: list | None = None


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
) -> RunReport:
    from tqdm import tqdm

    _sandbox.require(sandbox)  # --- sandbox hook: stop here when bwrap cannot run ---
    if sandbox == "none":
        log(f"WARNING: every submission of this run is {_sandbox.UNSANDBOXED}")
    _quiet()
    t_start = time.monotonic()
    limits = limits or Limits()
    report = RunReport(unknown=[], per_notebook=[], not_graded=[])
    structure = gradebook.structure(settings.db_url)
    stored = gradebook.done(settings.db_url)
    tasks = []
    for student, assignment, folder in find_submissions(settings):
        if students and student not in students or assignments and assignment not in assignments:
            continue
        if assignment not in structure:
            report.unknown.append(f"{student}/{assignment}: no such assignment in the gradebook")
            continue
        fh = files_hash(folder)
        if not force and stored.get((student, assignment)) == fh:
            report.skipped += 1
            continue
        ts_file = folder / "timestamp.txt"
        note_file = settings.course / "collect_notes" / student / f"{assignment}.json"
        notes = json.loads(note_file.read_text()) if note_file.exists() else []
        tasks.append(
            {
                "student": student,
                "assignment": assignment,
                "submitted": str(folder),
                "files_hash": fh,
                "timestamp": ts_file.read_text().strip() if ts_file.exists() else None,
                "notes": notes,
            }
        )
    for msg in report.unknown:
        log(f"cannot place: {msg}")
    if not tasks:
        report.seconds = time.monotonic() - t_start
        return report

    settings.course.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=".autograde-", dir=settings.course))
    try:
        template = run_dir / "template.sqlite"
        gradebook.make_template(settings.db_url, str(template))
        common = {
            "template": str(template),
            "structure": structure,
            "test_sources": _test_sources(settings.db_url),
            "demo_sources": {
                a: _demo_sources(settings.source / a) for a in {t["assignment"] for t in tasks}
            },
            "source": str(settings.source),
            "workdir": str(run_dir),
            "limits": asdict(limits),
            "sandbox": _sandbox.policy_for(settings, sandbox, limits.file_size_mb),  # sandbox hook
        }
        judged = {a: judge_covers(a) for a in {t["assignment"] for t in tasks}}
        tasks = [{**common, **t, "judge": judged[t["assignment"]]} for t in tasks]
        ctx = mp.get_context("spawn")
        bar = tqdm(
            total=len(tasks), desc="autograde", unit="nb", disable=not progress, file=sys.stderr
        )
        ex = cf.ProcessPoolExecutor(
            max_workers=max(1, workers), mp_context=ctx, initializer=_worker_init
        )
        futures = [ex.submit(grade_task, t) for t in tasks]
        interrupted = False
        try:
            with gradebook.open_gradebook(settings.db_url) as gb:
                for fut in cf.as_completed(futures):
                    try:
                        result = fut.result()
                    except Exception as e:  # noqa: BLE001 (a broken worker: report, go on)
                        report.failed += 1
                        log(f"worker failed: {type(e).__name__}: {e}")
                        bar.update(1)
                        continue
                    if result["status"] == "infra":  # not the student's fault: no grade
                        report.not_graded.append(f"{result['student']}/{result['assignment']}")
                        log(
                            f"NOT GRADED {result['student']}/{result['assignment']}: "
                            f"{result['reasons'][0]} (run again)"
                        )
                        bar.update(1)
                        continue
                    _install(settings, result)
                    gradebook.store_result(gb, result)
                    shutil.rmtree(result.get("workdir", ""), ignore_errors=True)
                    report.graded += 1
                    report.per_notebook.append(
                        result["seconds"] / max(1, len(structure[result["assignment"]]))
                    )
                    if result["status"] != "graded":
                        report.failed += 1
                    bar.set_postfix_str(f"{result['student']}/{result['assignment']}")
                    bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
            log("interrupted: results stored so far are kept; run again to grade the rest")
        finally:
            bar.close()
            if interrupted:
                for f in futures:
                    f.cancel()
                for p in list(getattr(ex, "_processes", {}).values()):
                    p.terminate()
            ex.shutdown(wait=True, cancel_futures=True)
        if interrupted:
            raise KeyboardInterrupt
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    report.seconds = time.monotonic() - t_start
    return report
