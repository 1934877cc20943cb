"""Autograde a class: parallel, limited, interruptible, and with one gradebook writer.

Glossary: the processes of a grading run, outermost first. These names, and only these, are
used for them in code, docstrings and messages of :mod:`autograder.grading`,
:mod:`autograder.judge` and :mod:`autograder.checks`.

main process
    ``python -m autograder autograde`` (:mod:`.run`): lists the submissions, makes one
    :class:`~.records.Task` each, and is the only writer of the class gradebook.
pool process
    One of ``--workers`` processes of a ``ProcessPoolExecutor`` (:mod:`.supervise`), or one
    per thread of a Dask worker with ``--scheduler`` (:mod:`.cluster`), a subreaper: forks a
    grading child per task, kills it (and every process below it) when its wall-clock budget
    is spent, and kills what a notebook left running.
grading child
    The forked process that grades one submission (:mod:`.child`): own session, memory and
    file-size limits (inherited by its kernel), not dumpable. Static checks, then nbgrader,
    then the judge, in this process; writes a :class:`~.records.Result`.
kernel
    The IPython kernel nbgrader starts to run the student's notebook: untrusted. Its launch
    is built in one place, :mod:`.kernel` (IPC sockets in the child's runtime folder;
    :func:`.kernel.kernel_command` starts it inside the submission's bubblewrap sandbox,
    :mod:`autograder.sandbox`).
judge
    The code that makes verdicts (:mod:`autograder.judge.verdicts`): computes references,
    compares, diagnoses, from the lessons' checks as data (:mod:`autograder.checks`); never
    runs student code. It runs inside the grading child
    (``verify_notebook(in_process=True)``) or, for ``check`` called in a kernel, as a
    *judge process* (a fresh ``python -I``, :mod:`autograder.judge.process`).
sandbox worker
    The ``python -I`` process the judge starts to run student functions and cells
    (:mod:`autograder.judge.worker`): own session, memory, CPU and file-size limits, the
    answer key blocked; it sends back plain arrays only. Its launch is built in one place,
    :func:`autograder.judge._launch.sandbox_worker_command` (inside the same bubblewrap
    sandbox as the kernel during class grading); the judge's end of it is
    :class:`autograder.judge.sandbox_handle.SandboxWorkerHandle`.

Every time budget of these processes derives from one :class:`autograder.limits.Limits`
(declared once, below every layer that reads it; see :mod:`autograder.limits` for how the
clocks nest). The layers of the code, top down (checked by import-linter, contracts in
``pyproject.toml``): the command line, this pipeline, the judge (:mod:`autograder.judge`), the
sandbox (:mod:`autograder.sandbox`), the checks as data (:mod:`autograder.checks`), the
reference (:mod:`rnnref`). Stages, one module each:

* :mod:`.records` (what crosses processes),
  :mod:`.sources` (what the instructor's side knows), :mod:`.nbconfig` and :mod:`.kernel`
  (nbgrader's configuration, the kernel's launch);
* in the grading child: :mod:`.static` (checks before anything runs), :mod:`.child` (the
  steps), :mod:`.outcome` (reading back what nbgrader did);
* :mod:`.supervise` (the pool process), :mod:`.run` (the main process), :mod:`.cluster`
  (the same pool processes on the workers of a Dask cluster: ``autograde --scheduler``).

The names below are loaded on first use, so that importing one stage does not load them all.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Limits": "limits",
    "Task": "records",
    "Result": "records",
    "CellResult": "records",
    "HIDDEN_RE": "sources",
    "strip_hidden": "sources",
    "files_hash": "sources",
    "judge_covers": "sources",
    "InfrastructureError": "outcome",
    "INFRA_RE": "outcome",
    "grade_task": "supervise",
    "kill_tree": "supervise",
    "RunReport": "run",
    "autograde": "run",
    "find_submissions": "run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
