"""Inside the sandbox: the guard that runs before the real program (``python -m
autograder.sandbox``, :func:`_guard_main`).

It sets the rlimits (open files, file size, processes), then installs an audit hook that
writes what the sandbox is about to refuse (a path outside the copy, a socket, a signal to
another process, the answer key) to the flags folder: reporting for the instructor, not
security. Its configuration is the JSON file :meth:`Sandbox.guard_config
<autograder.sandbox.bwrap.Sandbox.guard_config>` writes; its flag lines are read back by
:func:`autograder.sandbox.bwrap.read_flags`. Cheap to import: the standard library only.
"""

from __future__ import annotations

import json
import os
import sys

from autograder.sandbox.policy import GUARD_DIR, MAX_FLAGS


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
        elif not write and "/__pycache__/" in path and path.endswith(".pyc"):
            return  # the import system looking for bytecode beside a bound module
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
