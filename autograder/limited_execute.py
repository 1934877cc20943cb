"""nbgrader's Execute preprocessor with a per-notebook time budget and an output cap.

- ``cell_timeout`` (nbgrader's ``Execute.timeout``): a cell running longer is interrupted and
  gets a ``CellTimeoutError`` output; the next cells still run.
- ``notebook_timeout``: the whole notebook (kernel start included) gets this many seconds;
  each cell's timeout is cut to what is left, and once the budget is spent the remaining
  cells are not run at all and get a ``NotebookTimeoutError`` output (so a test cell that
  could not run scores 0, and the cells that ran before keep their points).
- ``skip_sources``: normalized sources of the release's ``demo`` cells (plots, experiments
  that nothing graded depends on). A submitted cell with exactly such a source is not run
  (it gets a one-line note instead) unless a cell that runs reads what it defines; see
  :mod:`autograder.checks.demo`.
- a cell that kills the kernel (``os._exit``, a segfault, the memory limit) gets a
  ``DeadKernelError`` output naming it; the kernel is restarted, the code cells before it run
  again (their outputs kept from the first run), and grading goes on with the next cell, so
  the tests that ran before keep their points and the later ones still run. After
  ``max_restarts`` deaths the remaining cells are not run.
- a cell that runs past its time limit and cannot be interrupted (it ignores ``SIGINT``, or
  is stuck in C code) gets a ``CellTimeoutError`` output and is handled like a cell that
  killed the kernel: restarted, the cells before it run again, grading goes on.
- the kernel is started by :class:`autograder.grading.kernel.GradingKernelManager`, the one
  place that builds the kernel's launch.
- ``max_output_chars``: output beyond this many characters per cell is dropped while the
  cell runs (not after: a cell printing gigabytes must not fill the grader's memory), with
  one ``[output truncated]`` line in its place.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

from autograder import safefiles
from autograder.checks.demo import skipped
from autograder.grading.kernel import GradingKernelManager
from autograder.limits import Limits


class LimitedExecute(Execute):
    notebook_timeout = Integer(Limits.notebook_timeout, help="Seconds for a whole notebook.").tag(
        config=True
    )
    max_output_chars = Integer(
        Limits.max_output_chars, help="Output characters kept per cell."
    ).tag(config=True)
    skip_sources = List(Unicode(), help="Normalized sources of cells not to run.").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts per notebook after a cell killed it.").tag(
        config=True
    )

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute sets its own default the same way (a keyword, which config
        # cannot override)
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.notebook_timeout
        self._cell_timeout = self.timeout
        self._chars: dict[int, int] = {}
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        left_out = skipped([nb.cells[i].source for i in code], self.skip_sources)
        self._skip = {code[k] for k in left_out}
        self._died: list[int] = []  # indices of the cells that killed the kernel
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self.timeout = self._cell_timeout
            # the kernel has ended; nbgrader writes the notebook into its folder next: a
            # link the student's code put there would be followed by that write
            where = (resources or {}).get("metadata", {}).get("path")
            if where:
                self.pruned = safefiles.prune(Path(where))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, self.resources
        if index in self._skip:
            cell.outputs = [
                new_output("stream", name="stdout", text="[demo cell: not run while grading]\n")
            ]
            cell.execution_count = None
            return cell, self.resources
        left = self._deadline - time.monotonic()
        if left < 1:
            cell.outputs = [
                new_output(
                    "error",
                    ename="NotebookTimeoutError",
                    evalue=f"not run: the notebook's time limit ({self.notebook_timeout} s) "
                    "was used up by earlier cells",
                    traceback=[],
                )
            ]
            return cell, self.resources
        if len(self._died) > self.max_restarts:
            cell.outputs = [_not_run(len(self._died))]
            return cell, self.resources
        base = self._cell_timeout if self._cell_timeout and self._cell_timeout > 0 else left
        self.timeout = max(1, int(min(base, left)))
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs = [_died(index)]
        except CellTimeoutError:
            # the interrupt did not stop the cell (it ignores SIGINT, or is stuck in C code):
            # without this the error would end nbgrader's run and zero every test
            cell.outputs = [_stuck(index, self.timeout)]
        else:
            return cell, self.resources
        self._died.append(index)
        if len(self._died) <= self.max_restarts:
            self._revive(index)
        return cell, self.resources

    def _revive(self, index: int) -> None:
        """Restart the dead kernel and run the code cells before ``index`` again (copies:
        the notebook keeps the outputs of their first run). A death while doing so counts
        as one more."""
        try:
            run_sync(self._async_restart)()
            chars = dict(self._chars)
            for i, cell in enumerate(self.nb.cells[:index]):
                if cell.cell_type == "code" and i not in self._skip and i not in self._died:
                    self.execute_cell(copy.deepcopy(cell), i, store_history=False)
            self._chars = chars
        except (DeadKernelError, CellTimeoutError):
            self._died.append(index)
            if len(self._died) <= self.max_restarts:
                self._revive(index)

    async def _async_restart(self) -> None:
        await ensure_async(self.km.restart_kernel(now=True))
        self.kc.stop_channels()
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        self.kc.allow_stdin = False

    def output(self, outs, msg, display_id, cell_index) -> NotebookNode | None:
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
        size += sum(len(str(x)) for x in content.get("traceback", []) or [])
        used = self._chars.get(cell_index, 0)
        self._chars[cell_index] = used + size
        if used + size <= self.max_output_chars or msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.max_output_chars:
            note = new_output(
                "stream",
                name="stderr",
                text=f"\n[output truncated: more than {self.max_output_chars} characters]\n",
            )
            outs.append(note)
            return note
        return None


def _died(index: int):
    return new_output(
        "error",
        ename="DeadKernelError",
        evalue=f"the kernel died while running this cell (cell {index + 1}: os._exit, a crash "
        "or the memory limit); it was restarted and the cells before this one run again",
        traceback=[],
    )


def _stuck(index: int, seconds: int):
    return new_output(
        "error",
        ename="CellTimeoutError",
        evalue=f"cell {index + 1} was still running after {seconds} s and could not be "
        "interrupted; the kernel was restarted and the cells before this one run again",
        traceback=[],
    )


def _not_run(deaths: int):
    why = f"not run: the kernel died or was stuck {deaths} times in the cells above"
    return new_output("error", ename="DeadKernelError", evalue=why, traceback=[])
