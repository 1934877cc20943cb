"""Grading through a Dask cluster (``autograde --scheduler ADDRESS``): the same
:func:`~.supervise.grade_task`, on workers that share no folder with the main process.

What crosses the network is data only. A :class:`RemoteTask` is the :class:`~.records.Task`
with the files it names, as bytes: the submission's files, and (scattered once per run, not
once per task) the run's gradebook template and the assignment's source folder. On a Dask
worker, :func:`grade_remote` writes them into a scratch folder, points the task at it and
runs ``grade_task`` in the worker's pool process (:class:`GradingPool`: the same warm,
spawned pool process with :func:`~.supervise.pool_init` as the local run, so a student's
notebook never runs in the Dask worker itself). A :class:`RemoteReply` brings back the
:class:`~.records.Result` and the child's autograded folder as bytes; the main process
unpacks it into its run folder and stores it exactly as a local result: it stays the only
writer of the gradebook. The worker image is the project's environment (its ``solutions/``
are the judge's trusted source, as on the main machine) with bubblewrap.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from autograder import safefiles
from autograder.grading.child import autograded_of
from autograder.grading.outcome import ClusterUnavailable
from autograder.grading.records import Result, Task, failure

PLUGIN = "rnn-grading-pool"
# What a retried task may cost: a submission that kills this many workers is that
# student's failure, not retried again (Dask's KilledWorker after the scheduler's
# allowed-failures).
KILLED_REASON = (
    "the grading worker died {n} times while grading this submission (a notebook that "
    "kills its machine?); it was not graded"
)

# A worker under a nanny is a daemonic process, which may not start the pool process.
DAEMON_WORKER = (
    "this Dask worker is a daemonic process and cannot start the grading pool process: "
    "start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False in their environment "
    "(or distributed.worker.daemon: false in their Dask configuration)"
)

Files = dict[str, bytes]


def pack_folder(folder: Path, skip=()) -> Files:
    """``{relative path: bytes}`` of the regular files under ``folder`` (links, FIFOs and
    devices are not followed or sent; names matching a ``skip`` glob are left out)."""
    import fnmatch

    files, _refused = safefiles.walk(Path(folder))
    out = {}
    for path in files:
        rel = path.relative_to(folder)
        if not any(fnmatch.fnmatch(part, s) for part in rel.parts for s in skip):
            out[rel.as_posix()] = safefiles.read_bytes(path)
    return out


def unpack_folder(files: Files, folder: Path) -> Path:
    """Write ``files`` under ``folder`` (a path that leaves it is refused)."""
    folder = Path(folder)
    for rel, data in files.items():
        path = (folder / rel).resolve()
        if folder.resolve() not in path.parents:
            raise ValueError(f"a packed file leaves its folder: {rel!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


@dataclass(frozen=True)
class RemoteTask:
    """A :class:`Task` whose paths are filled in on the worker; ``submitted`` its files."""

    task: Task
    submitted: Files


@dataclass(frozen=True)
class Shared:
    """What every task of an assignment shares: sent to the workers once per run."""

    template: bytes
    source: Files  # the assignment's folder of the instructor's source


@dataclass(frozen=True)
class RemoteReply:
    result: Result
    autograded: Files  # the child's autograded folder of this submission


def shared_of(task: Task, skip=()) -> Shared:
    source = Path(task.source) / task.assignment
    return Shared(Path(task.template).read_bytes(), pack_folder(source, skip))


def pack(task: Task) -> RemoteTask:
    return RemoteTask(task, pack_folder(Path(task.submitted)))


def _autograded(result: Result) -> Path:
    return autograded_of(Path(result.workdir), result.student, result.assignment)


def grade_remote(remote: RemoteTask, shared: Shared) -> RemoteReply:
    """On a Dask worker: grade one submission in the worker's pool process."""
    from distributed import get_worker

    pool = get_worker().plugins[PLUGIN].pool
    task = remote.task
    with tempfile.TemporaryDirectory(prefix="rnn-remote-") as tmp:
        base = Path(tmp)
        unpack_folder(shared.source, base / "source" / task.assignment)
        (base / "template.sqlite").write_bytes(shared.template)
        submitted = unpack_folder(remote.submitted, base / "submitted")
        (base / "work").mkdir()
        local = dataclasses.replace(
            task,
            submitted=str(submitted),
            template=str(base / "template.sqlite"),
            source=str(base / "source"),
            workdir=str(base / "work"),
        )
        from autograder.grading.supervise import grade_task

        result = pool.submit(grade_task, local).result()
        folder = _autograded(result)
        files = pack_folder(folder) if folder.is_dir() else {}
        result.workdir = ""
        return RemoteReply(result, files)


def unpack(remote: RemoteReply, run_dir: Path) -> Result:
    """The result as the main process stores it: its autograded folder in ``run_dir``."""
    result = remote.result
    result.workdir = tempfile.mkdtemp(prefix="sub-", dir=run_dir)
    if remote.autograded:
        unpack_folder(remote.autograded, _autograded(result))
    return result


def _pool_process_init(sandbox: str) -> None:
    """A pool process of a Dask worker: as the local pool's, and it ends (killing its
    grading child) when the worker does, however the worker ends."""
    import ctypes
    import signal

    from autograder.grading.supervise import pool_init

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    pool_init(sandbox)


def _ready() -> bool:
    return True


class GradingPool(WorkerPlugin):
    """Dask worker plugin: one warm pool process per worker thread, as the local run has."""

    name = PLUGIN

    def __init__(self, sandbox: str = "bwrap"):
        self.sandbox = sandbox
        self.pool = None

    def setup(self, worker):
        import concurrent.futures as cf
        import multiprocessing as mp

        if mp.current_process().daemon:
            raise RuntimeError(DAEMON_WORKER)
        slots = max(1, worker.state.nthreads)
        self.pool = cf.ProcessPoolExecutor(
            max_workers=slots,
            mp_context=mp.get_context("spawn"),
            initializer=_pool_process_init,
            initargs=(self.sandbox,),
        )
        # started (and warmed up) here, by the worker's own thread, which lives as long as
        # the worker: a pool process ends when the thread that started it does
        for started in [self.pool.submit(_ready) for _ in range(slots)]:
            started.result()

    def teardown(self, worker):
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def _killed(task: Task, exc, run_dir: Path) -> Result:
    """The failure of a submission whose workers all died grading it (``KilledWorker``)."""
    result = failure(task, KILLED_REASON.format(n=exc.allowed_failures + 1), 0.0)
    result.workdir = tempfile.mkdtemp(prefix="sub-", dir=run_dir)
    return result


def _workers(client) -> set[str]:
    return set(client.scheduler_info(n_workers=-1)["workers"])


def grade_on_cluster(
    address: str, tasks: list[Task], sandbox: str, run_dir: Path, skip=(), log=print
):
    """Grade ``tasks`` through the Dask scheduler at ``address``; yields each result as it
    finishes (a submission that killed its workers is that student's failure). A worker that
    leaves or joins the cluster during the run is a line of ``log``: the scheduler gives the
    task it was grading to another worker."""
    import logging

    import dask

    # a lost scheduler is reported once, by ClusterUnavailable: not by the client's own log
    logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    try:  # the connect timeout of the Dask configuration (30 s by default)
        client = Client(address, timeout=dask.config.get("distributed.comm.timeouts.connect"))
    except OSError as exc:  # TimeoutError included
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        try:
            client.register_plugin(GradingPool(sandbox), name=PLUGIN)
        except RuntimeError as exc:
            raise ClusterUnavailable(str(exc)) from None
        workers = _workers(client)
        if not workers:
            raise ClusterUnavailable(f"the Dask scheduler at {address} has no workers")
        log(f"grading on the Dask cluster at {address}: {len(workers)} workers")
        shared = {}
        for t in tasks:
            if t.assignment not in shared:
                shared[t.assignment] = client.scatter(shared_of(t, skip), broadcast=True)
        futures = {
            client.submit(
                grade_remote,
                pack(t),
                shared[t.assignment],
                key=f"grade-{t.student}-{t.assignment}-{t.files_hash[:12]}",
                pure=False,
            ): t
            for t in tasks
        }
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                reply = fut.result()
                now = _workers(client)
            except KilledWorker as exc:
                yield _killed(task, exc, run_dir)
                continue
            except Exception as exc:  # noqa: BLE001 (a lost scheduler, or the grader's bug)
                if client.status == "running":
                    raise
                raise ClusterUnavailable(
                    f"lost the Dask scheduler at {address} ({type(exc).__name__}): what was "
                    "graded is stored; run again to grade the rest"
                ) from None
            for gone in sorted(workers - now):
                log(f"worker lost: {gone} (its submission in flight is graded again elsewhere)")
            for new in sorted(now - workers):
                log(f"worker joined: {new}")
            workers = now
            yield unpack(reply, run_dir)
