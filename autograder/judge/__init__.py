"""The judge: the processes that grade student functions, and their client API.

The lessons' hidden tests call :func:`check`; the instructor's side calls
:func:`verify_notebook`. What is checked (the lessons as data, their mistakes and messages,
the lesson registry) lives in :mod:`autograder.checks`; this package is how.

Student code is untrusted: it may rebind helpers, monkeypatch NumPy, return objects with a
fake ``.shape``, inspect its caller's frames, loop forever or allocate without bound. So it
never runs where verdicts are made.

Processes (names as in the glossary of :mod:`autograder.grading`)::

    kernel (untrusted)          judge process (python -I)      sandbox worker (student code)
    check(name, fn) ---------> reference outputs, comparisons ----> runs fn under limits
      cloudpickle(fn) by value  never unpickles student code        RLIMIT_AS, RLIMIT_CPU,
      JSON report <----------- numerical gradients (own numpy) <--- wall timeout, own session
                                                                     replies: np.save bytes

* ``check`` pickles the student's function by value with cloudpickle (functions from
  ``__main__`` travel with the globals they use; modules such as numpy travel by reference, so
  a monkeypatched numpy in the kernel stays there) and starts a JUDGE PROCESS, a fresh
  ``python -I`` interpreter that makes itself non-dumpable (its memory cannot be read through
  ``/proc``). The judge starts a SANDBOX WORKER (``python -I``, own session, memory, CPU and
  file-size limits, a wall-clock timeout per call, the lesson's reference modules blocked
  from import) and hands it the payload unopened. Every time budget derives from
  :class:`autograder.limits.Limits`.
* The judge sends inputs; the sandbox worker returns plain arrays only: ``np.save`` bytes,
  read with ``np.load(allow_pickle=False)``; exact ``ndarray`` with a float dtype required.
  What cannot be an array (the student's ``cache``) stays in the sandbox worker behind a
  handle that the judge passes to the backward call. Inputs are snapshotted after each case
  to detect mutation.
* Every request draws its own cases (the spec's shapes, inputs from a fresh ``case_seed``),
  so outputs seen once, or stored in a student bundle, cannot be hard-coded into a pass.
* Expected values are computed in the judge from :mod:`rnnref`; backward functions are also
  compared with central differences of the student's own forward (one batched request), using
  NumPy functions the judge bound at import. Failures match known wrong variants computed in
  the judge (``autograder/checks/lessonNN.py``), so messages name the quantity, the error, the
  tolerance and the likely cause. ``check`` prints a short summary or raises AssertionError.

In-kernel code can still be subverted (a cell can rebind ``check`` or silence errors with
``get_ipython().set_custom_exc``), so the out-of-kernel authority is :func:`verify_notebook`.

API for the instructor command line
-----------------------------------
``verify_notebook(notebook_path, lesson=None, timeout=10, memory_mb=1024) -> dict``
    Re-grades a submitted notebook FILE: the sandbox worker executes its code cells except test
    cells and unchanged ``demo`` cells (see :func:`autograder.checks.demo_sources`) (IPython
    syntax transformed to Python; magics, shell lines and ``get_ipython()`` hooks do nothing; a
    failing cell does not stop the next; ``timeout`` seconds per cell and per check call), then
    the judge runs every hidden check of the lesson on each graded function as it stood when its
    test cell ran (later redefinitions do not count). ``lesson`` is the assignment name
    (``"01_vanilla_rnn"``), by default taken from the file or folder name. Grade cells, their
    points and the functions they check come from the trusted SOURCE notebook in ``solutions/``,
    never from the submission. Returns ``{grade_id: {"passed": bool, "points": float,
    "max_points": float, "message": str, "functions": [names], "cell_errors": [str]}}``
    (``cell_errors``: the notebook's failing cells, the same list in every entry; ``checked``:
    False where the checks cannot be made here, see :mod:`autograder.checks.stored`). A test cell
    that nbgrader scored as passed but that fails here is tampering (or a flaky test).

Modules: :mod:`.verdicts` (the judge's work: references, comparisons, diagnoses),
:mod:`.worker` (the sandbox worker), :mod:`._proto` (the framing between them),
:mod:`.sandbox_handle` (the judge's end of the worker), :mod:`._launch` (how both processes
start). This file stays light: the kernel imports it, and the sandbox worker imports the
package before its own module.
"""

import json
import os
import subprocess
from pathlib import Path

from autograder.checks import demo_sources, grade_cells, lesson_of, source_notebook
from autograder.judge._launch import bootstrap, frame, request_limits

__all__ = ["check", "verify_notebook", "DEFERRED_ENV"]

# Set by ``python -m autograder autograde`` in the kernels of lessons the judge re-grades.
DEFERRED_ENV = "RNN_CHECKS_DEFERRED"


def _run_judge(request, payload=None):
    """Serve ``request`` in a judge process, within its wall-clock budget."""
    mode = "notebook" if request.get("mode") == "notebook" else "check"
    timeout = request_limits(request).judge_seconds(mode)
    data = json.dumps(request).encode()
    stdin = frame(data) + (frame(payload) if payload is not None else b"")
    try:
        proc = subprocess.run(
            bootstrap("process"), input=stdin, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, "the grading judge did not finish in time"
    try:
        return json.loads(proc.stdout), None
    except ValueError:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return None, f"the grading judge exited without a verdict ({tail[0]})"


def check(name, func, timeout=10, memory_mb=1024, quiet=False, **helpers):
    """Grade ``func`` as the lesson function ``name`` in an isolated judge.

    ``helpers`` are other student functions the check needs, by name (a backward's check
    needs the student's forward for its cache: ``rnn_step_forward=rnn_step_forward``).
    Prints a one-line summary (returns None, so a notebook cell shows only that line);
    raises AssertionError with the judge's message on failure.
    """
    if os.environ.get(DEFERRED_ENV) == "1":
        # Class autograding: the verdict comes from verify_notebook after the notebook has run
        # (it would overrule this cell anyway), so the kernel skips the judge's ~1 s per call.
        print(f"{name}: graded by the out-of-kernel judge after the notebook has run")
        return
    import cloudpickle

    try:
        payload = cloudpickle.dumps({name: func, **helpers})
    except Exception as exc:  # noqa: BLE001 (anything unpicklable in the student's globals)
        raise AssertionError(f"{name}: could not send your function to the grader: {exc}") from None
    req = {"mode": "check", "name": name, "timeout": timeout, "memory_mb": memory_mb}
    report, error = _run_judge(req, payload)
    if report is None:
        raise AssertionError(f"{name}: {error}")
    if not report.get("passed"):
        raise AssertionError(report.get("message", "failed"))
    if not quiet:
        print(report["message"])


def _judge_here(request):
    """The judge's work in this process (for a caller that is itself trusted and clean, such
    as the grading child); the student's code still runs only in the sandbox worker."""
    from autograder.judge import verdicts
    from autograder.judge._launch import sandbox_worker_budget, start_sandbox_worker

    try:
        proc = start_sandbox_worker(*sandbox_worker_budget(request))
    except (OSError, ValueError) as exc:
        return None, f"the grading worker could not start ({exc})"
    try:
        # through JSON, as from the judge process: callers get the same plain report
        return json.loads(json.dumps(verdicts.handle(request, None, proc))), None
    except Exception as exc:  # noqa: BLE001 (reported like a judge that died)
        return None, f"the grading judge failed ({type(exc).__name__}: {exc})"


def verify_notebook(
    notebook_path, lesson=None, timeout=10, memory_mb=1024, in_process=False, case_seed=None
):
    """Re-grade a notebook file out of the kernel; see the module docstring.

    ``in_process=True`` runs the judge in the calling process instead of a judge process
    (saves its start-up; only for a caller that never ran student code in its own memory).
    ``case_seed`` fixes the cases' inputs (default: fresh ones).
    """
    path = Path(notebook_path).resolve()
    lesson = lesson or lesson_of(path)
    cells = grade_cells(lesson)
    functions = list(dict.fromkeys(f for _, fns in cells.values() for f in fns))
    req = {
        "mode": "notebook",
        "path": str(path),
        "lesson": lesson,
        "functions": functions,
        "skip_ids": sorted(cells),
        "captures": {gid: fns for gid, (_, fns) in cells.items() if fns},
        "skip_sources": demo_sources(source_notebook(lesson)),
        "timeout": timeout,
        "memory_mb": memory_mb,
        "case_seed": case_seed,
    }
    if in_process:
        report, error = _judge_here(req)
    else:
        report, error = _run_judge(req)
    results = {}
    for grade_id, (points, fns) in cells.items():
        reps = [(report or {}).get("functions", {}).get(f) for f in fns]
        passed = bool(fns) and all(r and r.get("passed") for r in reps)
        message = error or " ".join(r.get("message", "") for r in reps if r and not r.get("passed"))
        results[grade_id] = {
            # False: a check that cannot be made here (a bundle's stored capstone quality bar)
            "checked": not (reps and all(r and r.get("passed", False) is None for r in reps)),
            "passed": passed,
            "points": points if passed else 0.0,
            "max_points": points,
            "message": "" if passed else message,
            "functions": fns,
            "cell_errors": (report or {}).get("cell_errors", [error] if error else []),
        }
    return results
