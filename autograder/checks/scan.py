"""Static flags for attempts to tamper with grading, for the instructor's summary.

``scan(source)`` parses student source (IPython syntax is transformed first) and returns one
human-readable flag per suspicious construct. A flag is a reason to look, not a grade: the
judge's verdict does not depend on it. Pass the source of the student's cells (solution cells
and any added cells), not the instructor's setup and test cells.
"""

import ast
import re

# Reference modules whose import inside a solution would be copying the answer key.
GRADED_MODULES = (
    "rnn",
    "gradflow",
    "clipping",
    "lstm",
    "gru",
    "stacked",
    "bidirectional",
    "charlm",
)
_PROTECTED_ROOTS = ("numpy", "autograder", "rnnref", "builtins", "nbgrader")
_CALLS = {
    "set_custom_exc": "silences errors with set_custom_exc",
    "settrace": "installs a trace function (settrace)",
    "setprofile": "installs a profile function (setprofile)",
    "_getframe": "reads interpreter frames (sys._getframe)",
    "currentframe": "reads interpreter frames (inspect.currentframe)",
    "stack": None,  # only inspect.stack, resolved below
    "getouterframes": "reads the caller's frames (inspect.getouterframes)",
    "get_objects": "searches all live objects (gc.get_objects)",
    "get_referrers": "searches live objects (gc.get_referrers)",
    "get_referents": "searches live objects (gc.get_referents)",
    "_exit": "kills the kernel (os._exit)",
    "kill": "sends signals to processes (os.kill)",
}
_ATTRS = {
    "f_back": "walks the caller's frames (f_back)",
    "f_globals": "reads frame globals",
    "f_locals": "reads frame locals",
    "__builtins__": "touches __builtins__",
}


def _root(node):
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _assigned(target):
    """The names, attributes and subscripts an assignment target binds (unpacking)."""
    if isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            yield from _assigned(elt)
    elif isinstance(target, ast.Starred):
        yield from _assigned(target.value)
    else:
        yield target


def _to_python(source):
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        return source


def scan(source):
    """Flags (``"line N: ..."``) for tamper patterns in ``source``; empty when clean."""
    flags = []
    if re.search(r"gradebook\.db|autograder/course|RNN_COURSE_DIR", source):
        flags.append("line ?: refers to the grader's files (gradebook.db / course directory)")
    if re.search(r"\brnnref[/\\]|\bsolutions[/\\]", source):
        flags.append("line ?: refers to the reference package's or the solutions' files")
    try:
        tree = ast.parse(_to_python(source))
    except SyntaxError as exc:
        flags.append(f"line {exc.lineno}: could not parse ({exc.msg}); review by hand")
        return flags
    aliases = {}  # local name -> module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                aliases[a.asname or top] = a.name if a.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def protected(name):
        name = name or ""
        mod = aliases.get(name) or {"np": "numpy"}.get(name, name)
        return mod.split(".")[0] in _PROTECTED_ROOTS

    def add(node, text):
        flags.append(f"line {getattr(node, 'lineno', '?')}: {text}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for sub in (a for t in targets for a in _assigned(t)):
                if isinstance(sub, ast.Subscript) and _dotted(sub.value) == "sys.modules":
                    add(node, "replaces a module in sys.modules")
                    continue
                while isinstance(sub, ast.Subscript):  # x[i] = ... changes x, not i
                    sub = sub.value
                if isinstance(sub, ast.Attribute) and protected(_root(sub)):
                    what = _dotted(sub) or "a module attribute"
                    add(node, f"rebinds {what} (monkeypatching)")
                elif isinstance(sub, ast.Name) and sub.id in ("check", "verify_notebook"):
                    add(node, f"rebinds the grading helper {sub.id}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name in ("check", "verify_notebook"):
                add(node, f"redefines the grading helper {node.name}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            mods = (
                names
                if isinstance(node, ast.Import)
                else [f"{node.module}.{n}" for n in names] + [node.module or ""]
            )
            for m in mods:
                parts = m.split(".")
                if parts[0] == "rnnref" and len(parts) > 1 and parts[1] in GRADED_MODULES:
                    add(node, f"imports the reference solution module rnnref.{parts[1]}")
                    break
                if parts[0] in ("builtins", "ctypes", "gc", "inspect"):
                    add(node, f"imports {parts[0]}")
                    break
            for a in node.names:
                if (a.asname or a.name) in ("check", "verify_notebook") and not (
                    isinstance(node, ast.ImportFrom) and node.module == "autograder.checks"
                ):
                    add(node, f"rebinds the grading helper {a.asname or a.name} by import")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            dotted = _dotted(func)
            if name == "stack" and dotted.endswith("inspect.stack"):
                add(node, "reads the caller's frames (inspect.stack)")
            elif name in _CALLS and _CALLS[name]:
                if name != "kill" or dotted.startswith("os."):
                    add(node, _CALLS[name])
            elif name in ("spec_from_file_location", "SourceFileLoader", "run_path"):
                add(node, f"loads code from a file path ({name})")
            elif name in ("exec", "eval") and isinstance(func, ast.Name):
                add(node, f"runs code built at run time ({name})")
            elif name in ("setattr", "delattr") and node.args and protected(_root(node.args[0])):
                add(node, f"{name} on {_dotted(node.args[0])} (monkeypatching)")
            elif name in ("open", "read_text", "read_bytes", "connect") and any(
                isinstance(a, ast.Constant) and isinstance(a.value, str) and ".db" in a.value
                for a in node.args
            ):
                add(node, "opens a database file")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("__file__", "__path__")
            and (aliases.get(_root(node)) or _root(node) or "").split(".")[0]
            in ("rnnref", "autograder")
        ):
            add(node, f"locates the files of {_dotted(node)}")
        elif isinstance(node, ast.Attribute) and node.attr in _ATTRS:
            add(node, _ATTRS[node.attr])
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            add(node, _ATTRS["__builtins__"])
    return sorted(set(flags), key=_line_number)


def _line_number(flag):
    head = flag.split(":")[0].split()[-1]
    return (int(head) if head.isdigit() else 0, flag)
