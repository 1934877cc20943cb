"""The process and memory caps: a cgroup per sandboxed process tree, when one can be made.

As root on this kind of machine ``RLIMIT_NPROC`` is not enforced for processes of the outer
root user, and ``RLIMIT_AS`` does not count memory held outside the address space (a
``memfd``, files in ``/dev/shm``), so both caps are cgroups: ``pids.max``, and
``memory.limit_in_bytes`` with swap counted (``memory.memsw``) on cgroups v1, or
``memory.max`` with ``memory.swap.max = 0`` where cgroups v2 are delegated. Where none can be
made, the guard's ``RLIMIT_NPROC`` inside the namespace (enforced when the grader is not root)
and ``RLIMIT_AS`` are the fallback, which :func:`notes` says in the run report.

A group is a list of folders: one per v1 controller hierarchy, or one v2 folder for both.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory")
_MB = 2**20


def _v2_roots() -> list[Path]:
    """cgroups v2 folders where this process may make children: the root, and the parent of
    its own group (a delegated subtree)."""
    out = [CGROUP]
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::/") and line != "0::/":
                out.append((CGROUP / line[4:]).parent)
    except OSError:
        pass
    return out


def _roots() -> dict[str, Path]:
    """controller -> the folder where this process may make its groups (none: not there)."""
    out: dict[str, Path] = {}
    for c in CONTROLLERS:
        v1 = CGROUP / c
        if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
            out[c] = v1
            continue
        for root in _v2_roots():
            ctl = root / "cgroup.subtree_control"
            try:
                if os.access(root, os.W_OK) and c in ctl.read_text().split():
                    out[c] = root
                    break
            except OSError:
                continue
    return out


def _write(path: Path, value) -> bool:
    try:
        path.write_text(str(value))
        return True
    except OSError:
        return False


def _set_limits(folder: Path, controllers: list[str], processes: int, memory_mb: int) -> list:
    """Write the caps of ``controllers`` hosted by ``folder``; the controllers it caps."""
    capped = []
    mem = memory_mb * _MB
    if "pids" in controllers and _write(folder / "pids.max", processes):
        capped.append("pids")
    if "memory" in controllers:
        if (folder / "memory.limit_in_bytes").exists():  # v1
            ok = _write(folder / "memory.limit_in_bytes", mem)
            # memsw (memory + swap) must not be below the memory limit: written after it.
            # Absent when the kernel does not account swap; then no swap is the best left.
            if (folder / "memory.memsw.limit_in_bytes").exists():
                ok = ok and _write(folder / "memory.memsw.limit_in_bytes", mem)
            else:
                _write(folder / "memory.swappiness", 0)
        else:  # v2
            ok = _write(folder / "memory.max", mem)
            if (folder / "memory.swap.max").exists():
                ok = ok and _write(folder / "memory.swap.max", 0)
            _write(folder / "memory.oom.group", 1)  # one OOM kill stops the whole sandbox
        if ok:
            capped.append("memory")
    return capped


@dataclass
class Group:
    """One sandboxed process tree's cgroup: its folders (one per v1 hierarchy, or one v2
    folder) and the controllers whose cap was written."""

    folders: list[Path] = field(default_factory=list)
    capped: tuple[str, ...] = ()


def new_group(processes: int, memory_mb: int, serial) -> Group:
    """A new group capping ``processes`` tasks and ``memory_mb`` of memory (swap included);
    only the folders whose cap could be written. No folders: no cgroup here."""
    by_root: dict[Path, list[str]] = {}
    for c, root in _roots().items():
        by_root.setdefault(root, []).append(c)
    group = Group()
    for root, controllers in by_root.items():
        path = root / f"rnn-sandbox-{os.getpid()}-{serial}"
        try:
            path.mkdir(exist_ok=True)
        except OSError:
            continue
        capped = _set_limits(path, controllers, processes, memory_mb)
        if capped:
            group.folders.append(path)
            group.capped += tuple(capped)
        else:
            _kill_cgroup(path)
    return group


def join_command(group: Group, argv: list[str]) -> list[str]:
    """``argv`` started in every folder of ``group``: the shell joins them, then execs
    ``argv``, so that everything below it is counted from its first instruction."""
    if not group.folders:
        return argv
    procs = [shlex.quote(str(f / "cgroup.procs")) for f in group.folders]
    joins = " && ".join(f"echo $$ > {p}" for p in procs)
    return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *argv]


def _counter(path: Path, key: str) -> int:
    """The value of ``key`` in a flat-keyed cgroup file (``pids.events``, ``memory.events``,
    ``memory.oom_control``), 0 when absent."""
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
    except (OSError, ValueError):
        pass
    return 0


def close_group(group: Group) -> tuple[int, int]:
    """Kill what is left in ``group`` and remove it: ``(forks refused at the process cap,
    processes killed at the memory cap)``."""
    hits = ooms = 0
    for path in group.folders:
        hits = max(hits, _counter(path / "pids.events", "max"))
        events = "memory.oom_control" if (path / "memory.oom_control").exists() else "memory.events"
        ooms = max(ooms, _counter(path / events, "oom_kill"))
        _kill_cgroup(path)
    return hits, ooms


def _kill_cgroup(path: Path) -> None:
    """Kill every process in ``path`` and remove it."""
    # SIGKILLed processes leave the group only once the kernel has finished them, which
    # takes a while on a loaded machine: wait (bounded) until it is empty, then remove it
    deadline = time.monotonic() + 5.0
    while True:
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return
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


_AVAILABLE: list[tuple[str, ...]] = []


def available() -> tuple[str, ...]:
    """The controllers a sandbox's group gets here, found once by making (and removing) a
    group of this process."""
    if not _AVAILABLE:
        group = new_group(1024, 1024, "probe")
        close_group(group)
        _AVAILABLE.append(tuple(c for c in CONTROLLERS if c in group.capped))
    return _AVAILABLE[0]


def notes(memory_mb: int) -> list[str]:
    """What the run report says when a cap is not a cgroup here (the fallback)."""
    got, out = available(), []
    if "memory" not in got:
        out.append(
            "no memory cgroup can be made here (cgroups v1 memory not writable, v2 not "
            f"delegated): memory is limited by RLIMIT_AS ({memory_mb} MB of address space) "
            "only, which memory held outside the address space (a memfd, files in /dev/shm "
            "beyond its tmpfs) escapes; run as root or delegate cgroups v2 to close it"
        )
    if "pids" not in got:
        out.append(
            "no pids cgroup can be made here: processes are limited by RLIMIT_NPROC inside "
            "the sandbox, which is not enforced when the grader runs as root"
        )
    return out


def release_cgroups(owner: int) -> None:
    """Remove what the grading child ``owner`` left of its cgroups (it was killed, say), and
    the groups of grading children that no longer exist (a grader that was itself killed
    left them)."""
    for root in set(_roots().values()):
        for path in root.glob("rnn-sandbox-*-*"):
            try:
                pid = int(path.name.split("-")[2])
            except (IndexError, ValueError):
                continue
            if pid == owner or not Path(f"/proc/{pid}").exists():
                _kill_cgroup(path)
