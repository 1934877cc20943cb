"""Only regular files cross from a student into the grader: no link is ever followed.

A submission is the student's, and so are its links: a notebook that is a symbolic link to a
classmate's submission, or a link beside it to the gradebook, would otherwise be read (by
``collect``) or copied (by the grading child) with the instructor's rights. Everything here
works on ``lstat`` results and opens files with ``O_NOFOLLOW``, so a link swapped in between the
check and the open is refused too. What is refused comes back with a reason, for the run
report and the student's comment.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

SKIPPED_DIRS = (".ipynb_checkpoints",)  # Jupyter's autosaves: never the work handed in
_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}
MAX_ID = 100


def kind(mode: int) -> str | None:
    """None for a regular file or a folder, otherwise what the entry is."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def refusal(mode: int) -> str:
    """Why an entry of this ``lstat`` mode is not taken."""
    return f"{kind(mode) or 'not a regular file'}, not a regular file: refused"


def walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The regular files under the folder ``root`` (sorted) and the entries refused there,
    ``(path, why)``: links (to files or folders), FIFOs, sockets, devices. Links are neither
    followed nor listed as files; ``.ipynb_checkpoints`` folders are left out."""
    files: list[Path] = []
    refused: list[tuple[Path, str]] = []
    todo = [Path(root)]
    while todo:
        folder = todo.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            refused.append((folder, f"cannot be read ({exc.strerror})"))
            continue
        for entry in entries:
            path = Path(entry.path)
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                if entry.name not in SKIPPED_DIRS:
                    todo.append(path)
            elif stat.S_ISREG(mode):
                files.append(path)
            else:
                refused.append((path, refusal(mode)))
    return sorted(files), refused


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, never through a link; ``OSError`` otherwise
    (``limit``: at most that many bytes, a ``ValueError`` beyond)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path}: {kind(st.st_mode)}, not a regular file")
        if limit is not None and st.st_size > limit:
            raise ValueError(f"{path}: {st.st_size} bytes, more than {limit}")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def copy_file(src: Path, dest: Path) -> None:
    """Copy the regular file ``src`` to the new file ``dest`` (never through a link)."""
    data = read_bytes(src)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def copy_tree(src: Path, dest: Path) -> list[tuple[Path, str]]:
    """Copy the regular files of the folder ``src`` to the new folder ``dest``; returns what
    was refused. ``src`` itself must be a real folder, not a link to one."""
    st = os.lstat(src)
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(f"{src}: {kind(st.st_mode) or 'a file'}, not a folder")
    files, refused = walk(src)
    dest.mkdir(parents=True)
    for f in files:
        target = dest / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            copy_file(f, target)
        except OSError as exc:  # swapped for a link since the walk
            refused.append((f, f"could not be copied ({exc})"))
    return refused


def only_regular(root: Path) -> list[Path]:
    """What under the folder ``root`` is neither a regular file nor a folder, or lies outside
    it: empty for a tree fit to hand to the sandbox."""
    bad = []
    top = os.path.realpath(root)
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in dirs + names:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if kind(mode) or not os.path.realpath(path).startswith(top + os.sep):
                bad.append(Path(path))
    return bad


def id_problem(name: str) -> str | None:
    """Why ``name`` cannot be a student id (a folder name in ``submitted/``), or None.

    An id is printable text of at most :data:`MAX_ID` characters: no path separator, no
    newline or other control character, no leading dot (hidden, and ``..``), no leading or
    trailing space."""
    if not name:
        return "an empty name"
    if len(name) > MAX_ID:
        return f"longer than {MAX_ID} characters"
    if "/" in name or "\\" in name:
        return "it contains a path separator"
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        return "it contains a newline or another control character"
    if name.startswith("."):
        return "it starts with '.' (a hidden folder)"
    if name != name.strip():
        return "it starts or ends with a space"
    return None


def prune(root: Path) -> list[str]:
    """Remove from the folder ``root`` everything that is neither a regular file nor a folder
    (what student code left there: a link to a host file would be followed by whoever writes
    or reads the notebook next, as the instructor); returns the removed entries' paths
    relative to ``root``."""
    removed = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in dirs + names:
            path = os.path.join(folder, name)
            try:
                if kind(os.lstat(path).st_mode):
                    os.unlink(path)
                    removed.append(os.path.relpath(path, root))
            except OSError:
                continue
        dirs[:] = [d for d in dirs if os.path.isdir(os.path.join(folder, d))]
    return sorted(removed)
