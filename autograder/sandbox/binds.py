"""What the sandbox shows: the system, Python and course folders bound read-only into it.

Read-only: ``/usr`` (and the ``/bin``, ``/lib*`` symlinks), a few loader files of ``/etc``,
the Python installation the virtual environment points at (that folder only), the virtual
environment, ``rnnref`` with the lesson's answer-key modules replaced by a stub, and the
check-side modules the kernel and the sandbox worker import (``autograder/__init__.py``,
``autograder/checks``, ``autograder/judge``, ``autograder/limits.py``, ``autograder/mywork.py``,
this package).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder.sandbox.policy import HOME, REPO


def _python_roots() -> list[str]:
    """The virtual environment and the one Python installation it points at."""
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(r + os.sep) for r in roots):
        roots.add(os.path.dirname(os.path.dirname(exe)))
    return sorted(roots)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        if os.path.islink(f"/{name}"):
            args += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime"):
        if os.path.exists(f"/etc/{etc}"):
            args += ["--ro-bind", f"/etc/{etc}", f"/etc/{etc}"]
    return args


def code_roots() -> list[str]:
    """Read-only folders and files of the course's code that sandboxed Python imports."""
    return [
        *_python_roots(),
        str(REPO / "autograder" / "__init__.py"),
        str(REPO / "autograder" / "checks"),  # the adapters the sandbox worker imports
        str(REPO / "autograder" / "judge"),  # check (kernel) and the sandbox worker
        str(REPO / "autograder" / "limits.py"),  # the judge's time budgets (pure data)
        # the "Check my work" cell's helper: in a grading kernel it prints a line and returns
        str(REPO / "autograder" / "mywork.py"),
        str(Path(__file__).resolve().parent),  # this package: the guard runs from it
        str(REPO / "rnnref"),
    ]


def answer_key_files(blocked) -> list[str]:
    """Source and bytecode files of the answer-key modules (``rnnref.rnn`` -> rnn.py ...)."""
    out = []
    for name in blocked:
        parts = name.split(".")
        base = REPO.joinpath(*parts)
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                out.append(str(path))
                cache = path.parent / "__pycache__"
                out += [str(p) for p in sorted(cache.glob(f"{path.stem}.*.pyc"))]
    return out


def _mpl_cache_binds() -> list[str]:
    """The host's matplotlib font list, read-only: without it every kernel that imports
    matplotlib rebuilds it (seconds) in its empty HOME."""
    host = Path(os.path.expanduser("~")) / ".cache" / "matplotlib"
    return [
        arg
        for p in sorted(host.glob("fontlist-*.json"))
        for arg in ("--ro-bind", str(p), f"{HOME}/.cache/matplotlib/{p.name}")
    ]


def _shadows(paths, tmp: str) -> list[str]:
    """The first folders below ``tmp`` that contain (and are not) one of ``paths``."""
    paths = {os.path.realpath(p) for p in paths}
    tops = set()
    for p in paths:
        if p.startswith(tmp + "/"):
            tops.add(os.path.join(tmp, p[len(tmp) + 1 :].split("/")[0]))
    return sorted(tops - paths)
