"""The sandbox worker: the only process that runs student code for the judge.

Started by the judge (``python -I``, resource limits, its own session; see
``_launch.start_sandbox_worker`` and the glossary in :mod:`autograder.grading`). Requests arrive on
stdin as pickles from the judge; replies leave on a private copy of the original stdout as a
JSON header plus ``np.save`` frames (see :mod:`autograder.judge._proto`). File descriptors 1
and 2 point to ``/dev/null`` while student code runs, so prints cannot corrupt the channel.
The sandbox worker keeps what cannot travel as an array (a forward's ``cache``) in ``results`` and
hands the judge only a handle. Nothing it says is trusted: the judge re-validates every byte.
"""

import importlib.abc
import os
import sys
import traceback
import types

import numpy as np

from autograder.judge import _proto


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses the lesson's graded reference modules (the answer key) in the sandbox worker."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, fullname, path=None, target=None):
        if any(fullname == n or fullname.startswith(n + ".") for n in self.names):
            raise ImportError(f"{fullname} is not available while grading")
        return None


class _IPythonStub:
    """``get_ipython()`` for notebook cells: magics, shell lines and hooks do nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _describe(exc):
    """``Type: message`` plus the last line of student code it came from."""
    text = f"{type(exc).__name__}: {exc}"[:500]
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<") or "autograder" not in frame.filename:
            if frame.filename != __file__:
                where = frame.filename if frame.filename.startswith("<") else "your code"
                text += f" (in {frame.name}, line {frame.lineno} of {where}: {frame.line!s:.120})"
                break
    return text


_CONSTANTS = (int, float, complex, str, bytes, bool, type(None))


def _names(code):
    """The global names ``code`` and the functions, lambdas and comprehensions nested in it read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


def _world(ns, graded):
    """The graded functions ``graded`` of ``ns`` and, transitively, the helper functions and
    constants of ``ns`` they read: a later cell that redefines a helper (or a constant) must not
    change what a graded function computed when its test cell ran."""
    world, todo = {}, list(graded)
    while todo:
        name = todo.pop()
        if name in world or name not in ns:
            continue
        obj = ns[name]
        if name in graded or isinstance(obj, types.FunctionType) and obj.__globals__ is ns:
            world[name] = obj
            todo.extend(_names(obj.__code__) if hasattr(obj, "__code__") else ())
        elif (
            isinstance(obj, _CONSTANTS)
            or isinstance(obj, tuple)
            and all(isinstance(v, _CONSTANTS) for v in obj)
        ):
            world[name] = obj
    return world


class SandboxWorker:
    """Serves the judge's requests (``op_*``) on the student's namespace ``ns``."""

    def __init__(self, reply_fd):
        self.reply_fd = reply_fd
        self.ns = {"__name__": "__main__", "get_ipython": lambda: _IPythonStub()}
        self.results = {}
        self.received = []
        self.captured = {}  # {name: {graded function: object}} when name's test cell ran

    def arg(self, spec):
        kind = spec[0]
        if kind == "a":
            self.received.append(spec[1])
            return spec[1]
        if kind == "h":
            return self.results[spec[1]][spec[2]]
        raise ValueError(kind)

    def call(self, fn_name, args, adapter=None):
        fn = self.ns.get(fn_name)
        if fn is None:
            raise NameError(f"{fn_name} is not defined")
        return (adapter(fn) if adapter is not None else fn)(*args)

    def op_block(self, msg):
        names = tuple(msg["names"])
        for name in list(sys.modules):
            if any(name == b or name.startswith(b + ".") for b in names):
                del sys.modules[name]
        sys.meta_path.insert(0, _Blocker(names))
        return {"ok": True}, []

    def op_load(self, msg):
        import cloudpickle

        self.ns.update(cloudpickle.loads(msg["payload"]))
        return {"ok": True}, []

    def op_exec(self, msg):
        src = msg["source"]
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            src = TransformerManager().transform_cell(src)
        except Exception:  # noqa: BLE001 (untransformable: let compile report it)
            pass
        try:
            exec(compile(src, f"<cell {msg['index']}>", "exec"), self.ns)
        except BaseException as exc:  # noqa: BLE001 (a notebook goes on after a failing cell)
            return {"ok": False, "error": _describe(exc)}, []
        return {"ok": True}, []

    def op_capture(self, msg):
        """At the test cell of ``msg["names"]``: keep, for each of them, the graded functions
        ``msg["graded"]`` as they stand now (the first capture of a name counts)."""
        world = _world(self.ns, [n for n in msg["graded"] if n in self.ns])
        for name in msg["names"]:
            self.captured.setdefault(name, world)
        return {"ok": True}, []

    def op_restore(self, msg):
        """Put back the graded functions as the test cell of ``msg["name"]`` saw them, over
        later redefinitions (nothing to do for a function no test cell captured)."""
        self.ns.update(self.captured.get(msg["name"], {}))
        return {"ok": True}, []

    def op_reset(self, msg):
        self.results.clear()
        self.received.clear()
        return {"ok": True}, []

    def op_call(self, msg):
        args = [self.arg(a) for a in msg["args"]]
        try:
            out = self.call(msg["fn"], args, msg.get("adapter"))
        except BaseException as exc:  # noqa: BLE001
            memory = isinstance(exc, MemoryError)
            return {"ok": False, "error": _describe(exc), "memory": memory}, []
        is_tuple = type(out) is tuple
        items = list(out) if is_tuple else [out]
        if msg.get("keep"):
            self.results[msg["keep"]] = items
        kinds, arrays = [], []
        for item in items:
            if type(item) is np.ndarray and item.dtype.kind in "fiub":
                kinds.append("ndarray")
                arrays.append(item)
            elif type(item) is np.ndarray:  # object, complex, strings: named, never sent
                kinds.append(f"ndarray of dtype {str(item.dtype)[:40]}")
            else:
                kinds.append(str(type(item).__name__)[:60])
        return {"ok": True, "tuple": is_tuple, "kinds": kinds}, arrays

    def op_snapshot(self, msg):
        return {"ok": True}, list(self.received)

    def op_perturb(self, msg):
        """Outputs ``out`` of ``fn`` for each ``(arg, flat index, delta)`` change of ``args``."""
        base = msg["args"]
        rows = []
        try:
            for i, flat, delta in msg["perturb"]:
                args = [a.copy() for a in base]
                args[i].flat[flat] += delta
                out = self.call(msg["fn"], args, msg.get("adapter"))
                picked = [out[j] for j in msg["out"]] if type(out) is tuple else [out]
                rows.append(np.concatenate([np.asarray(o, np.float64).ravel() for o in picked]))
            return {"ok": True}, [np.stack(rows)]
        except BaseException as exc:  # noqa: BLE001
            return {"ok": False, "error": _describe(exc)}, []

    def serve(self, in_fd):
        while True:
            try:
                msg = _proto.pickle.loads(_proto.read_frame(in_fd))
            except _proto.ChannelClosed:
                return
            try:
                header, arrays = getattr(self, "op_" + msg["op"])(msg)
            except BaseException as exc:  # noqa: BLE001
                header, arrays = {"ok": False, "error": _describe(exc)}, []
            try:
                _proto.send_reply(self.reply_fd, header, arrays)
            except (TypeError, ValueError) as exc:
                _proto.send_reply(self.reply_fd, {"ok": False, "error": _describe(exc)})


def main():
    reply_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    SandboxWorker(reply_fd).serve(0)


if __name__ == "__main__":
    main()
