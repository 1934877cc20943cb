"""The kernel's launch: the one place that decides how a grading kernel is started.

nbgrader starts the kernel through nbclient and jupyter_client. What the grader decides
about it is here and nowhere else:

* :func:`kernel_config`: the kernel talks over IPC sockets in the grading child's private
  runtime folder, not TCP ports (parallel grading children raced for ports:
  ``ZMQError: Address already in use``);
* :func:`kernel_command`: the kernel's command line and environment, ``argv -> argv`` plus
  the environment (and the folder it runs in). Today it passes both through unchanged; a
  sandbox (bubblewrap, say) wraps the command here;
* :class:`GradingKernelManager`: the kernel manager every grading kernel gets (set by
  :class:`autograder.limited_execute.LimitedExecute`), which runs :func:`kernel_command`.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager


def kernel_config(c, runtime: Path) -> None:
    """Point the kernel's sockets at ``runtime`` (a short path: IPC socket names must stay
    under ~100 characters)."""
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(runtime / "k")


def kernel_command(
    argv: list[str], env: dict[str, str], cwd: str | None
) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a grading kernel that will run in ``cwd`` (the
    autograded notebook's folder)."""
    return argv, env


class GradingKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, launching through :func:`kernel_command`."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        # jupyter_client's documented hook for launching kernels differently
        env = dict(kw.get("env") or os.environ)
        argv, kw["env"] = kernel_command(list(kernel_cmd), env, kw.get("cwd"))
        await super()._async_launch_kernel(argv, **kw)
