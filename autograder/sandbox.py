"""The bubblewrap sandbox of every process that runs student code while grading.

The notebook kernel and the judge's worker start as ``bwrap ... -- python -m
autograder.sandbox ...``: uid/gid 65534 in a new user namespace, new PID, IPC, UTS, network
and cgroup namespaces (no network at all), ``--die-with-parent``, ``--new-session``. They see:

* read-only: ``/usr`` (and the ``/bin``, ``/lib*`` symlinks), a few loader files of ``/etc``,
  the Python installation the virtual environment points at (that folder only), the
  virtual environment, ``rnnref`` with the lesson's answer-key modules replaced by a stub, the
  check-side modules the kernel imports (``autograder/__init__.py``, ``autograder/checks``,
  this file);
* read-write: the private copy of that one submission, the kernel's IPC runtime folder, a
  flags folder shared with the grader; size-limited tmpfs for ``/tmp``, ``HOME`` and
  ``/dev/shm``; a minimal ``/dev`` and the namespace's own ``/proc``;
* an environment reduced to :data:`ENV_ALLOW`.

The process count is capped by a pids cgroup per sandbox when one can be made (as root on
this kind of machine: ``RLIMIT_NPROC`` is not enforced for processes of the outer root user)
and by ``RLIMIT_NPROC`` inside the namespace otherwise (enforced when the grader is not root);
open files and file size by rlimits set by the guard before any student code runs.

The guard (``python -m autograder.sandbox``, :func:`_guard_main`) is an audit hook that writes
what the sandbox is about to refuse (a path outside the copy, a socket, a signal to another
process, the answer key) to the flags folder: reporting for the instructor, not security.

Objects that cross processes: :class:`Policy` (a dict in the task, main process -> grading
child), the guard's JSON configuration and its flag lines (child <-> sandbox).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BWRAP = "bwrap"
SANDBOX_ID = 65534  # uid and gid inside the namespace ("nobody")
HOME = "/home/student"
GUARD_DIR = "/run/sandbox"  # inside: guard.json (read-only) and flags/ (read-write)
MODES = ("bwrap", "none")
# Only these variables reach student code (no RNN_*, PG*, database URLs, tokens); the one
# RNN_ variable is the grader's own switch that tells the kernel's checks to defer.
ENV_ALLOW = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MPLBACKEND",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "PYTHONHASHSEED",
    "PYTHONUNBUFFERED",
    "RNN_CHECKS_DEFERRED",
)
MAX_FLAGS = 40  # per process: a loop of attempts must not flood the report


@dataclass
class SandboxLimits:
    """What the rlimits and the cgroup allow one sandboxed process tree."""

    processes: int = 256  # tasks (threads count) in one sandbox: a fork bomb stops here
    open_files: int = 256
    file_size_mb: int = 512
    tmp_mb: int = 64  # each of /tmp, HOME and /dev/shm


@dataclass
class Policy:
    """How one run sandboxes student code (built once in the main process, sent in tasks).

    ``protected``: host paths whose reading is flagged (course folder, sources, the
    instructor's home, the gradebook's folder); they are not visible in the sandbox anyway.
    """

    mode: str = "bwrap"
    protected: list[str] = field(default_factory=list)
    limits: SandboxLimits = field(default_factory=SandboxLimits)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Policy:
        return cls(d["mode"], list(d["protected"]), SandboxLimits(**d["limits"]))


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here; the message says why and how to fix it."""


# ---------------------------------------------------------------------------------------
# what the sandbox shows


def _python_roots() -> list[str]:
    """The virtual environment and the one Python installation it points at."""
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(r + os.sep) for r in roots):
        roots.add(os.path.dirname(os.path.dirname(exe)))
    return sorted(roots)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if os.path.islink(f"/{name}"):
            args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime"):
        if os.path.exists(f"/etc/{etc}"):
            args += ["--ro-bind", f"/etc/{etc}", f"/etc/{etc}"]
    return args


def code_roots() -> list[str]:
    """Read-only folders and files of the course's code that sandboxed Python imports."""
    grading = REPO / "autograder" / "grading"
    # the bytecode beside the two grading files it imports, which the import system reads
    # (an unbound __pycache__ would read as an attempt to reach outside the sandbox)
    cache = [str(grading / "__pycache__")] if (grading / "__pycache__").is_dir() else []
    return [
        *cache,
        *_python_roots(),
        str(REPO / "autograder" / "__init__.py"),
        str(REPO / "autograder" / "checks"),
        # the check side derives its time budgets from the grading limits (pure data)
        str(REPO / "autograder" / "grading" / "__init__.py"),
        str(REPO / "autograder" / "grading" / "limits.py"),
        str(Path(__file__).resolve()),
        str(REPO / "rnnref"),
    ]


def answer_key_files(blocked) -> list[str]:
    """Source and bytecode files of the answer-key modules (``rnnref.rnn`` -> rnn.py ...)."""
    out = []
    for name in blocked:
        parts = name.split(".")
        base = REPO.joinpath(*parts)
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                out.append(str(path))
                cache = path.parent / "__pycache__"
                out += [str(p) for p in sorted(cache.glob(f"{path.stem}.*.pyc"))]
    return out


def _mpl_cache_binds() -> list[str]:
    """The host's matplotlib font list, read-only: without it every kernel that imports
    matplotlib rebuilds it (seconds) in its empty HOME."""
    host = Path(os.path.expanduser("~")) / ".cache" / "matplotlib"
    return [
        arg
        for p in sorted(host.glob("fontlist-*.json"))
        for arg in ("--ro-bind", str(p), f"{HOME}/.cache/matplotlib/{p.name}")
    ]


def allowed_env(env=None) -> dict:
    """The environment of sandboxed code: :data:`ENV_ALLOW` and the sandbox's own paths."""
    env = os.environ if env is None else env
    out = {k: env[k] for k in ENV_ALLOW if k in env}
    bindir = os.path.dirname(sys.executable)
    out.update(
        PATH=f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        HOME=HOME,
        TMPDIR="/tmp",
        USER="student",
        LOGNAME="student",
        MPLCONFIGDIR=f"{HOME}/.cache/matplotlib",
        # the kernel's parent inside is bwrap's init (pid 1): no parent poller (bwrap's
        # --die-with-parent does that job) and no connection banner on the grader's stdout
        JPY_PARENT_PID="1",
    )
    return out


# ---------------------------------------------------------------------------------------
# availability


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


def require(mode: str) -> None:
    """Raise :class:`SandboxUnavailable` when ``mode`` is ``bwrap`` and it cannot run."""
    if mode not in MODES:
        raise SandboxUnavailable(f"--sandbox must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "bwrap" and (why := probe()):
        raise SandboxUnavailable(f"the sandbox cannot run: {why}")


# ---------------------------------------------------------------------------------------
# the process cap: a pids cgroup per sandbox


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
    for _ in range(200):
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            break
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.sched_yield()
    try:
        path.rmdir()
    except OSError:
        pass
    return hits


def release_cgroups(owner: int) -> None:
    """Remove what the grading child ``owner`` left of its cgroups (it was killed, say)."""
    root = _pids_root()
    if root is not None:
        for path in root.glob(f"rnn-sandbox-{owner}-*"):
            _kill_cgroup(path)


# ---------------------------------------------------------------------------------------
# one submission's sandbox


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


class Sandbox:
    """The sandbox of one submission's grading: one state folder, one flags folder, a
    cgroup per sandboxed process tree. Made in the grading child by :func:`activate`."""

    def __init__(self, policy: Policy, state: Path, blocked=()):
        self.policy, self.state = policy, Path(state)
        self.blocked = tuple(blocked)
        self.flags_dir = self.state / "flags"
        self.flags_dir.mkdir(parents=True, exist_ok=True)
        self.cgroups: list[Path] = []
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
        import shutil  # here, not at the top: the guard inside the sandbox imports this file

        args = [shutil.which(BWRAP) or BWRAP, *_namespace_args(), *_system_binds()]
        for root in code_roots():
            args += ["--ro-bind", root, root]
        for key in self.keys:  # the answer key: a stub that refuses to import, no bytecode
            args += ["--ro-bind", str(self.stub) if key.endswith(".py") else "/dev/null", key]
        args += ["--proc", "/proc", "--dev", "/dev"]
        for tmp in ("/tmp", HOME, "/dev/shm"):
            args += ["--size", size, "--tmpfs", tmp]
        # host folders under /tmp that hold a bound path (a course in /tmp, say) get their
        # own read-only tmpfs: writing next to the copy fails there as it does elsewhere
        shadows = _shadows([*writable, *readonly], "/tmp")
        for top in shadows:
            args += ["--size", str(2**20), "--tmpfs", top]
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
        group = _new_cgroup(lim.processes, len(self.cgroups))
        if group is None:
            return args
        self.cgroups.append(group)
        # join the cgroup before bwrap starts, so that everything below it is counted
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(group), *args]

    def close(self) -> list[str]:
        """Kill what is left in the sandboxes' cgroups; the flags of this submission."""
        flags = []
        for group in self.cgroups:
            hits = _kill_cgroup(group)
            if hits:
                flags.append(
                    f"sandbox: the process limit ({self.policy.limits.processes}) was reached "
                    f"{hits} times (a fork bomb?); the processes were stopped"
                )
        self.cgroups.clear()
        return list(dict.fromkeys(flags)) + read_flags(self.flags_dir)


def _shadows(paths, tmp: str) -> list[str]:
    """The first folders below ``tmp`` that contain (and are not) one of ``paths``."""
    paths = {os.path.realpath(p) for p in paths}
    tops = set()
    for p in paths:
        if p.startswith(tmp + "/"):
            tops.add(os.path.join(tmp, p[len(tmp) + 1 :].split("/")[0]))
    return sorted(tops - paths)


def _guarded(argv: list[str]) -> list[str]:
    """``python [opts] (-m mod | -c code) ...`` -> ``python [opts] -m autograder.sandbox ...``"""
    i = 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] not in ("-m", "-c"):
        i += 1
    return [*argv[:i], "-m", "autograder.sandbox", *argv[i:]]


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


# the grading child's sandbox: set once per submission, read by the kernel manager and the
# judge's worker launcher (both run in that child)
_ACTIVE: list[Sandbox] = []


def activate(policy: dict | None, state: Path, assignment: str) -> Sandbox | None:
    """Make the submission's sandbox (None for ``--sandbox none``)."""
    _ACTIVE.clear()
    if not policy or policy.get("mode") != "bwrap":
        return None
    blocked = ()
    try:
        from autograder.checks import judge

        blocked = judge.find_lesson(lesson=assignment).BLOCKED
    except (ImportError, KeyError, AttributeError):
        pass  # not one of the course's lessons: no answer key to hide
    box = Sandbox(Policy.from_dict(policy), state, blocked)
    _ACTIVE.append(box)
    return box


def active() -> Sandbox | None:
    return _ACTIVE[0] if _ACTIVE else None


def finish() -> list[str]:
    """Close the submission's sandbox; its flags (none without a sandbox)."""
    if not _ACTIVE:
        return []
    return _ACTIVE.pop().close()


UNSANDBOXED = "graded WITHOUT the sandbox (--sandbox none): student code ran as the instructor"
# errors that say a size limit of the sandbox stopped a write
_FULL = ("No space left on device", "File too large", "Too many open files")


def finish_flags(policy: dict | None, reasons=()) -> list[str]:
    """The submission's sandbox flags: what the guard and the cgroups saw, a size limit the
    notebook's errors show it reached, or that it ran without a sandbox."""
    if not policy or policy.get("mode") != "bwrap":
        return [UNSANDBOXED]
    flags = finish()
    for text in _FULL:
        if any(text in r for r in reasons):
            flags.append(f"sandbox: a limit of the sandbox was reached ({text})")
    return flags


def wrap_worker(argv: list[str], cwd: str | None) -> list[str]:
    """The judge's worker command, sandboxed when the grading child has a sandbox."""
    box = active()
    return argv if box is None else box.wrap(argv, "judge", writable=[cwd] if cwd else [], cwd=cwd)


def policy_for(settings, mode: str, file_size_mb: int | None = None) -> dict:
    """The run's :class:`Policy` as a task dict: what to flag and how much to allow
    (``file_size_mb``: the grading limits' own, declared there)."""
    protected = [str(settings.course), str(settings.source), str(REPO)]
    protected.append(os.path.realpath(os.path.expanduser("~")))
    if settings.db_url.startswith("sqlite:///"):
        protected.append(os.path.dirname(os.path.abspath(settings.db_url[len("sqlite:///") :])))
    protected += ["/var/run/postgresql", "/run/postgresql", "/etc/postgresql"]
    limits = SandboxLimits()
    if file_size_mb is not None:
        limits.file_size_mb = file_size_mb
    return Policy(mode, protected, limits).to_dict()


# ---------------------------------------------------------------------------------------
# inside the sandbox: the guard


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


class _Guard:
    """Audit hook: writes one flag line per attempt the sandbox refuses (or hides)."""

    WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.where = cfg["where"]
        self.keys = set(cfg["keys"])
        self.blocked = tuple(cfg["blocked"])
        self.writable, self.protected = cfg["writable"], cfg["protected"]
        self.bound, self.shadows = cfg["bound"], cfg["shadows"]
        self.visible = cfg["visible"]
        self.busy = False
        self.count = 0
        self.seen: set[str] = set()
        self.me = os.getpid()
        self.out = f"{cfg['flags']}/{self.where}-{self.me}.jsonl"

    def flag(self, what: str) -> None:
        if what in self.seen or self.count >= MAX_FLAGS:
            return
        self.seen.add(what)
        self.count += 1
        try:
            if os.getpid() != self.me:  # a forked child writes its own file
                self.me, self.out = (
                    os.getpid(),
                    f"{self.cfg['flags']}/{self.where}-{os.getpid()}.jsonl",
                )
            with open(self.out, "a") as f:
                f.write(json.dumps({"where": self.where, "what": what}) + "\n")
        except OSError:
            pass

    def path_event(self, raw, write: bool, listing: bool = False) -> None:
        if isinstance(raw, int) or raw is None:
            return
        try:
            path = os.path.abspath(os.fsdecode(raw))
        except (TypeError, ValueError):
            return
        if path in self.keys:
            self.flag(f"read the answer key {path} (it sees a stub)")
        elif _under(path, self.bound):
            return
        elif write and (_under(path, self.shadows) or not _under(path, self.writable)):
            self.flag(f"write outside its copy: {path} (refused)")
        elif listing and any(_under(v, [path]) for v in self.visible):
            return  # a folder above a bound one (the import system lists them)
        elif _under(path, self.protected) and not _under(path, self.visible):
            self.flag(f"access to {path} (outside the sandbox, not visible)")

    EVENTS = frozenset(
        (
            "open",
            "os.listdir",
            "os.scandir",
            "sqlite3.connect",
            "socket.connect",
            "socket.sendto",
            "socket.bind",
            "os.kill",
            "os.killpg",
            "import",
        )
    )

    def __call__(self, event: str, args) -> None:
        # called for every audit event (compile, exec, sys._getframe, ...): return fast
        if self.busy or event not in self.EVENTS:
            return
        self.busy = True
        try:
            self.check(event, args)
        finally:
            self.busy = False

    def check(self, event: str, args) -> None:
        if event == "open":
            path, mode, flags = args
            write = bool(flags & self.WRITE) or any(c in str(mode or "") for c in "wax+")
            self.path_event(path, write)
        elif event in ("os.listdir", "os.scandir"):
            self.path_event(args[0] if args else ".", False, listing=True)
        elif event == "sqlite3.connect":
            self.path_event(args[0], True)
        elif event in ("socket.connect", "socket.sendto", "socket.bind"):
            addr = args[-1]
            if isinstance(addr, tuple):
                self.flag(f"network: {event.split('.')[1]} to {addr[0]}:{addr[1]} (no network)")
            elif isinstance(addr, (str, bytes)) and not _under(os.fsdecode(addr), self.writable):
                self.flag(f"socket {os.fsdecode(addr)} (not reachable)")
        elif event in ("os.kill", "os.killpg"):
            pid, sig = args
            if not self.own(pid, event == "os.killpg"):
                self.flag(f"signal {sig} to process {pid}, not its own (refused)")
        elif event == "import":
            name = args[0]
            if any(name == b or name.startswith(b + ".") for b in self.blocked):
                self.flag(f"import of the answer key {name} (refused)")

    def own(self, pid: int, group: bool) -> bool:
        """Whether ``pid`` is this process, one of its descendants, or (for a group) its
        own process group."""
        me = os.getpid()
        if group:
            return pid in (0, os.getpgid(0))
        if pid in (0, me):
            return True
        for _ in range(64):
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    pid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if pid == me:
                return True
            if pid <= 1:
                return False
        return False


def _set_limits(limits: dict) -> None:
    import resource

    for res, value in (
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * 2**20),
    ):
        soft, hard = resource.getrlimit(res)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(res, (value, value))


def _guard_main(argv: list[str]) -> None:
    """Inside the sandbox: limits, the audit hook, then the real program (``-m mod ...`` or
    ``-c code ...``) as ``__main__``."""
    import runpy

    with open(f"{GUARD_DIR}/guard.json") as f:
        cfg = json.load(f)
    _set_limits(cfg["limits"])
    guard = _Guard(cfg)
    guard.busy = True  # the guard's own start-up is not an attempt
    sys.addaudithook(guard)
    guard.busy = False
    if argv[:1] == ["-c"]:
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    elif argv[:1] == ["-m"]:
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        raise SystemExit("usage: python -m autograder.sandbox (-m MODULE | -c CODE) [ARGS]")


if __name__ == "__main__":
    _guard_main(sys.argv[1:])
