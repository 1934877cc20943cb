"""The process cap: a pids cgroup per sandboxed process tree, when one can be made.

As root on this kind of machine ``RLIMIT_NPROC`` is not enforced for processes of the outer
root user, so the cap is a cgroup; where none can be made, the guard's ``RLIMIT_NPROC``
inside the namespace caps them (enforced when the grader is not root).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _pids_root() -> Path | None:
    """A pids cgroup folder where this process may make children, or None."""
    for root in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if (root / "cgroup.procs").exists() and os.access(root, os.W_OK):
            if root.name == "cgroup":  # v2: the controller must be enabled for children
                ctl = root / "cgroup.subtree_control"
                if not ctl.exists() or "pids" not in ctl.read_text().split():
                    continue
            return root
    return None


def _new_cgroup(limit: int, serial: int) -> Path | None:
    root = _pids_root()
    if root is None:
        return None
    path = root / f"rnn-sandbox-{os.getpid()}-{serial}"
    try:
        path.mkdir(exist_ok=True)
        (path / "pids.max").write_text(str(limit))
    except OSError:
        return None
    return path


def _kill_cgroup(path: Path) -> int:
    """Kill every process in ``path`` and remove it; returns how often forks hit the cap."""
    hits = 0
    try:
        for line in (path / "pids.events").read_text().splitlines():
            if line.startswith("max "):
                hits = int(line.split()[1])
    except (OSError, ValueError):
        pass
    # SIGKILLed processes leave the group only once the kernel has finished them, which
    # takes a while on a loaded machine: wait (bounded) until it is empty, then remove it
    deadline = time.monotonic() + 5.0
    while True:
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return hits
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    while True:
        try:
            path.rmdir()
            break
        except FileNotFoundError:
            break
        except OSError:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
    return hits


def release_cgroups(owner: int) -> None:
    """Remove what the grading child ``owner`` left of its cgroups (it was killed, say), and
    the groups of grading children that no longer exist (a grader that was itself killed
    left them)."""
    root = _pids_root()
    if root is None:
        return
    for path in root.glob("rnn-sandbox-*-*"):
        try:
            pid = int(path.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if pid == owner or not Path(f"/proc/{pid}").exists():
            _kill_cgroup(path)
