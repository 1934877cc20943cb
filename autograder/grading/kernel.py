"""The kernel's launch: the one place that decides how a grading kernel is started.

nbgrader starts the kernel through nbclient and jupyter_client. What the grader decides
about it is here and nowhere else:

* :func:`kernel_config`: the kernel talks over IPC sockets in the grading child's private
  runtime folder, not TCP ports (parallel grading children raced for ports:
  ``ZMQError: Address already in use``);
* :func:`kernel_command`: the kernel's command line and environment, ``argv -> argv`` plus
  the environment (and the folder it runs in): inside the grading child's bubblewrap
  sandbox (:mod:`autograder.sandbox`) when it has one;
* :class:`GradingKernelManager`: the kernel manager every grading kernel gets (set by
  :class:`autograder.limited_execute.LimitedExecute`), which runs :func:`kernel_command`.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from autograder import sandbox as _sandbox


def kernel_config(c, runtime: Path) -> None:
    """Point the kernel's sockets at ``runtime`` (a short path: IPC socket names must stay
    under ~100 characters)."""
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(runtime / "k")


def kernel_command(
    argv: list[str],
    env: dict[str, str],
    cwd: str | None,
    sockets: str | None = None,
    connection_file: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a grading kernel that will run in ``cwd`` (the
    autograded notebook's folder), its IPC ``sockets`` folder and its ``connection_file``:
    inside the grading child's bubblewrap sandbox when it has one (``cwd`` and ``sockets``
    writable, the connection file alone read-only; nbclient puts it in ``/tmp``), unchanged
    otherwise. Sandboxed, the environment is the allow-list only: bwrap's own environment is
    readable from inside."""
    box = _sandbox.active()
    if box is None:
        return argv, env
    writable = [cwd or os.getcwd(), *([sockets] if sockets else [])]
    readonly = [connection_file] if connection_file else []
    return box.wrap(argv, "kernel", writable=writable, cwd=cwd, readonly=readonly), box.launch_env()


class GradingKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, launching through :func:`kernel_command`."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # jupyter_client's documented hook for launching kernels differently
        env = dict(kw.get("env") or os.environ)
        sockets = os.path.dirname(self.ip) if self.transport == "ipc" else None
        if _sandbox.active() is not None:
            # a signal to bwrap would not reach the kernel (its own session): interrupts
            # travel as messages
            self.kernel_spec.interrupt_mode = "message"
        argv, kw["env"] = kernel_command(
            list(kernel_cmd), env, kw.get("cwd"), sockets, self.connection_file
        )
        await super()._async_launch_kernel(argv, **kw)
