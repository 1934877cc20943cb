"""Every limit of a grading run, declared once, and every time budget derived from them.

Four clocks nest, innermost first (the names are those of the glossary in
:mod:`autograder.grading`):

1. ``judge_timeout`` seconds: the judge's wall clock for one call of a student function (or
   one notebook cell) in the sandbox worker. The judge itself notices the overrun, stops the
   call and writes a message naming the function.
2. :meth:`Limits.sandbox_worker_cpu_seconds`: ``RLIMIT_CPU`` of the sandbox worker, a
   backstop for CPU that escapes the per-call clock (``SIGXCPU``), reported by the judge
   as a crash of the call in flight.
3. :meth:`Limits.judge_seconds`: the wall clock of a whole judge process (``check`` from a
   kernel, or ``verify_notebook`` in its own interpreter), enforced by whoever started it.
4. :meth:`Limits.grading_child_seconds`: the pool process's wall clock for one grading child
   (every notebook of a submission: nbgrader with its ``notebook_timeout``, then the judge).

Invariant (tested in ``tests/test_grading_records.py``): each outer clock leaves the inner
one room to fire first, so a budget is never cut short by the process outside it: a judge
process outlives ``judge_timeout`` plus its start-up, and the grading child gets, per
notebook, nbgrader's whole ``notebook_timeout`` plus a whole judge budget, plus a margin for
its own start and the gradebook copy.

The sandbox worker's set-up (blocking the answer key, loading a check's payload) has its own
fixed ``SANDBOX_SETUP_SECONDS``, inside the judge's budget.

This module imports nothing heavy: the kernel-side ``check`` and the judge use it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

JudgeMode = Literal["check", "notebook"]

# Seconds a started judge process or grading child may take beyond the clocks inside it:
# interpreter start-up, imports, copying folders, writing the result.
JUDGE_START_SECONDS = {"check": 60, "notebook": 120}
GRADING_CHILD_START_SECONDS = 60
# Seconds the sandbox worker gets to set up (block the answer key, load a check's payload).
SANDBOX_SETUP_SECONDS = 30


@dataclass(frozen=True)
class Limits:
    """What student code may use while one submission is graded (``autograde``'s options)."""

    cell_timeout: int = 60  # seconds per notebook cell in the kernel
    notebook_timeout: int = 300  # seconds per notebook in the kernel (kernel start included)
    memory_mb: int = 4096  # address space of the grading child and its kernel
    max_output_chars: int = 20000  # output kept per cell
    judge_timeout: float = 10  # seconds per call of a student function in the sandbox worker
    file_size_mb: int = 512  # largest file student code may write
    autograded_files: int = 100  # files that come back into autograded/ per submission
    autograded_mb: int = 50  # and their total size

    def sandbox_worker_cpu_seconds(self, mode: JudgeMode) -> int:
        """``RLIMIT_CPU`` of the sandbox worker: 6 calls' worth for one ``check`` (at least a
        minute), 30 for a whole notebook's cells and checks (at least five minutes)."""
        if mode == "notebook":
            return int(max(300, 30 * self.judge_timeout))
        return int(max(60, 6 * self.judge_timeout))

    def judge_seconds(self, mode: JudgeMode) -> float:
        """Wall clock of one judge process: its start-up plus 20 calls (``check``) or 40
        (a notebook: its cells, then every check of the lesson)."""
        calls = 40 if mode == "notebook" else 20
        return JUDGE_START_SECONDS[mode] + calls * self.judge_timeout

    def grading_child_seconds(self, notebooks: int, judged: bool) -> float:
        """Wall clock the pool process gives one grading child of ``notebooks`` notebooks:
        for each, nbgrader's ``notebook_timeout`` plus, when the judge re-grades the
        assignment, a whole judge budget."""
        judge = self.judge_seconds("notebook") if judged else 0
        return max(1, notebooks) * (self.notebook_timeout + judge) + GRADING_CHILD_START_SECONDS

    def as_dict(self) -> dict:
        return asdict(self)
