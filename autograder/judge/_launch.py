"""How the judge process and the sandbox worker start, without NumPy: the judge process
(:mod:`.process`) starts its sandbox worker before importing anything heavy, so the two
interpreters boot in parallel (check latency is mostly start-up time).

:func:`bootstrap` is the command of either; :func:`sandbox_worker_command` is the one place
that builds the sandbox worker's launch (command and environment); :func:`start_sandbox_worker`
the one place that spawns it. Names of the processes: see the glossary in
:mod:`autograder.grading`.
"""

import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

from autograder.limits import Limits

REPO = Path(__file__).resolve().parents[2]


def bootstrap(module, func="main"):
    """Command that runs ``autograder.judge.<module>.<func>()`` in a fresh ``python -I``."""
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); "
    code += f"from autograder.judge.{module} import {func}; {func}()"
    return [sys.executable, "-I", "-c", code]


def frame(data):
    return struct.pack("<Q", len(data)) + data


def read_frame_stdin():
    f = sys.stdin.buffer
    (n,) = struct.unpack("<Q", f.read(8))
    return f.read(n)


def sandbox_worker_command(cwd=None):
    """``(argv, env)`` of the sandbox worker that will run in ``cwd``: ``python -I`` running
    :mod:`autograder.judge.worker` with a minimal environment (no course paths),
    single-threaded BLAS and no figures drawn; inside the grading child's bubblewrap
    sandbox when it has one (:func:`autograder.sandbox.wrap_worker`)."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    from autograder.sandbox import wrap_worker  # here: the judge process boots without it

    return wrap_worker(bootstrap("worker"), cwd, env)


def start_sandbox_worker(memory_mb, cpu_seconds, cwd=None):
    """Spawn the sandbox worker: own session (killed as a group), memory, CPU and file-size
    limits, stdin/stdout pipes to the judge."""

    def rlimits():
        mem = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    argv, env = sandbox_worker_command(cwd)
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=rlimits,
    )


def request_limits(req):
    """The :class:`~autograder.limits.Limits` of a judge request (its per-call
    ``timeout`` and ``memory_mb``)."""
    return Limits(
        judge_timeout=float(req.get("timeout", 10)), memory_mb=int(req.get("memory_mb", 1024))
    )


def sandbox_worker_budget(req):
    """``(memory MB, CPU seconds, cwd)`` of the sandbox worker for a judge request."""
    mode = "notebook" if req.get("mode") == "notebook" else "check"
    limits = request_limits(req)
    cwd = str(Path(req["path"]).parent) if mode == "notebook" else None
    return limits.memory_mb, limits.sandbox_worker_cpu_seconds(mode), cwd
