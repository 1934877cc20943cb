"""Process start-up without NumPy: the judge starts its worker before importing anything
heavy, so the two interpreters boot in parallel (check latency is mostly start-up time)."""

import json
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bootstrap(module, func="main"):
    """Command that runs ``autograder.checks.<module>.<func>()`` in a fresh ``python -I``."""
    code = f"import sys; sys.path.insert(0, {str(REPO)!r}); "
    code += f"from autograder.checks.{module} import {func}; {func}()"
    return [sys.executable, "-I", "-c", code]


def frame(data):
    return struct.pack("<Q", len(data)) + data


def read_frame_stdin():
    f = sys.stdin.buffer
    (n,) = struct.unpack("<Q", f.read(8))
    return f.read(n)


def start_worker(memory_mb, cpu_seconds, cwd=None):
    """The worker: own session (killed as a group), memory, CPU, file-size limits, a minimal
    environment (no course paths), single-threaded BLAS."""

    def limits():
        mem = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    from autograder.sandbox import wrap_worker  # sandbox hook: bwrap in class grading

    return subprocess.Popen(
        wrap_worker(bootstrap("worker"), cwd),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=limits,
    )


def worker_budget(req):
    """(memory MB, CPU seconds, cwd) of the worker for a judge request."""
    timeout = float(req.get("timeout", 10))
    memory_mb = int(req.get("memory_mb", 1024))
    if req.get("mode") == "notebook":
        return memory_mb, int(max(300, 30 * timeout)), str(Path(req["path"]).parent)
    return memory_mb, int(max(60, 6 * timeout)), None


def judge_main():
    """Entry point of the judge process."""
    try:  # PR_SET_DUMPABLE = 0: same-user processes cannot read this one's memory
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    req = json.loads(read_frame_stdin())
    payload = read_frame_stdin() if req.get("mode") == "check" else None
    try:
        proc = start_worker(*worker_budget(req))
    except (OSError, KeyError, ValueError):
        proc = None
    from autograder.checks import judge  # NumPy and the references load while the worker boots

    report = judge.handle(req, payload, proc)
    sys.stdout.write(json.dumps(report))
    sys.stdout.flush()
