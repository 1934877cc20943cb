"""The grading child's sandbox of one submission: made by :func:`activate`, used by the
kernel manager and the judge's worker launcher (both run in that child), closed by
:func:`finish_flags`, which reports what it saw."""

from __future__ import annotations

from pathlib import Path

from autograder.sandbox.bwrap import Sandbox
from autograder.sandbox.policy import Policy

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
        from autograder.checks import find_lesson

        blocked = find_lesson(lesson=assignment).BLOCKED
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
FULL_FLAG = "sandbox: a limit of the sandbox was reached ({})"
TMPFS_FULL_FLAG = FULL_FLAG.format(_FULL[0])


def finish_flags(policy: dict | None, reasons=()) -> list[str]:
    """The submission's sandbox flags: what the guard and the cgroups saw, a size limit the
    notebook's errors show it reached, or that it ran without a sandbox."""
    if not policy or policy.get("mode") != "bwrap":
        return [UNSANDBOXED]
    flags = finish()
    for text in _FULL:
        if any(text in r for r in reasons):
            flags.append(FULL_FLAG.format(text))
    return flags


def wrap_worker(argv: list[str], cwd: str | None, env: dict) -> tuple[list[str], dict]:
    """The judge's worker command and environment, sandboxed (the allow-list only) when the
    grading child has a sandbox."""
    box = active()
    if box is None:
        return argv, env
    return box.wrap(argv, "judge", writable=[cwd] if cwd else [], cwd=cwd), box.launch_env()
