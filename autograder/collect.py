"""Import submissions into ``submitted/<student>/<assignment>/``.

Accepted layouts (``PATH`` a folder or a ``.zip`` of one):

- nbgrader's ``[.../]submitted/<student>/<assignment>/*.ipynb`` (timestamp.txt kept);
- one folder per student: ``<student>/**/*.ipynb``;
- one zip per student: ``<student>.zip`` holding the notebooks at any depth.

Each notebook's assignment comes from its file name when that is a notebook of the course
(``01_vanilla_rnn.ipynb``, also ``01_vanilla_rnn (1).ipynb`` and the like), otherwise from
the nbgrader test-cell ids inside it (a renamed file is put back under its name, with a note).
Anything that cannot be placed is reported, never dropped silently. An existing submission
with different content is moved to ``collect_backup/<time>/`` before the new one goes in.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from autograder.settings import Settings

SUFFIX_RE = re.compile(r"(\s*\(\d+\)|[-_ ]copy\d*|[-_ ]?v\d+|[-_ ]final)+$", re.I)


def _safe_extract(zf: zipfile.ZipFile, dest: Path) -> None:
    for member in zf.infolist():
        target = (dest / member.filename).resolve()
        if not str(target).startswith(str(dest.resolve())):
            raise ValueError(f"unsafe path in zip: {member.filename}")
    zf.extractall(dest)


def _expand(path: Path, tmp: Path) -> Path:
    """A folder to walk: ``path`` itself, or a zip extracted into ``tmp``."""
    if path.is_file() and zipfile.is_zipfile(path):
        out = tmp / path.stem
        out.mkdir(parents=True)
        with zipfile.ZipFile(path) as zf:
            _safe_extract(zf, out)
        return out
    return path


def _grade_ids(nb_path: Path) -> set[str]:
    try:
        data = json.loads(nb_path.read_text(encoding="utf-8"))
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


def _walk_student(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts
    )


def collect(settings: Settings, path: Path, notebooks: dict, ids: dict, log=print) -> dict:
    """Import ``path``; returns ``{"placed": [...], "unplaced": [...], "backups": [...]}``."""
    placer = Placer(notebooks, ids)
    report = {"placed": [], "unplaced": [], "backups": [], "unchanged": []}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        root = _expand(Path(path), tmp / "top")
        if not root.exists():
            raise FileNotFoundError(path)
        # nbgrader layout anywhere below: use its submitted/ folder
        subs = [root] if root.name == "submitted" else sorted(root.rglob("submitted"))
        nbgrader_layout = [s for s in subs if s.is_dir()]
        students: dict[str, list[Path]] = {}
        stamps: dict[str, Path] = {}
        if nbgrader_layout:
            root = nbgrader_layout[0]
        for entry in sorted(root.iterdir()):
            if entry.name.startswith((".", "__MACOSX")):
                continue
            if entry.is_file() and zipfile.is_zipfile(entry):
                students.setdefault(entry.stem, []).extend(
                    _walk_student(_expand(entry, tmp / "students"))
                )
            elif entry.is_dir():
                students.setdefault(entry.name, []).extend(_walk_student(entry))
                for ts in entry.rglob("timestamp.txt"):
                    stamps[f"{entry.name}/{ts.parent.name}"] = ts
            else:
                report["unplaced"].append(f"{entry.name}: not a student folder or zip")
        incoming: dict[tuple[str, str], dict[str, Path]] = {}
        notes: dict[tuple[str, str], list[str]] = {}
        for student, files in students.items():
            for f in files:
                if f.suffix != ".ipynb":
                    if f.name != "timestamp.txt":
                        report["unplaced"].append(f"{student}/{f.name}: not a notebook")
                    continue
                assignment, name, note = placer.place(f)
                if assignment is None:
                    report["unplaced"].append(
                        f"{student}/{f.relative_to(f.parents[0]).name}: "
                        "no assignment matches its name or its test cells"
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
        for (student, assignment), files in sorted(incoming.items()):
            dest = settings.submitted / student / assignment
            stage = tmp / "stage" / student / assignment
            stage.mkdir(parents=True)
            for name, f in files.items():
                shutil.copyfile(f, stage / f"{name}.ipynb")
            ts = stamps.get(f"{student}/{assignment}")
            if ts is not None:
                shutil.copyfile(ts, stage / "timestamp.txt")
            if dest.exists():
                if _same(dest, stage):
                    report["unchanged"].append(f"{student}/{assignment}")
                    continue
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
    return report


def _same(a: Path, b: Path) -> bool:
    fa = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
    return fa == fb
