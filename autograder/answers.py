"""What gives the answers away, and a search for it in a folder that students will see.

The answers are the bodies of the graded functions in ``rnnref`` (a graded function: a spec's
name, or its ``ANSWER_NAMES`` alias, defined in one of its lesson's answer-key modules, the
lesson's ``BLOCKED``; its docstring is not an answer, the API page shows it) and of the helpers
they are written with (:func:`answer_functions`), and the solution and hidden-test blocks of
the lessons' sources in ``solutions/``. :func:`answer_lines` lists their distinctive lines;
:func:`find_answers` says where any of them appears under a folder (a built book, a student
bundle): in a page's text once its tags are gone, in a notebook's cells, in any other text file.
"""

from __future__ import annotations

import ast
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.checks import lesson_modules
from autograder.paths import REPO, SOLUTIONS

# Shorter lines (``return out, cache``, ``dx = dh``) occur in any text about the functions.
MIN_CHARS = 16
_BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", flags=re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Graded:
    """One graded function: where it is defined and the lesson that grades it."""

    lesson: str  # "lesson01" (the checks module's name)
    module: str  # "rnnref.rnn" (the answer-key module it is in)
    path: Path  # its source file
    name: str  # "rnn_step_forward"


def module_files(module: str, root: Path = REPO) -> list[Path]:
    """The source files of ``module``: its file, or every file of its package."""
    base = root.joinpath(*module.split("."))
    if base.is_dir():
        return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)
    return [base.with_suffix(".py")] if base.with_suffix(".py").is_file() else []


def graded_functions(root: Path = REPO) -> list[Graded]:
    """Every graded function of every lesson, found in its lesson's answer-key modules."""
    found = []
    for mod in lesson_modules():
        lesson = mod.__name__.rsplit(".", 1)[1]
        names = set(mod.SPECS) | set(getattr(mod, "ANSWER_NAMES", {}).values())
        for module in mod.BLOCKED:
            for path in module_files(module, root):
                tree = ast.parse(path.read_text(encoding="utf-8"))
                for node in tree.body:
                    if isinstance(node, ast.FunctionDef) and node.name in names:
                        found.append(Graded(lesson, module, path, node.name))
    return found


# Helpers a graded function calls that are no part of an answer: input validation, which
# names what is wrong with a call, and the layer count that the shipped model's sampling reads.
NOT_ANSWERS = ("_check", "n_layers")


@dataclass(frozen=True)
class AnswerFunction:
    """A function whose body is (part of) a lesson's answer: a graded function, or a helper of
    its answer-key module that one calls (``rnnref.rnn._weight_grads``)."""

    lesson: str  # "lesson01"
    lesson_folder: str  # "01_vanilla_rnn"
    module: str
    path: Path
    name: str
    graded_as: str | None  # the graded function it is the answer of (None: a helper)


def _calls(node: ast.FunctionDef, names) -> set[str]:
    return {
        c.func.id
        for c in ast.walk(node)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in names
    }


def answer_functions(root: Path = REPO) -> list[AnswerFunction]:
    """The graded functions, and every function of their module they call (transitively),
    but the validators and :data:`NOT_ANSWERS`: what a student bundle stubs."""
    from autograder.sources import lesson_names

    folders = {f"lesson{name[:2]}": name for name in lesson_names()}
    aliases = {
        alias: name
        for mod in lesson_modules()
        for name, alias in getattr(mod, "ANSWER_NAMES", {}).items()
    }
    by_path: dict[Path, list[Graded]] = {}
    for g in graded_functions(root):
        by_path.setdefault(g.path, []).append(g)
    found = []
    for path, graded in by_path.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        names = {g.name for g in graded}
        todo, seen = sorted(names), set()
        while todo:
            name = todo.pop()
            if name not in seen and not name.startswith(NOT_ANSWERS):
                seen.add(name)
                todo.extend(_calls(funcs[name], funcs))
        g = graded[0]
        for name in sorted(seen, key=lambda n: funcs[n].lineno):
            found.append(
                AnswerFunction(
                    g.lesson,
                    folders[g.lesson],
                    g.module,
                    path,
                    name,
                    graded_as=aliases.get(name, name) if name in names else None,
                )
            )
    return found


def _normal(text: str) -> str:
    return " ".join(text.split())


def _code_lines(text: str):
    """The code of each line of ``text``, without a comment line or a trailing comment."""
    for line in text.splitlines():
        code = line.split("  # ")[0].strip()
        if code and not code.startswith("#"):
            yield _normal(code)


def body_source(path: Path, name: str) -> str:
    """The body of the top-level function ``name`` of ``path``, its docstring left out."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            body = node.body
            if ast.get_docstring(node) is not None:
                body = body[1:]
            if not body:
                return ""
            return "\n".join(lines[body[0].lineno - 1 : body[-1].end_lineno])
    raise KeyError(f"{path}: no function {name}")


def solution_blocks(solutions: Path = SOLUTIONS) -> list[tuple[Path, str]]:
    """``(source, text)`` of every solution and hidden-test block of the lessons' sources."""
    return [
        (md, m.group(2))
        for md in sorted(solutions.glob("*/*.md"))
        for m in _BLOCK.finditer(md.read_text(encoding="utf-8"))
    ]


def occurs(line: str, text: str) -> bool:
    """Whether ``line`` is in ``text`` as a whole (``h = ...`` is not in ``dh = ...``)."""
    start = text.find(line)
    while start >= 0:
        end = start + len(line)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_"):
            return True
        start = text.find(line, start + 1)
    return False


def _public_text(root: Path = REPO) -> str:
    """What students are given anyway: the released lessons, the graded functions'
    docstrings (their contract: shapes, what the cache holds), the helpers, the grader's
    diagnoses."""
    parts = []
    for nb in sorted((root / "lessons").glob("*/*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            source = cell["source"]
            parts.append("".join(source) if isinstance(source, list) else source)
    for g in graded_functions(root):
        tree = ast.parse(g.path.read_text(encoding="utf-8"))
        node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == g.name)
        parts.append(ast.get_docstring(node) or "")
    parts.extend(_helper_sources(root))
    parts.extend(_diagnoses())
    return "\n".join(_normal(p) for p in parts)


def _diagnoses():
    """What the grader tells a student who makes a known mistake or raises a known error
    (the likely causes: a failing student sees them in the feedback, and a bundle's
    ``check`` holds them all)."""
    for mod in lesson_modules():
        for spec in mod.SPECS.values():
            yield from (text for text, _ in getattr(spec, "mistakes", []))
            yield from (hint for _, hint in spec.errors)


def _helper_sources(root: Path = REPO):
    """The code no lesson asks for: the modules that are no answer key (layers, gradient
    checks, data), and the validators and :data:`NOT_ANSWERS` of the answer-key modules
    (a line such as ``raise ValueError(`` is in them too, and gives nothing away)."""
    keys = {p for mod in lesson_modules() for m in mod.BLOCKED for p in module_files(m, root)}
    for path in module_files("rnnref", root):
        source = path.read_text(encoding="utf-8")
        if path not in keys:
            yield source
            continue
        lines = source.splitlines()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith(NOT_ANSWERS):
                yield "\n".join(lines[node.lineno - 1 : node.end_lineno])


def answer_lines(root: Path = REPO, lessons=None) -> dict[str, str]:
    """``{line: where it is from}`` of every distinctive line that gives an answer away; with
    ``lessons`` (lesson folders), of those lessons' answers only, less the lines the other
    lessons' answers hold too (those are handed out with them)."""
    found: dict[str, str] = {}
    owners: dict[str, set[str]] = {}
    for f in answer_functions(root):
        for line in _code_lines(body_source(f.path, f.name)):
            found.setdefault(line, f"{f.module}.{f.name}")
            owners.setdefault(line, set()).add(f.lesson_folder)
    for md, text in solution_blocks(root / "solutions"):
        for line in _code_lines(text):
            found.setdefault(line, f"{md.relative_to(root)}")
            owners.setdefault(line, set()).add(md.parent.name)
    public = _public_text(root)
    return {
        line: where
        for line, where in found.items()
        if len(line) >= MIN_CHARS
        and (lessons is None or owners[line] <= set(lessons))
        and not occurs(line, public)
    }


def readable_text(path: Path) -> str | None:
    """The text a reader of ``path`` sees, whitespace collapsed (None for a binary file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    if path.suffix in (".html", ".htm"):
        text = html.unescape(_TAG.sub("", text))
    elif path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            cells = []
        text += "\n".join(
            "".join(c.get("source", "")) if isinstance(c, dict) else "" for c in cells
        )
    return _normal(text)


def find_answers(folder: Path, lines: dict[str, str] | None = None) -> list[str]:
    """``"file: line (from where)"`` for each answer line found in a file under ``folder``."""
    lines = answer_lines() if lines is None else lines
    hits = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        text = readable_text(path)
        if text is None:
            continue
        for line, where in lines.items():
            if occurs(line, text):
                hits.append(f"{path.relative_to(folder)}: {line!r} (from {where})")
    return hits
