"""The pool process: fork one grading child per submission, limit it, wait, kill, reap.

A pool process is a subreaper: whatever a graded notebook leaves running (a process in its
own session) is re-parented to it and killed after the submission. On SIGTERM (the main
process was interrupted) it kills the grading child's whole tree and removes its folders.
"""

from __future__ import annotations

import ctypes
import os
import resource
import select
import shutil
import signal
import tempfile
import time
import traceback
from pathlib import Path

from autograder import sandbox as _sandbox
from autograder.grading.child import ChildDirs, grade_in_child
from autograder.grading.records import Result, Task, failure
from autograder.grading.sources import engine
from autograder.limits import Limits

_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER = 1, 4, 36
_MB = 1024 * 1024

# What SIGTERM must clean up: the grading child in flight and its folders.
_CURRENT_CHILD: list[int] = []
_CURRENT_DIRS: list[Path] = []


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


def _reap_orphans() -> None:
    """Kill and reap whatever the last submission left running: a process that a student's
    code started in its own session (a busy loop, say) outlives the kernel, and as this
    pool process is a subreaper it is re-parented here, not to init."""
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


def pool_init(sandbox: str = "bwrap") -> None:
    """Initializer of a pool process: the main process handles Ctrl-C, orphans come here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides; see _on_term
    try:
        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except Exception:  # noqa: BLE001
        pass

    def _on_term(signum, frame):
        for pid in _CURRENT_CHILD:
            kill_tree(pid)
        for path in _CURRENT_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        os._exit(1)

    signal.signal(signal.SIGTERM, _on_term)
    _warm_up(sandbox)


def _warm_up(sandbox: str) -> None:
    """Pay once per pool process what every forked child would otherwise pay again: imports,
    the gradebook's ORM set-up, the notebook schema validators, the judge and its checks."""
    import nbformat
    import sqlalchemy.orm
    from nbgrader import api as nbapi  # noqa: F401 (declares the gradebook's mappers)
    from nbgrader.apps import NbGraderAPI  # noqa: F401
    from nbgrader.preprocessors import Execute  # noqa: F401

    sqlalchemy.orm.configure_mappers()
    if sandbox == "bwrap" and _sandbox.probe() is None:  # once here, not in every child
        _sandbox.tmpfs_unshare()
    nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))
    if engine()[0] is not None:
        from IPython.core.inputtransformer2 import TransformerManager  # noqa: F401 (scan)

        from autograder import checks
        from autograder.judge import verdicts  # noqa: F401 (the judge, loaded once here)

        list(checks.lesson_modules())


def quiet() -> None:
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def _set_rlimits(limits: Limits) -> None:
    """Memory, file size and no core dumps, for the grading child and its kernel."""
    mem, fsize = limits.memory_mb * _MB, limits.file_size_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _make_dirs(task: Task) -> ChildDirs:
    work = Path(tempfile.mkdtemp(prefix="sub-", dir=task.workdir))
    # IPC socket paths must stay under ~100 characters: a short private folder in /tmp,
    # made and removed here so that nothing is left behind whatever happens to the child
    runtime = tempfile.mkdtemp(prefix="rnnk-", dir="/tmp" if os.path.isdir("/tmp") else None)
    # the child's throwaway gradebook copy: in memory where possible, since nbgrader commits
    # (and so syncs to disk) after every cell's grade
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    scratch = tempfile.mkdtemp(prefix="rnndb-", dir=shm)
    return ChildDirs(work, Path(runtime), Path(scratch))


def _child_main(task: Task, dirs: ChildDirs) -> None:
    """The forked grading child: never returns; its result is ``work/result.json``."""
    code = 1
    try:
        os.setsid()
        try:
            libc = ctypes.CDLL(None)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            # not dumpable: the judge runs in this process, so the student's kernel and
            # sandbox worker (same user) must not read or ptrace its memory
            libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
        except Exception:  # noqa: BLE001
            pass
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _set_rlimits(task.limits)
        quiet()
        os.chdir(dirs.work)
        result = grade_in_child(task, dirs)
        tmp = dirs.work / "result.part"
        tmp.write_text(result.to_json())
        tmp.rename(dirs.work / "result.json")
        code = 0
    except BaseException:  # noqa: BLE001
        try:
            (dirs.work / "child_error.txt").write_text(traceback.format_exc())
        except BaseException:  # noqa: BLE001
            pass
    finally:
        os._exit(code)


def _wait(pid: int, wall: float, t0: float) -> str | None:
    """Wait for the grading child; kill its tree after ``wall`` seconds (returns why)."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return None
            if time.monotonic() - t0 > wall:
                kill_tree(pid)
                os.waitpid(pid, 0)
                return f"time limit: grading took more than {wall} s and was stopped"
            if pidfd is None:
                time.sleep(0.05)
            else:  # woken the moment the child exits
                select.select([pidfd], [], [], 1.0)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _collect(task: Task, dirs: ChildDirs, why: str | None, t0: float) -> Result:
    """The child's result, or the failure its error file (or the limit) explains."""
    result_file, error_file = dirs.work / "result.json", dirs.work / "child_error.txt"
    if why is None and result_file.exists():
        result = Result.from_json(result_file.read_text())
    elif why is None:
        err = error_file.read_text() if error_file.exists() else ""
        last = err.strip().splitlines()[-1][:300] if err.strip() else ""
        if "InfrastructureError" in err:
            result = failure(task, last, time.monotonic() - t0, status="infra")
        elif "MemoryError" in err:
            why = f"memory limit ({task.limits.memory_mb} MB) exceeded by the grading process"
        elif err:
            why = f"grading failed: {last}"
        else:
            why = "the grading process died (memory limit or a crash)"
    if why is not None:
        result = failure(task, why, time.monotonic() - t0)
    result.workdir = str(dirs.work)
    return result


def grade_task(task: Task) -> Result:
    """Grade one submission in a forked, limited grading child; never raises for student
    faults. Runs in a pool process."""
    t0 = time.monotonic()
    dirs = _make_dirs(task)
    _CURRENT_DIRS[:] = [dirs.runtime, dirs.scratch]
    wall = task.limits.grading_child_seconds(len(task.expected), task.judged)
    pid = os.fork()
    if pid == 0:
        _child_main(task, dirs)
    _CURRENT_CHILD[:] = [pid]
    try:
        why = _wait(pid, wall, t0)
        _reap_orphans()
    finally:
        _CURRENT_CHILD.clear()
        _sandbox.release_cgroups(pid)  # a killed child's sandboxes leave nothing behind
        for path in (dirs.runtime, dirs.scratch):
            shutil.rmtree(path, ignore_errors=True)
        _CURRENT_DIRS.clear()
    return _collect(task, dirs, why, t0)
