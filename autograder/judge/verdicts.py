"""The judge: grades student functions it never runs itself (glossary: :mod:`autograder.grading`).

:func:`handle` serves one request: in a judge process (:mod:`.process`, a pristine
``python -I``, for :func:`autograder.judge.check`: one cloudpickle payload it passes on
unopened, or :func:`autograder.judge.verify_notebook`: a notebook file), or inside the
grading child. It starts one sandbox worker under resource limits, sends it inputs, reads
back plain arrays only, and compares them with the reference computed here. A judge process
reads one JSON request frame (and, for a check, one payload frame) on stdin and writes one
JSON report on stdout.
"""

import json
import secrets
import time
from pathlib import Path

import numpy as np

from autograder.checks import find_lesson
from autograder.checks.demo import skipped
from autograder.checks.spec import MetricSpec
from autograder.judge._launch import sandbox_worker_budget
from autograder.judge.sandbox_handle import CallTimeout, SandboxWorkerHandle, WorkerDied
from autograder.limits import SANDBOX_SETUP_SECONDS

_isfinite, _abs, _max, _sum, _array_equal = np.isfinite, np.abs, np.max, np.sum, np.array_equal


def _err(got, want):
    """``max|got - want| / max|want|``: a relative error that tiny entries cannot inflate."""
    scale = max(float(_max(_abs(want))) if want.size else 0.0, 1e-8)
    return float(_max(_abs(got - want))) / scale if want.size else 0.0


class Fail(Exception):
    pass


def _case_label(case):
    return ", ".join(f"{k}={v}" for k, v in case.items())


def _hint_for_error(spec, text):
    for needle, hint in spec.errors:
        if needle in text:
            return f" Likely cause: {hint}"
    return ""


def _call(worker, spec, fn, args, timeout, keep=None, memory_mb=0, adapter=None):
    try:
        header, arrays = worker.request(
            {"op": "call", "fn": fn, "args": args, "keep": keep, "adapter": adapter}, timeout
        )
    except CallTimeout:
        worker.restart()
        raise Fail(
            f"{fn} did not return within {timeout:g} s (an infinite loop?); it was stopped."
        ) from None
    except WorkerDied as exc:
        worker.restart()
        raise Fail(f"{fn} crashed the grading process: {exc}.") from None
    if not header.get("ok"):
        error = str(header.get("error", "unknown error"))
        if header.get("memory") or error.startswith("MemoryError"):
            raise Fail(f"{fn} ran out of memory (limit {memory_mb} MB): {error}")
        if error.startswith("NotImplementedError"):  # the release's stub, left as it was
            raise Fail(
                f"{fn} is not written yet: it still raises NotImplementedError (write it "
                "below `# YOUR CODE HERE` and delete the `raise NotImplementedError()` line)."
            )
        raise Fail(f"{fn} raised {error}.{_hint_for_error(spec, error)}")
    return header, arrays


def _unpack(fn, header, arrays, names):
    kinds = header.get("kinds", [])
    if len(names) > 1 and not header.get("tuple"):
        raise Fail(f"{fn} returned a {kinds[0] if kinds else '?'}; expected a tuple {names}.")
    if len(kinds) != len(names):
        raise Fail(f"{fn} returned {len(kinds)} values; expected {len(names)}: {names}.")
    got, it = {}, iter(arrays)
    for name, kind in zip(names, kinds, strict=True):
        # only arrays of real numbers cross from the sandbox worker; any other array comes
        # as its kind, "ndarray of dtype object" say (its elements may lie about themselves)
        arr = next(it, None) if kind == "ndarray" else None
        if name is None:
            continue
        if str(kind).startswith("ndarray of dtype "):
            dtype = str(kind)[len("ndarray of dtype ") :]
            raise Fail(
                f"{fn}: the output {name} has dtype {dtype}, not a real floating dtype; "
                "it must be a float array (float64), e.g. built with np.zeros or np.tanh."
            )
        if arr is None:
            raise Fail(f"{fn}: {name} is a {kind}; expected a NumPy float array.")
        if arr.dtype.kind != "f":
            raise Fail(f"{fn}: {name} has dtype {arr.dtype}; expected a float array (float64).")
        got[name] = arr
    return got


def _diagnose(spec, ci, inputs, name, got, want, variants):
    """``(what is wrong, likely cause or "")`` for one output that failed on case ``ci``."""
    if got.shape != want.shape:
        hint = ""
        if got.shape == want.shape[::-1]:
            hint = " (the transpose: check the orientation, e.g. x @ Wx with Wx of shape (D, H))"
        return f"{name} has shape {got.shape}, expected {want.shape}{hint}", ""
    if not _isfinite(got).all():
        return f"{name} contains NaN or inf", ""
    what = f"{name} (relative error {_err(got, want):.1e})"
    for k, (text, _) in enumerate(spec.mistakes):
        if text not in variants:
            try:
                variants[text] = spec.mistake_outputs(ci, k, inputs)
            except (ValueError, IndexError):  # the mistake cannot occur at these shapes
                variants[text] = {}
        alt = variants[text].get(name)
        if alt is not None and alt.shape == got.shape and _err(got, alt) <= spec.tol:
            return what, text
    if _err(got, -want) <= spec.tol:
        return what, "the sign is flipped."
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _err(got, want.T) <= spec.tol:
        return what, "transposed (e.g. Wh @ h instead of h @ Wh, or a misplaced .T)."
    return what, ""


def _summarise(spec, diagnoses):
    """One sentence per likely cause, naming the quantities it explains."""
    by_cause = {}
    for what, cause in diagnoses:
        by_cause.setdefault(cause, []).append(what)
    parts = []
    for cause, whats in by_cause.items():
        shapes = [w for w in whats if "shape" in w or "NaN" in w]
        errs = [w for w in whats if w not in shapes]
        text = "; ".join(shapes)
        if errs:
            verb = "is" if len(errs) == 1 else "are"
            text += ("; " if text else "") + (
                f"{', '.join(errs)} {verb} wrong (tolerance {spec.tol:.0e})"
            )
        parts.append(text + "." + (f" Likely cause: {cause}" if cause else ""))
    return " ".join(parts)


def _gradcheck(worker, spec, inputs, got, timeout, adapter=None, h=1e-5):
    """Central differences of the student's own forward; ``(name -> error)`` or a reason."""
    fargs = [inputs[a] for a in spec.forward_args]
    perturb = []
    for iname in spec.wrt.values():
        i = spec.forward_args.index(iname)
        for flat in range(fargs[i].size):
            perturb += [(i, flat, h), (i, flat, -h)]
    try:
        header, arrays = worker.request(
            {
                "op": "perturb",
                "fn": spec.forward,
                "args": fargs,
                "out": list(spec.forward_outs),
                "perturb": perturb,
                "adapter": adapter,
            },
            timeout,
        )
    except (CallTimeout, WorkerDied):
        worker.restart()
        return "the numerical gradient check of your forward did not finish"
    if not header.get("ok") or len(arrays) != 1 or arrays[0].dtype.kind != "f":
        return "the numerical gradient check could not run your forward"
    # Each row holds the checked outputs flattened and concatenated, so the loss is the dot
    # product with the upstream gradients concatenated the same way.
    rows = arrays[0]
    dout = np.concatenate([inputs[u].ravel() for u in spec.upstreams])
    if rows.ndim != 2 or rows.shape[1] != dout.size:
        return "your forward's output has the wrong shape for a gradient check"
    fp = rows[0::2] @ dout
    fm = rows[1::2] @ dout
    num_all, errors, k = (fp - fm) / (2 * h), {}, 0
    for gname, iname in spec.wrt.items():
        n = inputs[iname].size
        num = num_all[k : k + n].reshape(inputs[iname].shape)
        k += n
        if gname in got and got[gname].shape == num.shape:
            errors[gname] = _err(got[gname], num)
    return errors


def _reported(spec, worker, report, run):
    """``report`` after ``run()`` has filled it: a failure becomes its message, a worker that
    hung or died is restarted for the next spec, and the seconds spent are added."""
    t0 = time.monotonic()
    try:
        run()
    except Fail as exc:
        report["message"] = str(exc)
    except (CallTimeout, WorkerDied) as exc:
        worker.restart()
        report["message"] = f"{spec.name}: grading stopped ({type(exc).__name__}: {exc})."
    report["seconds"] = round(time.monotonic() - t0, 3)
    return report


def run_metric(spec, worker, timeout, memory_mb):
    """Check a :class:`MetricSpec`: call the student's function once, evaluate here."""
    report = {"name": spec.name, "passed": False}

    def run():
        worker.request({"op": "reset"}, timeout)
        header, arrays = _call(worker, spec, spec.name, [], timeout, None, memory_mb, spec.adapter)
        got = _unpack(spec.name, header, arrays, spec.outputs)
        report["passed"], report["message"] = spec.evaluate(got)

    return _reported(spec, worker, report, run)


def _forward_cache(worker, spec, specs, inputs, timeout, memory_mb, sent):
    """Run the student's forward to keep its cache (handle ``"fwd"``) for a backward's
    check; returns the cache's index among the forward's outputs."""
    cache_index = specs[spec.forward].outputs.index(None)
    fargs = [inputs[a] for a in spec.forward_args]
    sent += list(zip(spec.forward_args, fargs, strict=True))
    adapter = specs[spec.forward].adapter
    try:
        args = [("a", a) for a in fargs]
        header, _ = _call(worker, spec, spec.forward, args, timeout, "fwd", memory_mb, adapter)
    except Fail as exc:
        raise Fail(f"{spec.name} needs the cache of {spec.forward}, but {exc}") from None
    if len(header.get("kinds", [])) <= cache_index:
        raise Fail(
            f"{spec.name} needs the cache of {spec.forward}, which returned "
            f"{len(header.get('kinds', []))} values."
        )
    return cache_index


def _call_args(spec, inputs, cache_index, sent):
    """The checked function's arguments: arrays sent by value, the cache by handle."""
    args = []
    for a in spec.args:
        if a == "cache":
            args.append(("h", "fwd", cache_index))
        else:
            args.append(("a", inputs[a]))
            sent.append((a, inputs[a]))
    return args


def _compare(spec, ci, inputs, got, expected, report):
    """Problems of the outputs against the reference (one summary sentence, or none);
    records the largest error of those that passed in ``report``."""
    variants, diagnoses = {}, []
    for name in (n for n in spec.outputs if n is not None):
        want = expected[name]
        e = _err(got[name], want) if got[name].shape == want.shape else np.inf
        if not (e <= spec.tol):
            diagnoses.append(_diagnose(spec, ci, inputs, name, got[name], want, variants))
        else:
            report["max_error"] = max(report["max_error"], e)
    return [_summarise(spec, diagnoses)] if diagnoses else []


def _changed_inputs(worker, sent, timeout):
    """Names of the inputs the student's code modified in place."""
    _, after = worker.request({"op": "snapshot"}, timeout)
    changed = [n for (n, a), b in zip(sent, after, strict=False) if not _array_equal(a, b)]
    if len(after) != len(sent):
        changed = ["(could not verify)"]
    return changed


def _gradcheck_problems(worker, spec, specs, inputs, got, timeout, report, problems):
    """The gradient check against the student's own forward, as sentences for ``problems``."""
    gc = _gradcheck(worker, spec, inputs, got, timeout, specs[spec.forward].adapter)
    if not isinstance(gc, dict):
        return []
    report["gradcheck_error"] = max([report.get("gradcheck_error", 0.0), *gc.values()])
    bad = [g for g, e in gc.items() if e > spec.grad_tol]
    if problems and not bad:
        return [
            f"Your gradients agree with central differences of your own "
            f"{spec.forward}, so the forward itself (or its cache) is wrong: "
            f"fix {spec.forward} first."
        ]
    if bad:
        return [
            "Numerical check against your own forward: "
            + ", ".join(f"{g} error {gc[g]:.1e}" for g in bad)
            + "."
        ]
    return []


def _run_case(spec, specs, worker, limits, ci, case, report):
    """One case of ``spec``: raises :class:`Fail` with the message when it fails."""
    timeout, memory_mb, case_seed = limits
    inputs = spec.case_inputs(ci, case, case_seed)
    expected = spec.expected(ci, inputs)
    where = f" (case {_case_label(case)})"
    worker.request({"op": "reset"}, timeout)
    sent, cache_index = [], None
    if spec.forward:
        cache_index = _forward_cache(worker, spec, specs, inputs, timeout, memory_mb, sent)
    args = _call_args(spec, inputs, cache_index, sent)
    header, arrays = _call(worker, spec, spec.name, args, timeout, None, memory_mb, spec.adapter)
    got = _unpack(spec.name, header, arrays, spec.outputs)
    problems = _compare(spec, ci, inputs, got, expected, report)
    changed = _changed_inputs(worker, sent, timeout)
    if spec.forward and ci < spec.gradcheck_cases:
        problems += _gradcheck_problems(worker, spec, specs, inputs, got, timeout, report, problems)
    if problems:
        raise Fail(f"{spec.name}{where}: " + " ".join(problems))
    if changed:
        raise Fail(
            f"{spec.name}{where} modified its input(s) {', '.join(changed)} in place "
            f"(e.g. `x += ...` or `x[...] = ...`): compute into new arrays instead."
        )


def _passed_message(spec, report):
    return (
        f"{spec.name}: passed {report['cases']} cases, max relative error "
        f"{report['max_error']:.1e} (tolerance {spec.tol:.0e}), inputs unchanged"
        + (
            f", gradient check {report['gradcheck_error']:.1e}"
            if "gradcheck_error" in report
            else ""
        )
    )


def run_spec(spec, specs, worker, timeout, memory_mb, case_seed):
    """Check one function on every case (inputs drawn with ``case_seed``); returns the report
    dict."""
    if isinstance(spec, MetricSpec):
        return run_metric(spec, worker, timeout, memory_mb)
    report = {"name": spec.name, "passed": False, "cases": 0, "max_error": 0.0}

    def run():
        for ci, case in enumerate(spec.cases):
            _run_case(spec, specs, worker, (timeout, memory_mb, case_seed), ci, case, report)
            report["cases"] += 1
        report["passed"] = True
        report["message"] = _passed_message(spec, report)

    return _reported(spec, worker, report, run)


def _handle_check(req, payload, mod, worker, timeout, memory_mb, case_seed):
    """Load the pickled function into the sandbox worker, then run its check."""
    load = ({"op": "load", "payload": payload}, SANDBOX_SETUP_SECONDS)
    header, _ = worker.request(*load)
    if not header.get("ok"):
        return {
            "name": req["name"],
            "passed": False,
            "message": f"could not load your function: {header.get('error')}",
        }
    worker.setup.append(load)
    return run_spec(mod.SPECS[req["name"]], mod.SPECS, worker, timeout, memory_mb, case_seed)


def _cells_to_run(cells, skip, demos):
    """``(index, source)`` of the code cells to run: not the test cells, nor the unchanged
    demo cells nothing reads."""
    runs = []
    for i, cell in enumerate(cells):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("grade_id") in skip or (meta.get("grade") and not meta.get("solution")):
            continue
        src = cell.get("source", "")
        runs.append((i, "".join(src) if isinstance(src, list) else str(src)))
    left_out = skipped([src for _, src in runs], demos)
    return [run for k, run in enumerate(runs) if k not in left_out]


def _with_captures(cells, runs, captures):
    """``runs`` with a capture step at each test cell of ``captures`` (``{grade_id:
    [function names]}``): ``(index, source)`` for a cell to run, ``(index, (names,
    graded))`` for the graded functions to keep as they stand when the test cell of
    ``names`` runs."""
    steps = list(runs)
    for i, cell in enumerate(cells):
        gid = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
        if gid in captures:
            steps.append((i, list(captures[gid])))
    graded = sorted({name for names in captures.values() for name in names})
    # a test cell comes after the cells before it (a stable sort keeps the rest in order)
    return [
        (i, (src, graded) if isinstance(src, list) else src)
        for i, src in sorted(steps, key=lambda step: step[0])
    ]


def _exec_cells(worker, runs, timeout):
    """Run the cells in the sandbox worker (each replayed after a restart); returns the
    errors of those that failed. A failing cell does not stop the next. A capture step
    (see :func:`_with_captures`) keeps the graded functions as a test cell saw them, for
    :func:`_as_tested`: later redefinitions do not count."""
    errors = []
    for i, src in runs:
        if isinstance(src, tuple):
            msg = ({"op": "capture", "names": src[0], "graded": src[1]}, timeout)
        else:
            msg = ({"op": "exec", "source": src, "index": i}, timeout)
        try:
            header, _ = worker.request(*msg)
            worker.setup.append(msg)
            if not header.get("ok"):
                errors.append(f"code cell {i}: {header.get('error')}")
        except CallTimeout:
            errors.append(f"code cell {i}: did not finish within {timeout:g} s")
            worker.restart()
        except WorkerDied as exc:
            errors.append(f"code cell {i}: {exc}")
            worker.restart()
    return errors


def _as_tested(worker, name, timeout):
    """Put back the graded functions as the test cell of ``name`` saw them (replayed after
    a restart, in order, so the last one holds)."""
    restore = ({"op": "restore", "name": name}, timeout)
    try:
        worker.request(*restore)
        worker.setup.append(restore)
    except (CallTimeout, WorkerDied):
        worker.restart()


def _read_code_cells(req):
    """The notebook's code cells, or the report of every function when it cannot be read."""
    try:
        nb = json.loads(Path(req["path"]).read_text(encoding="utf-8"))
        return [c for c in nb["cells"] if c.get("cell_type") == "code"], None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"the notebook could not be read: {type(exc).__name__}: {exc}"
        functions = {f: {"name": f, "passed": False, "message": msg} for f in req["functions"]}
        return None, {"functions": functions, "cell_errors": []}


def handle(req, payload, proc=None):
    """Serve one judge request; ``proc`` is a sandbox worker already started for it (see
    :mod:`.process`), or None. Mode ``check``: one pickled function. Mode
    ``notebook``: run the file's cells (test cells excluded), then every check."""
    mod = find_lesson(req.get("name"), req.get("lesson"))
    timeout = float(req.get("timeout", 10))
    # fresh cases for every request unless the caller fixes them
    case_seed = req.get("case_seed")
    case_seed = secrets.randbits(63) if case_seed is None else int(case_seed)
    memory_mb, cpu_seconds, cwd = sandbox_worker_budget(req)
    if req["mode"] == "check":
        worker = SandboxWorkerHandle(memory_mb, cpu_seconds, mod.BLOCKED, proc=proc)
        try:
            return _handle_check(req, payload, mod, worker, timeout, memory_mb, case_seed)
        finally:
            worker.close()
    cells, unreadable = _read_code_cells(req)
    if unreadable is not None:
        return unreadable
    worker = SandboxWorkerHandle(memory_mb, cpu_seconds, mod.BLOCKED, cwd=cwd, proc=proc)
    runs = _cells_to_run(cells, set(req.get("skip_ids", [])), req.get("skip_sources", []))
    runs = _with_captures(cells, runs, req.get("captures", {}))
    result = {"functions": {}, "cell_errors": []}
    try:
        result["cell_errors"] = _exec_cells(worker, runs, timeout)
        for name in req["functions"]:
            if req.get("captures"):
                _as_tested(worker, name, timeout)
            result["functions"][name] = run_spec(
                mod.SPECS[name], mod.SPECS, worker, timeout, memory_mb, case_seed
            )
    finally:
        worker.close()
    return result
