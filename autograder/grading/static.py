"""The grading child's first stage: read and check the submitted notebooks before any runs.

Finds missing, unreadable, unknown and foreign notebooks, deleted and edited test cells, and
runs the engine's tamper scan over the student's own code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder.checks import normalized as _norm
from autograder.grading.records import Task
from autograder.grading.sources import engine


@dataclass
class Inspection:
    """What the static checks found: the notebooks to grade (parsed, by name), reasons for
    the feedback, tamper flags, and ``{grade_id: note}`` for test cells that cannot be
    graded as handed in (deleted, edited, or in a notebook that is missing)."""

    notebooks: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def zero(self, gids, note: str) -> None:
        for gid in gids:
            self.notes[gid] = note


def _nbgrader_cells(nb) -> dict:
    """``{grade_id: cell}`` of the cells that carry nbgrader metadata."""
    seen = {}
    for cell in nb.cells:
        gid = (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id")
        if gid:
            seen[gid] = cell
    return seen


def _one_copy_each(task: Task, name: str, nb, found: Inspection) -> bool:
    """Keep one copy of each nbgrader cell (a duplicated or split cell repeats its metadata,
    which nbgrader refuses); returns whether ``nb`` changed. The copy that counts: for a
    test cell the one as released (else the first), for the student's cells the first. The
    other copies of a test cell become raw cells (not run: the test runs once), those of a
    student's cell ordinary code cells (their code still runs). Only the grading copy of
    the notebook changes, never the submission."""
    import nbformat

    by_id: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id")
        if gid:
            by_id.setdefault(gid, []).append(i)
    changed = False
    for gid, where in by_id.items():
        if len(where) < 2:
            continue
        released = task.test_sources.get(gid)
        as_released = [
            i
            for i in where
            if released is not None
            and _norm(nb.cells[i].source) == _norm(released)
            and nb.cells[i].cell_type == "code"
        ]
        keep = (as_released or where)[0]
        test = bool(nb.cells[keep].metadata["nbgrader"].get("grade")) and not nb.cells[
            keep
        ].metadata["nbgrader"].get("solution")
        for i in where:
            if i == keep:
                continue
            old = nb.cells[i]
            meta = {k: v for k, v in old.get("metadata", {}).items() if k != "nbgrader"}
            if test or old.cell_type != "code":
                new = nbformat.v4.new_raw_cell(old.source, metadata=meta)
            else:
                new = nbformat.v4.new_code_cell(old.source, metadata=meta)
            nb.cells[i] = new  # a fresh cell id too: copies repeat theirs
        changed = True
        kind = "test cell" if test else "cell"
        found.reasons.append(
            f"{name}.ipynb: {kind} {gid} appears {len(where)} times (duplicated or split): "
            f"cell {keep + 1} counts"
            + (", the other copies were not run" if test else ", the others run as plain code")
        )
    return changed


def _foreign_assignments(task: Task, seen: dict, expected: dict) -> set[str]:
    """The other assignments whose test cells this notebook holds, when it holds none of
    its own (a notebook handed in under the wrong assignment)."""
    owner = {gid: a for a, nbs in task.structure.items() for cells in nbs.values() for gid in cells}
    foreign = {owner[g] for g in seen if g in owner and owner[g] != task.assignment}
    return foreign if foreign and not set(seen) & set(expected) else set()


def _check_test_cells(task: Task, seen: dict, expected: dict, found: Inspection) -> None:
    for gid in expected:
        cell = seen.get(gid)
        if cell is None:
            found.notes[gid] = "test cell deleted"
            found.reasons.append(f"test cell {gid} was deleted: 0 points for it")
        elif gid in task.test_sources and (
            cell.cell_type != "code" or _norm(cell.source) != _norm(task.test_sources[gid])
        ):
            found.notes[gid] = "test cell edited (restored from the source before grading)"
            found.reasons.append(f"test cell {gid} was edited: graded with the original test")


def _released(task: Task) -> set[str]:
    """Normalized sources of the instructor's own cells, as released: not the student's
    (lesson 02's read-only cell imports rnnref.rnn on purpose), so the tamper scan leaves
    them out."""
    return {_norm(src) for src in task.test_sources.values()} | set(task.demo_sources)


def _scan(name: str, nb, released: set[str], found: Inspection) -> None:
    """Tamper flags for the student's own code cells of ``nb``."""
    _, scan = engine()
    if scan is None:
        return
    student_code = "\n\n".join(
        c.source
        for c in nb.cells
        if c.cell_type == "code"
        and not (c.get("metadata", {}).get("nbgrader", {}) or {}).get("grade")
        and _norm(c.source) not in released
    )
    try:
        found.flags.extend(f"{name}: {f}" for f in scan(student_code))
    except Exception as e:  # noqa: BLE001
        found.flags.append(f"{name}: tamper scan failed ({type(e).__name__}: {e})")


def _inspect_notebook(task: Task, name: str, path: Path | None, released, found) -> None:
    import nbformat

    expected = task.expected[name]
    if path is None:
        found.reasons.append(f"{name}.ipynb missing: 0 points for its tests")
        return found.zero(expected, "notebook missing")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # noqa: BLE001 (any unreadable file is the student's 0)
        found.reasons.append(f"{name}.ipynb could not be read ({type(e).__name__}): 0 points")
        return found.zero(expected, "notebook unreadable (malformed JSON)")
    if _one_copy_each(task, name, nb, found):
        nbformat.write(nb, path)  # the grading child's copy, which nbgrader then reads
    seen = _nbgrader_cells(nb)
    foreign = _foreign_assignments(task, seen, expected)
    if foreign:
        found.reasons.append(
            f"{name}.ipynb is a notebook of {', '.join(sorted(foreign))}, "
            f"not of {task.assignment}: 0 points"
        )
        return found.zero(expected, "wrong assignment's notebook")
    _check_test_cells(task, seen, expected, found)
    _scan(name, nb, released, found)
    found.notebooks[name] = nb


def inspect(task: Task, sub_dir: Path) -> Inspection:
    """Check the notebooks in ``sub_dir`` (the child's copy of the submission)."""
    found = Inspection()
    present = {p.stem: p for p in sub_dir.glob("*.ipynb")}
    for name in sorted(set(present) - set(task.expected)):
        found.reasons.append(f"{name}.ipynb is not a notebook of {task.assignment}: ignored")
    released = _released(task)
    for name in sorted(task.expected):
        _inspect_notebook(task, name, present.get(name), released, found)
    return found
