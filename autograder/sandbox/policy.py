"""What one run allows sandboxed code: the limits, the :class:`Policy`, the environment.

:class:`Policy` crosses processes as a dict in the task (main process -> grading child).
Imported inside the sandbox too (by the guard): the standard library only.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
HOME = "/home/student"
GUARD_DIR = "/run/sandbox"  # inside: guard.json (read-only) and flags/ (read-write)
MODES = ("bwrap", "none")
# Only these variables reach student code (no RNN_*, PG*, database URLs, tokens); the one
# RNN_ variables are the grader's own switches: the kernel's checks defer to the judge, and a
# "Check my work" cell does nothing (autograder.mywork.GRADING_ENV).
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
    "RNN_GRADING",
)
MAX_FLAGS = 40  # per process: a loop of attempts must not flood the report


@dataclass
class SandboxLimits:
    """What the rlimits and the cgroup allow one sandboxed process tree."""

    processes: int = 256  # tasks (threads count) in one sandbox: a fork bomb stops here
    memory_mb: int = 4096  # memory of one sandbox (its cgroup), memfd and tmpfs included
    open_files: int = 256
    file_size_mb: int = 512
    tmp_mb: int = 64  # each of /tmp, HOME and /dev/shm
    tmp_files: int = 4096  # files and folders in each of them (tmpfs nr_inodes)


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


def policy_for(
    settings, mode: str, file_size_mb: int | None = None, memory_mb: int | None = None
) -> dict:
    """The run's :class:`Policy` as a task dict: what to flag and how much to allow
    (``file_size_mb``, ``memory_mb``: the grading limits' own, declared there)."""
    protected = [str(settings.course), str(settings.source), str(REPO)]
    protected.append(os.path.realpath(os.path.expanduser("~")))
    if settings.db_url.startswith("sqlite:///"):
        protected.append(os.path.dirname(os.path.abspath(settings.db_url[len("sqlite:///") :])))
    protected += ["/var/run/postgresql", "/run/postgresql", "/etc/postgresql"]
    limits = SandboxLimits()
    if file_size_mb is not None:
        limits.file_size_mb = file_size_mb
    if memory_mb is not None:
        limits.memory_mb = memory_mb
    return Policy(mode, protected, limits).to_dict()
