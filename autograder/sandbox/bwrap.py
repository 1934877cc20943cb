"""The bwrap command of one sandboxed process: namespaces, binds, tmpfs, environment.

uid/gid 65534 in a new user namespace, new PID, IPC, UTS, network and cgroup namespaces (no
network at all), ``--die-with-parent``, ``--new-session``. Read-write: the private copy of
the submission, the kernel's IPC runtime folder, a flags folder shared with the grader;
tmpfs for ``/tmp``, ``HOME`` and ``/dev/shm`` limited in bytes and, where :func:`tmpfs_prefix`
can mount them (bwrap 0.8 has no option for it), in files; a minimal ``/dev`` and the
namespace's own ``/proc``; read-only what :mod:`autograder.sandbox.binds` lists.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from autograder.sandbox.binds import (
    _mpl_cache_binds,
    _shadows,
    _system_binds,
    answer_key_files,
    code_roots,
)
from autograder.sandbox.cgroups import Group, close_group, join_command, new_group
from autograder.sandbox.policy import (
    GUARD_DIR,
    HOME,
    MAX_FLAGS,
    MODES,
    Policy,
    SandboxUnavailable,
    allowed_env,
)

BWRAP = "bwrap"
SANDBOX_ID = 65534  # uid and gid inside the namespace ("nobody")


def _namespace_args() -> list[str]:
    return [
        "--unshare-user",
        "--uid",
        str(SANDBOX_ID),
        "--gid",
        str(SANDBOX_ID),
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
    ]


_PROBE: list[str | None] = []


def probe() -> str | None:
    """None when bubblewrap can make the sandbox here, otherwise why not and how to fix it."""
    import shutil
    import subprocess

    if _PROBE:
        return _PROBE[0]
    why = None
    if shutil.which(BWRAP) is None:
        why = (
            "bubblewrap (bwrap) is not installed: install it (Debian/Ubuntu: "
            "apt-get install bubblewrap, or run scripts/system_deps.sh)"
        )
    else:
        argv = [BWRAP, *_namespace_args(), *_system_binds(), "--", "/usr/bin/true"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                err = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                why = (
                    f"bwrap cannot create its namespaces here ({err}): enable unprivileged "
                    "user namespaces (sysctl user.max_user_namespaces=15000, "
                    "kernel.unprivileged_userns_clone=1 on Debian kernels, "
                    "kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04), "
                    "or allow bwrap in the container's seccomp/AppArmor profile"
                )
        except (OSError, subprocess.TimeoutExpired) as exc:
            why = f"bwrap could not be started ({exc})"
    if why:
        why += (
            "; or grade without the sandbox with --sandbox none (student code then runs as "
            "you and can reach the gradebook, other students' files and the network)"
        )
    _PROBE.append(why)
    return why


# mounts the tmpfs folders given first (their count, then the folders), then execs the rest:
# bwrap binds them, so that each has nr_inodes, which bwrap's own --tmpfs cannot set
_MOUNT = (
    'n=$1; o=$2; shift 2; while [ "$n" -gt 0 ]; do '
    'mount -t tmpfs -o "$o" tmpfs "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'
)
# a private mount namespace as root; otherwise a user namespace of one's own (root in it)
_UNSHARE = (
    ["unshare", "--mount", "--propagation", "private"],
    ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"],
)
_TMPFS: list[list[str] | None] = []


def tmpfs_options(size_bytes: int, files: int) -> str:
    return f"size={size_bytes},nr_inodes={files},mode=0755"


def tmpfs_unshare() -> list[str] | None:
    """The ``unshare`` command under which a tmpfs can be mounted and bwrap started below it
    here, or None where none works (found once, by mounting one and starting bwrap)."""
    import shutil
    import subprocess
    import tempfile

    if not _TMPFS:
        found = None
        if shutil.which("unshare") and shutil.which("mount") and probe() is None:
            with tempfile.TemporaryDirectory() as d:
                for unshare in _UNSHARE:
                    argv = [*unshare, "/bin/sh", "-c", _MOUNT, "sh", "1", "size=65536,nr_inodes=64"]
                    argv += [d, BWRAP, *_namespace_args(), *_system_binds()]
                    argv += ["--bind", d, "/tmp", "--", "/usr/bin/touch", "/tmp/x"]
                    try:
                        proc = subprocess.run(argv, capture_output=True, timeout=30)
                    except (OSError, subprocess.TimeoutExpired):
                        continue
                    if proc.returncode == 0:
                        found = unshare
                        break
        _TMPFS.append(found)
    return _TMPFS[0]


def tmpfs_prefix(folders: list[str], options: str) -> list[str] | None:
    """The command prefix that mounts a tmpfs with ``options`` on each host folder (then
    bwrap binds them), or None where :func:`tmpfs_unshare` finds no way of doing so."""
    unshare = tmpfs_unshare()
    if unshare is None:
        return None
    return [*unshare, "/bin/sh", "-c", _MOUNT, "sh", str(len(folders)), options, *folders]


def notes(limits) -> list[str]:
    """What the run report says about caps that fall back to weaker ones here."""
    from autograder.sandbox.cgroups import notes as cgroup_notes

    out = cgroup_notes(limits.memory_mb)
    if tmpfs_unshare() is None:
        out.append(
            f"the sandbox's /tmp, HOME and /dev/shm are limited to {limits.tmp_mb} MB each "
            f"but not to {limits.tmp_files} files (mounting them needs util-linux's unshare "
            "and root or user namespaces); the memory cgroup, where there is one, bounds them"
        )
    return out


def require(mode: str) -> None:
    """Raise :class:`SandboxUnavailable` when ``mode`` is ``bwrap`` and it cannot run."""
    if mode not in MODES:
        raise SandboxUnavailable(f"--sandbox must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "bwrap" and (why := probe()):
        raise SandboxUnavailable(f"the sandbox cannot run: {why}")


class Sandbox:
    """The sandbox of one submission's grading: one state folder, one flags folder, a
    cgroup per sandboxed process tree. Made in the grading child by :func:`activate`."""

    def __init__(self, policy: Policy, state: Path, blocked=()):
        self.policy, self.state = policy, Path(state)
        self.blocked = tuple(blocked)
        self.flags_dir = self.state / "flags"
        self.flags_dir.mkdir(parents=True, exist_ok=True)
        self.cgroups: list[Group] = []
        self.stub = self.state / "answer_key_stub.py"
        self.stub.write_text(
            "raise ImportError(__name__ + ' is the answer key of this lesson: "
            "not available while grading')\n"
        )
        self.keys = answer_key_files(self.blocked)

    def guard_config(self, where: str, writable: list[str], shadows: list[str]) -> Path:
        path = self.state / f"guard-{where}.json"
        roots = code_roots()  # not /tmp, HOME: a host path there is not the sandbox's
        cfg = {
            "where": where,
            "blocked": list(self.blocked),
            "keys": self.keys,
            "bound": writable,
            "writable": [*writable, "/tmp", HOME, "/dev"],
            "shadows": shadows,
            "protected": self.policy.protected,
            "visible": roots + writable,
            "flags": f"{GUARD_DIR}/flags",
            "limits": asdict(self.policy.limits),
        }
        path.write_text(json.dumps(cfg))
        return path

    def wrap(
        self, argv: list[str], where: str, writable=(), cwd: str | None = None, readonly=()
    ) -> list[str]:
        """``argv`` (a Python command: ``python [-I] -m mod ...`` or ``-c code``) run inside
        the sandbox, with ``writable`` (host folders, same path inside) writable and the
        ``readonly`` files visible."""
        writable = list(dict.fromkeys(os.path.realpath(w) for w in writable if w))
        lim = self.policy.limits
        size = str(lim.tmp_mb * 2**20)
        import shutil  # here, not at the top: the guard inside the sandbox imports this package

        serial = len(self.cgroups)
        mounts = [self.state / f"tmpfs-{where}-{serial}" / n for n in ("tmp", "home", "shm")]
        prefix = tmpfs_prefix([str(m) for m in mounts], tmpfs_options(int(size), lim.tmp_files))

        args = [shutil.which(BWRAP) or BWRAP, *_namespace_args(), *_system_binds()]
        args += ["--proc", "/proc", "--dev", "/dev"]
        # pid 1 of the namespace is bwrap's own init, which the sandbox user may read
        # (/proc/1/environ, /proc/1/mem): hide it behind an empty read-only tmpfs
        args += ["--size", "4096", "--tmpfs", "/proc/1", "--remount-ro", "/proc/1"]
        # the tmpfs mounts come before the binds: a bind below /tmp (a checkout or a venv in
        # /tmp, say) mounted first would be hidden by the tmpfs mounted over it
        for tmp, mount in zip(("/tmp", HOME, "/dev/shm"), mounts, strict=True):
            if prefix is None:
                args += ["--size", size, "--tmpfs", tmp]
            else:
                mount.mkdir(parents=True, exist_ok=True)
                args += ["--bind", str(mount), tmp]
        roots = code_roots()
        # host folders under /tmp that hold a bound path (a course in /tmp, say) get their
        # own read-only tmpfs: writing next to the copy fails there as it does elsewhere
        shadows = _shadows([*roots, *self.keys, *writable, *readonly], "/tmp")
        for top in shadows:
            args += ["--size", str(2**20), "--tmpfs", top]
        for root in roots:
            args += ["--ro-bind", root, root]
        for key in self.keys:  # the answer key: a stub that refuses to import, no bytecode
            args += ["--ro-bind", str(self.stub) if key.endswith(".py") else "/dev/null", key]
        args += _mpl_cache_binds()
        for w in writable:
            args += ["--bind", w, w]
        for r in readonly:
            args += ["--ro-bind", os.path.realpath(r), os.path.realpath(r)]
        for top in shadows:
            args += ["--remount-ro", top]
        cfg = self.guard_config(where, writable, shadows)
        args += ["--ro-bind", str(cfg), f"{GUARD_DIR}/guard.json"]
        args += ["--bind", str(self.flags_dir), f"{GUARD_DIR}/flags"]
        args += ["--remount-ro", "/"]  # the root's own tmpfs: no files next to the mounts
        args += ["--chdir", os.path.realpath(cwd) if cwd else (writable[0] if writable else HOME)]
        args += ["--clearenv"]
        for k, v in allowed_env().items():
            args += ["--setenv", k, v]
        args += ["--", *_guarded(argv)]
        group = new_group(lim.processes, lim.memory_mb, serial)
        self.cgroups.append(group)
        # the cgroup is joined first, so that the mounts and everything below bwrap count
        return join_command(group, [*(prefix or []), *args])

    @staticmethod
    def launch_env() -> dict[str, str]:
        """The environment bwrap itself starts with: the allow-list only. ``--clearenv``
        cleans what bwrap hands to its command, not bwrap's own environment, which its
        processes inside could read."""
        return allowed_env()

    def close(self) -> list[str]:
        """Kill what is left in the sandboxes' cgroups; the flags of this submission."""
        flags = []
        for group in self.cgroups:
            hits, ooms = close_group(group)
            if hits:
                flags.append(
                    f"sandbox: the process limit ({self.policy.limits.processes}) was reached "
                    f"{hits} times (a fork bomb?); the processes were stopped"
                )
            if ooms:
                flags.append(
                    f"sandbox: the memory limit ({self.policy.limits.memory_mb} MB) was "
                    f"reached; {ooms} process(es) were stopped by the kernel"
                )
        self.cgroups.clear()
        return list(dict.fromkeys(flags)) + read_flags(self.flags_dir)


def _guarded(argv: list[str]) -> list[str]:
    """``python [opts] (-m mod | -c code) ...`` -> ``python [opts] -B -m autograder.sandbox
    ...``. ``-B``: the course's code is read-only in the sandbox, and an attempt to write a
    stale module's bytecode next to it would read as student code writing outside its copy
    (``-I`` ignores ``PYTHONDONTWRITEBYTECODE``, so it is a flag)."""
    i = 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] not in ("-m", "-c"):
        i += 1
    return [*argv[:i], "-B", "-m", "autograder.sandbox", *argv[i:]]


def read_flags(folder: Path) -> list[str]:
    """The guard's flag lines, one per attempt kind and target, in order."""
    out = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines[: MAX_FLAGS + 1]:
            try:
                rec = json.loads(line)
                out.append(f"sandbox ({str(rec['where'])[:10]}): {str(rec['what'])[:300]}")
            except (ValueError, KeyError, TypeError):
                continue
    return list(dict.fromkeys(out))
