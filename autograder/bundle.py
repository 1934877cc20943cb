"""The student bundle of a graded term: what students clone or download, without the answers.

``python -m autograder bundle OUT [--released 01 02 ...]`` writes into ``OUT``:

* ``lessons/``: the release (``python -m autograder release`` makes it), as generated;
* ``rnnref/``: the reference package with the answers taken out: in the answer-key modules
  of every lesson not named by ``--released``, each function of the answer
  (:func:`autograder.answers.answer_functions`: the graded functions and the helpers they
  are written with) keeps its signature and docstring, and its body becomes a
  ``NotImplementedError`` that names the lesson to write it in. The rest stays: gradient
  checks, layers, the optimiser, the names data, the shipped model's checkpoint. A term
  hands out the answers of a lesson once its deadline is past: a later lesson calls the
  earlier ones (lesson 02 runs lesson 01's ``rnn_forward``), so its bundle releases them;
* ``autograder/``: the student's side of the grader: the "Check my work" cell
  (:mod:`autograder.mywork`) and ``python -m autograder check`` (:mod:`autograder.studentcheck`),
  the judge, and every lesson's checks as stored cases (:mod:`autograder.checks.stored`:
  inputs, expected outputs and the known mistakes' outputs, drawn at bundle time); nothing of
  the lessons' checks modules, wrong variants or references;
* a students' ``README.md``, ``requirements.txt`` and ``pyproject.toml``
  (``pip install -e .``), and ``BUNDLE.json`` (what was released, when, the book's address).

Nothing of ``solutions/``, the lessons' checks modules or the tests goes in. Writing is done in a
scratch folder next to ``OUT`` and moved into place, so a failure leaves ``OUT`` as it was;
``--force`` replaces only what a bundle writes (an instructor's ``.git`` and own files stay).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.answers import answer_functions
from autograder.paths import REPO, book_url
from autograder.sources import lesson_names

MANIFEST = "BUNDLE.json"
# What a bundle writes at its top level: --force replaces these and nothing else.
ENTRIES = (
    "lessons",
    "rnnref",
    "autograder",
    "README.md",
    "requirements.txt",
    "pyproject.toml",
    MANIFEST,
)
# What students need to run the lessons (pins of the course's constraints.txt).
STUDENT_PACKAGES = ("numpy", "matplotlib", "tqdm", "jupyterlab", "ipykernel")
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


class BundleError(Exception):
    """Bad input to ``bundle``: the message says what was wrong and what to do."""


@dataclass(frozen=True)
class Bundle:
    """What :func:`bundle` wrote."""

    out: Path
    lessons: tuple[str, ...]  # the lesson folders, in order
    released: tuple[str, ...]  # the lessons whose answers are in rnnref
    stubbed: tuple[str, ...]  # "rnnref.rnn.rnn_step_forward", ... (bodies taken out)
    files: int
    size: int  # bytes


def resolve_lessons(names, lessons: list[str]) -> tuple[str, ...]:
    """The lesson folders that ``names`` ("01", "1", "01_vanilla_rnn") mean."""
    by_number = {name[:2]: name for name in lessons}
    found = []
    for raw in names:
        name = raw if raw in lessons else by_number.get(raw.zfill(2)) if raw.isdigit() else None
        if name is None:
            raise BundleError(
                f"--released {raw!r}: no such lesson (the lessons: {', '.join(lessons)})"
            )
        found.append(name)
    return tuple(sorted(set(found)))


def stub_message(name: str, lesson: str, graded_as: str | None) -> str:
    """The error a stub raises: what to write, where, and when the course's version comes."""
    if graded_as == name:
        what = f"{name} is graded in lesson {lesson[:2]}: write it"
    elif graded_as:
        what = f"{name} is the course's {graded_as}, graded in lesson {lesson[:2]}: write yours"
    else:
        what = f"{name} is part of the answer of lesson {lesson[:2]}: write the lesson's functions"
    return (
        f"{what} in lessons/{lesson}/{lesson}.ipynb (the course's version comes in the bundle "
        f"once lesson {lesson[:2]}'s answers are released)"
    )


def stub_source(source: str, stubs: dict[str, str]) -> str:
    """``source`` with the body of each top-level function named in ``stubs`` replaced by
    ``raise NotImplementedError(stubs[name])`` (its signature and docstring kept)."""
    lines = source.splitlines()
    nodes = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    for node in sorted((n for n in nodes if n.name in stubs), key=lambda n: -n.lineno):
        has_doc = ast.get_docstring(node) is not None
        body = node.body[1:] if has_doc else node.body
        indent = " " * node.body[0].col_offset
        start = body[0].lineno - 1 if body else node.end_lineno
        lines[start : node.end_lineno] = [
            f"{indent}raise NotImplementedError(",
            f"{indent}    {stubs[node.name]!r}",
            f"{indent})",
        ]
    return "\n".join(lines) + "\n"


def _stubbed_rnnref(dest: Path, released: tuple[str, ...]) -> list[str]:
    """Copy ``rnnref`` into ``dest`` with the answers of the unreleased lessons stubbed."""
    shutil.copytree(REPO / "rnnref", dest, ignore=_SKIP)
    by_file: dict[Path, dict[str, str]] = {}
    done = []
    for f in answer_functions():
        if f.lesson_folder in released:
            continue
        message = stub_message(f.name, f.lesson_folder, f.graded_as)
        by_file.setdefault(f.path, {})[f.name] = message
        done.append(f"{f.module}.{f.name}")
    for path, stubs in by_file.items():
        target = dest / path.relative_to(REPO / "rnnref")
        target.write_text(stub_source(path.read_text(encoding="utf-8"), stubs), encoding="utf-8")
    return sorted(done)


# The student's side of the grader: the judge and what it reads, nothing that holds an answer
# (the lessons' checks modules, the variants, the references): autograder.checks is the stored
# one, over cases written at bundle time.
JUDGE_FILES = (
    "autograder/mywork.py",
    "autograder/limits.py",
    "autograder/studentcheck.py",
    "autograder/judge",
    "autograder/checks/spec.py",
    "autograder/checks/demo.py",
    "autograder/checks/scan.py",
    "autograder/checks/stored.py",
    "autograder/checks/adapters",
)
_BUNDLE_FILES = {
    "autograder/__init__.py": '''"""The student's side of the course's grader:
the "Check my work" cell and ``python -m autograder check NOTEBOOK``."""
''',
    "autograder/__main__.py": '''"""``python -m autograder check NOTEBOOK``:
see :mod:`autograder.studentcheck`."""

import sys

from autograder.studentcheck import main

sys.exit(main(sys.argv[1:]))
''',
    "autograder/checks/__init__.py": '''"""The lessons' checks, stored as data when this
bundle was made (:mod:`autograder.checks.stored`): no reference, no wrong variants."""

from autograder.checks.stored import (  # noqa: F401
    demo_sources,
    find_lesson,
    grade_cells,
    lesson_modules,
    lesson_of,
    source_notebook,
)
''',
    "autograder/sandbox/__init__.py": '''"""A student bundle has no grading sandbox:
the judge's worker runs in its own process under the grader's resource limits
(:mod:`autograder.judge._launch`), unwrapped."""


def wrap_worker(argv, cwd, env):
    return argv, env
''',
}


def _student_side(dest: Path, lessons) -> int:
    """The judge and the stored cases of ``lessons`` into ``dest`` (the bundle's root);
    returns the number of cases stored."""
    from autograder.checks import demo_sources, find_lesson, grade_cells, source_notebook
    from autograder.checks.stored import write_lesson

    for rel in JUDGE_FILES:
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, ignore=_SKIP)
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for rel, text in _BUNDLE_FILES.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text, encoding="utf-8")
    case_seed = secrets.randbits(63)  # not the grader's: autograde draws fresh cases
    cases = dest / "autograder" / "checks" / "cases"
    return sum(
        write_lesson(
            find_lesson(lesson=name),
            name,
            grade_cells(name),
            demo_sources(source_notebook(name)),
            cases,
            case_seed,
        )
        for name in lessons
    )


def _pins() -> list[str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[name.lower().replace("_", "-")] = version
    return [f"{p}=={pins[p]}" if p in pins else p for p in STUDENT_PACKAGES]


def _pyproject() -> str:
    return (
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "rnn-from-scratch-student"\nversion = "0.1.0"\n'
        'requires-python = ">=3.11"\ndependencies = ["numpy>=1.26", "tqdm>=4.60"]\n\n'
        '[tool.setuptools.packages.find]\ninclude = ["rnnref*", "autograder*"]\n\n'
        '[tool.setuptools.package-data]\n"*" = ["*.txt", "*.md", "*.npz", "*.json"]\n'
    )


def _readme(lessons, released, book) -> str:
    book_line = (
        f"The course book (the graded edition, without the answers): <{book}>."
        if book
        else "Your instructor gives you the address of the course book."
    )
    out = ", ".join(n[:2] for n in released) if released else "none yet"
    return f"""# Recurrent Neural Networks from scratch: your lessons

{book_line}

## Set up (once)

With Python 3.11, from this folder:

```bash
python3.11 -m venv .venv
.venv/bin/pip install -r requirements.txt -e .
.venv/bin/jupyter lab lessons/
```

(On Windows: `.venv\\Scripts\\pip` and `.venv\\Scripts\\jupyter`.)

## Work on a lesson

Each folder of `lessons/` holds one notebook ({len(lessons)} lessons, in order). Write the
functions where a cell says `YOUR CODE HERE`, run the visible tests under them, and do not
delete or rename the graded cells: the grader finds your work by them.

The package `rnnref` holds the course's helpers (gradient checks, layers, the optimiser, the
names data, the trained model). Its graded functions are not here: calling one raises an error
that names the lesson where you write it. Each lesson runs the earlier lessons' functions; their
reference comes in the bundle once their deadline is past (answers released so far: {out}).

## Check your work

Run the visible tests under each function as you go. Before you submit, save the notebook and
run its last cell, "Check my work", or from this folder

```bash
.venv/bin/python -m autograder check lessons/01_vanilla_rnn/01_vanilla_rnn.ipynb
```

It runs the grader's own checks on your saved file, as the grader does (your cells first, in a
separate process, then every hidden check of the lesson, with gradient checks against your own
forward), and prints per graded function *passed* or what is wrong, with the case and the likely
cause. Its cases were drawn when this bundle was made; the grader draws new ones each time it
grades, so hard-coded outputs do not pass. The capstone's quality bar is computed by the grader
with the course's model; the visible test computes the same figure with your functions.

## Submit

Hand in the saved notebook file itself (`lessons/NN_topic/NN_topic.ipynb`) the way your
instructor says (the course's LMS assignment, or nbgrader's submit). Only that file is graded;
the grader runs it again on its own machine with fresh test cases.
"""


def _write(tmp: Path, lessons, release_dir: Path, released) -> list[str]:
    for name in lessons:
        shutil.copytree(release_dir / name, tmp / "lessons" / name, ignore=_SKIP)
    stubbed = _stubbed_rnnref(tmp / "rnnref", released)
    _student_side(tmp, lessons)
    book = book_url()
    (tmp / "README.md").write_text(_readme(lessons, released, book), encoding="utf-8")
    (tmp / "requirements.txt").write_text("\n".join(_pins()) + "\n", encoding="utf-8")
    (tmp / "pyproject.toml").write_text(_pyproject(), encoding="utf-8")
    manifest = {
        "course": "Recurrent Neural Networks from scratch",
        "made": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "lessons": list(lessons),
        "released": list(released),
        "stubbed": stubbed,
        "book": book,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return stubbed


def _check_release(release_dir: Path, lessons) -> None:
    missing = [n for n in lessons if not (release_dir / n / f"{n}.ipynb").is_file()]
    if missing:
        raise BundleError(
            f"no release of {', '.join(missing)} in {release_dir}: make it first with "
            f"`python -m autograder release`"
        )


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} is a file, not a folder: give a folder for the bundle")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BundleError(
            f"{out} is not empty: give an empty or new folder, or --force to replace the "
            f"bundle's own files there ({', '.join(ENTRIES)}; anything else is kept)"
        )


def bundle(out, released=(), force=False, release_dir=None) -> Bundle:
    """Write the student bundle into ``out``; see the module's docstring."""
    lessons = lesson_names()
    release_dir = Path(release_dir or REPO / "lessons").resolve()
    out = Path(out).resolve()
    if out == REPO or REPO in out.parents or out in REPO.parents:
        raise BundleError(f"{out} is the course repository or inside it: give a folder outside")
    released = resolve_lessons(released, lessons)
    _check_release(release_dir, lessons)
    _check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=out.parent) as scratch:
        tmp = Path(scratch)
        stubbed = _write(tmp, lessons, release_dir, released)
        out.mkdir(exist_ok=True)
        for entry in ENTRIES:
            old = out / entry
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            elif old.exists() or old.is_symlink():
                old.unlink()
            (tmp / entry).rename(old)
    files = [p for p in out.rglob("*") if p.is_file() and ".git" not in p.parts]
    return Bundle(
        out=out,
        lessons=tuple(lessons),
        released=released,
        stubbed=tuple(stubbed),
        files=len(files),
        size=sum(p.stat().st_size for p in files),
    )
