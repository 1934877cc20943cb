"""Import submissions into ``submitted/<student>/<assignment>/``.

Accepted layouts (``PATH`` a folder or a ``.zip`` of one):

- nbgrader's ``submitted/<student>/<assignment>/*.ipynb`` (timestamp.txt kept): the input
  itself, its ``submitted/``, or that of the one folder a zip holds; never a ``submitted/``
  found deeper, inside a student's files;
- one folder per student: ``<student>/**/*.ipynb``;
- one zip per student: ``<student>.zip`` holding the notebooks at any depth.

Each notebook's assignment comes from its file name when that is a notebook of the course
(``01_vanilla_rnn.ipynb``, also ``01_vanilla_rnn (1).ipynb`` and the like), otherwise from
the nbgrader test-cell ids inside it (a renamed file is put back under its name, with a note).
Only regular files are read, never through a link (:mod:`autograder.safefiles`); student
ids are checked once. Anything that cannot be placed is reported, never dropped silently.
An existing submission with different content is moved to ``collect_backup/<time>/`` before
the new one goes in.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from autograder import safefiles
from autograder.settings import Settings

SUFFIX_RE = re.compile(r"(\s*\(\d+\)|[-_ ]copy\d*|[-_ ]?v\d+|[-_ ]final)+$", re.I)


MAX_ENTRY = 100 * 2**20  # bytes of one unpacked zip entry: notebooks are far smaller
_S_IFLNK = 0o120000


def _entry_problem(member: zipfile.ZipInfo, dest: Path) -> str | None:
    """Why the zip entry ``member`` is not unpacked into ``dest``, or None."""
    name = member.filename
    parts = Path(name.replace("\\", "/")).parts
    if "\0" in name or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[:1]:
        return "an unsafe path (absolute, or with '..')"
    if not (dest / name).resolve().is_relative_to(dest.resolve()):
        return "an unsafe path (outside the folder it unpacks into)"
    if (member.external_attr >> 16) & 0o170000 == _S_IFLNK:
        return "a symbolic link (never followed)"
    if member.file_size > MAX_ENTRY:
        return f"{member.file_size} bytes unpacked, more than {MAX_ENTRY // 2**20} MB"
    return None


def _unzip(path: Path, dest: Path, label: str, refused: list[str]) -> Path:
    """Unpack the zip ``path`` into the new folder ``dest``, entry by entry: an entry that is
    unsafe or unreadable is refused (a line in ``refused``), the others are unpacked."""
    dest.mkdir(parents=True)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        refused.append(f"{label}: not a readable zip ({exc}): not collected")
        return dest
    with zf:
        for member in zf.infolist():
            why = _entry_problem(member, dest)
            if why is None:
                try:
                    zf.extract(member, dest)
                    continue
                except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
                    why = f"could not be unpacked ({type(exc).__name__}: {exc})"
                except NotImplementedError as exc:
                    why = f"could not be unpacked ({exc})"
            refused.append(f"{label}: entry {member.filename!r}: {why}: not collected")
    return dest


def _is_zip(path: Path) -> bool:
    return stat.S_ISREG(os.lstat(path).st_mode) and zipfile.is_zipfile(path)


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _class_layout(root: Path, zipped: bool) -> Path | None:
    """nbgrader's ``submitted/`` folder when the input is one: the input itself, its
    ``submitted/``, or, for a zip, the ``submitted/`` of the one folder it holds. Never one
    found deeper: a ``submitted/`` inside a student's folder is that student's files."""
    if root.name == "submitted":
        return root
    if _real_dir(root / "submitted"):
        return root / "submitted"
    tops = [e for e in root.iterdir() if e.name != "__MACOSX"] if zipped else []
    if len(tops) == 1 and _real_dir(tops[0]) and _real_dir(tops[0] / "submitted"):
        return tops[0] / "submitted"
    return None


def _grade_ids(nb_path: Path) -> set[str]:
    try:
        data = json.loads(safefiles.read_bytes(nb_path).decode("utf-8"))
        return {
            c["metadata"]["nbgrader"]["grade_id"]
            for c in data.get("cells", [])
            if isinstance(c, dict) and c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        }
    except Exception:  # noqa: BLE001 (unreadable: placed by name only)
        return set()


class Placer:
    def __init__(self, notebooks: dict[str, list[str]], ids: dict[str, set[str]]):
        self.by_name = {nb: a for a, nbs in notebooks.items() for nb in nbs}
        self.ids = ids  # {notebook name: grade ids}

    def assignment_of(self, stem: str) -> str | None:
        """The assignment a file name points to (the name only: the file is not read)."""
        stem = stem.removesuffix(".ipynb")
        return self.by_name.get(stem) or self.by_name.get(SUFFIX_RE.sub("", stem).strip())

    def place(self, path: Path) -> tuple[str | None, str | None, str | None]:
        """``(assignment, notebook name, note)`` for a submitted notebook file."""
        stem = path.stem
        if stem in self.by_name:
            return self.by_name[stem], stem, None
        base = SUFFIX_RE.sub("", stem).strip()
        if base in self.by_name:
            return self.by_name[base], base, f"renamed file {path.name} placed as {base}.ipynb"
        found = _grade_ids(path)
        best = max(self.ids, key=lambda n: len(self.ids[n] & found), default=None)
        if best and self.ids[best] & found:
            return self.by_name[best], best, f"renamed file {path.name} placed as {best}.ipynb"
        return None, None, None


def _show(name: str) -> str:
    """A name for a one-line report: as it is when printable, quoted with escapes if not."""
    return name if name.isprintable() else repr(name)


def _student_entries(root: Path, tmp: Path, report: dict) -> dict[str, Path]:
    """``{student id: folder}`` for each entry at the top of ``root`` (a folder or a zip per
    student); every entry not taken gets a line in ``report["unplaced"]``."""
    students: dict[str, Path] = {}
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        path, mode = Path(entry.path), entry.stat(follow_symlinks=False).st_mode
        if entry.name == "__MACOSX":
            report["unplaced"].append(f"{entry.name}: macOS metadata, not a student: skipped")
            continue
        if stat.S_ISDIR(mode):
            student = entry.name
        elif stat.S_ISREG(mode) and zipfile.is_zipfile(path):
            student = path.stem
        elif stat.S_ISREG(mode):
            report["unplaced"].append(f"{_show(entry.name)}: not a student folder or zip")
            continue
        else:
            report["unplaced"].append(f"{_show(entry.name)}: {safefiles.refusal(mode)}")
            continue
        why = safefiles.id_problem(student)
        if why:
            report["unplaced"].append(
                f"{_show(entry.name)}: not a valid student id ({why}): not collected"
            )
            continue
        if student in students:
            report["unplaced"].append(
                f"{_show(entry.name)}: another entry has the same student id {_show(student)} "
                f"({students[student].name}): not collected"
            )
            continue
        if stat.S_ISDIR(mode):
            students[student] = path
        else:
            students[student] = _unzip(path, tmp / student, entry.name, report["unplaced"])
    return students


def _student_files(student: str, folder: Path, report: dict) -> tuple[list[Path], list]:
    """The regular files of a student's ``folder`` and the refusals among its entries (links,
    FIFOs, devices) as ``(path, line)``, each line also in the run report."""
    files, refused = safefiles.walk(folder)
    lines = []
    for path, why in refused:
        line = f"{student}/{path.relative_to(folder)}: {why}"
        report["unplaced"].append(line)
        lines.append((path, line))
    return files, lines


def collect(settings: Settings, path: Path, notebooks: dict, ids: dict, log=print) -> dict:
    """Import ``path``; returns ``{"placed": [...], "unplaced": [...], "backups": [...]}``.

    Only regular files are taken: a link (to a file or a folder), a FIFO, a socket or a device
    in a student's folder or zip is refused with a line in ``unplaced`` (and a note for the
    student's submission of that assignment, when one is placed), and the rest of that
    student's files and every classmate are still collected. So is a bad zip entry, or an entry
    whose name cannot be a student id (:func:`autograder.safefiles.id_problem`)."""
    placer = Placer(notebooks, ids)
    report = {"placed": [], "unplaced": [], "backups": [], "unchanged": []}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(path)
        zipped = path.is_file() and zipfile.is_zipfile(path)
        if zipped:
            root = _unzip(path, tmp / "top" / path.stem, path.name, report["unplaced"])
        elif path.is_dir():
            root = path
        else:
            raise ValueError(f"{path}: neither a folder nor a zip")
        layout = _class_layout(root, zipped)
        students = _student_entries(layout or root, tmp / "students", report)
        incoming: dict[tuple[str, str], dict[str, Path]] = {}
        notes: dict[tuple[str, str], list[str]] = {}
        stamps: dict[str, Path] = {}
        refusals: dict[str, list[tuple[str, str]]] = {}
        for student, folder in students.items():
            files, refused = _student_files(student, folder, report)
            for bad, line in refused:  # noted with the assignment its name points to
                assignment = placer.assignment_of(bad.name)
                refusals.setdefault(student, []).append((assignment, line))
            for f in files:
                if f.name == "timestamp.txt":
                    stamps[f"{student}/{f.parent.name}"] = f
                    continue
                if f.suffix != ".ipynb":
                    report["unplaced"].append(f"{student}/{f.name}: not a notebook")
                    continue
                assignment, name, note = placer.place(f)
                if assignment is None:
                    report["unplaced"].append(
                        f"{student}/{f.name}: no assignment matches its name or its test cells"
                    )
                    continue
                key = (student, assignment)
                slot = incoming.setdefault(key, {})
                if name in slot:
                    report["unplaced"].append(
                        f"{student}/{f.name}: a second file for {name}.ipynb "
                        f"(kept {slot[name].name})"
                    )
                    continue
                slot[name] = f
                if note:
                    notes.setdefault(key, []).append(note)
        for student, lines in refusals.items():
            for assignment, line in lines:
                for key in incoming:
                    if key[0] == student and assignment in (None, key[1]):
                        notes.setdefault(key, []).append(f"not collected: {line}")
        for (student, assignment), files in sorted(incoming.items()):
            _place(settings, tmp, stamp, student, assignment, files, stamps, notes, report)
    return report


def _place(settings, tmp, stamp, student, assignment, files, stamps, notes, report) -> None:
    """Install one student's notebooks of one assignment under ``submitted/`` (the previous
    submission, when it differs, moved to ``collect_backup/``)."""
    dest = settings.submitted / student / assignment
    stage = tmp / "stage" / student / assignment
    stage.mkdir(parents=True)
    for name, f in files.items():
        safefiles.copy_file(f, stage / f"{name}.ipynb")
    ts = stamps.get(f"{student}/{assignment}")
    if ts is not None:
        safefiles.copy_file(ts, stage / "timestamp.txt")
    if dest.exists():
        if _same(dest, stage):
            report["unchanged"].append(f"{student}/{assignment}")
            return
        backup = settings.course / "collect_backup" / stamp / student / assignment
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(dest), str(backup))
        report["backups"].append(f"{student}/{assignment} -> {backup}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(stage, dest)
    line = f"{student}/{assignment}: {', '.join(sorted(files))}"
    if notes.get((student, assignment)):
        line += " (" + "; ".join(notes[(student, assignment)]) + ")"
    report["placed"].append(line)
    note_file = settings.course / "collect_notes" / student / f"{assignment}.json"
    note_file.parent.mkdir(parents=True, exist_ok=True)
    note_file.write_text(json.dumps(notes.get((student, assignment), [])))


def _same(a: Path, b: Path) -> bool:
    fa = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
    return fa == fb
