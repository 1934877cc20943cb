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
# the grading helpers a student cell must not rebind, and the one module they come from
_HELPERS = ("check", "verify_notebook")
JUDGE_MODULE = "autograder.judge"


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


def _text_flags(source):
    """Flags for paths of the grader's and the reference's files named in the raw text."""
    flags = []
    if re.search(r"gradebook\.db|autograder/course|RNN_COURSE_DIR", source):
        flags.append("line ?: refers to the grader's files (gradebook.db / course directory)")
    if re.search(r"\brnnref[/\\]|\bsolutions[/\\]", source):
        flags.append("line ?: refers to the reference package's or the solutions' files")
    return flags


def _aliases(tree):
    """``{local name: module it stands for}`` from every import in ``tree``."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                aliases[a.asname or top] = a.name if a.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _protected(aliases, name):
    """Whether the local ``name`` stands for a module grading relies on."""
    name = name or ""
    mod = aliases.get(name) or {"np": "numpy"}.get(name, name)
    return mod.split(".")[0] in _PROTECTED_ROOTS


def _assignment_flags(node, aliases):
    """Rebinding a module attribute, ``sys.modules`` or a grading helper."""
    targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
    for sub in (a for t in targets for a in _assigned(t)):
        if isinstance(sub, ast.Subscript) and _dotted(sub.value) == "sys.modules":
            yield "replaces a module in sys.modules"
            continue
        while isinstance(sub, ast.Subscript):  # x[i] = ... changes x, not i
            sub = sub.value
        if isinstance(sub, ast.Attribute) and _protected(aliases, _root(sub)):
            yield f"rebinds {_dotted(sub) or 'a module attribute'} (monkeypatching)"
        elif isinstance(sub, ast.Name) and sub.id in _HELPERS:
            yield f"rebinds the grading helper {sub.id}"


def _definition_flags(node, aliases):
    if node.name in _HELPERS:
        yield f"redefines the grading helper {node.name}"


def _import_flags(node, aliases):
    """Importing the answer key, frame or object introspection, or a helper from elsewhere."""
    names = [a.name for a in node.names]
    if isinstance(node, ast.Import):
        mods = names
    else:
        mods = [f"{node.module}.{n}" for n in names] + [node.module or ""]
    for m in mods:
        parts = m.split(".")
        if parts[0] == "rnnref" and len(parts) > 1 and parts[1] in GRADED_MODULES:
            yield f"imports the reference solution module rnnref.{parts[1]}"
            break
        if parts[0] in ("builtins", "ctypes", "gc", "inspect"):
            yield f"imports {parts[0]}"
            break
    from_judge = isinstance(node, ast.ImportFrom) and node.module == JUDGE_MODULE
    for a in node.names:
        if (a.asname or a.name) in _HELPERS and not from_judge:
            yield f"rebinds the grading helper {a.asname or a.name} by import"


def _call_flags(node, aliases):
    """Calls that reach frames, processes, files of code, run-time code or a database."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    dotted = _dotted(func)
    if name == "stack" and dotted.endswith("inspect.stack"):
        yield "reads the caller's frames (inspect.stack)"
    elif name in _CALLS and _CALLS[name]:
        if name != "kill" or dotted.startswith("os."):
            yield _CALLS[name]
    elif name in ("spec_from_file_location", "SourceFileLoader", "run_path"):
        yield f"loads code from a file path ({name})"
    elif name in ("exec", "eval") and isinstance(func, ast.Name):
        yield f"runs code built at run time ({name})"
    elif name in ("setattr", "delattr") and node.args and _protected(aliases, _root(node.args[0])):
        yield f"{name} on {_dotted(node.args[0])} (monkeypatching)"
    elif name in ("open", "read_text", "read_bytes", "connect") and any(
        isinstance(a, ast.Constant) and isinstance(a.value, str) and ".db" in a.value
        for a in node.args
    ):
        yield "opens a database file"


def _attribute_flags(node, aliases):
    """Locating the course's files, walking frames, touching ``__builtins__``."""
    module = aliases.get(_root(node)) or _root(node) or ""
    if node.attr in ("__file__", "__path__") and module.split(".")[0] in ("rnnref", "autograder"):
        yield f"locates the files of {_dotted(node)}"
    elif node.attr in _ATTRS:
        yield _ATTRS[node.attr]


def _name_flags(node, aliases):
    if node.id == "__builtins__":
        yield _ATTRS["__builtins__"]


# what each kind of node is scanned for (first matching kind wins)
_BY_NODE = (
    (ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete, _assignment_flags),
    (ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, _definition_flags),
    (ast.Import | ast.ImportFrom, _import_flags),
    (ast.Call, _call_flags),
    (ast.Attribute, _attribute_flags),
    (ast.Name, _name_flags),
)


def scan(source):
    """Flags (``"line N: ..."``) for tamper patterns in ``source``; empty when clean."""
    flags = _text_flags(source)
    try:
        tree = ast.parse(_to_python(source))
    except SyntaxError as exc:
        flags.append(f"line {exc.lineno}: could not parse ({exc.msg}); review by hand")
        return flags
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        for kind, flags_of in _BY_NODE:
            if isinstance(node, kind):
                line = getattr(node, "lineno", "?")
                flags += [f"line {line}: {text}" for text in flags_of(node, aliases)]
                break
    return sorted(set(flags), key=_line_number)


def _line_number(flag):
    head = flag.split(":")[0].split()[-1]
    return (int(head) if head.isdigit() else 0, flag)
