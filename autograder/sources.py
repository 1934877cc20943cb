"""The lesson sources: ``solutions/NN_topic/NN_topic.md`` (MyST, the one file an instructor
edits) and the nbgrader notebook ``NN_topic.ipynb`` built from it.

``python -m autograder release`` calls :func:`build` for every lesson it releases, before
nbgrader reads the notebooks, so the pair never drifts. The notebook is written only when
its content changes (same source, same bytes), and never over a notebook that was edited by
hand after its ``.md``: that raises :class:`SourceError` naming the file, and nothing is lost.

Build one lesson by hand::

    .venv/bin/python -m autograder.sources solutions/01_vanilla_rnn
"""

import json
import sys
from pathlib import Path

import jupytext
import nbformat

from autograder.paths import SOLUTIONS


class SourceError(Exception):
    """A lesson's sources are missing or in conflict; the message names the file and the fix."""


def lesson_names(solutions=SOLUTIONS):
    """Every lesson folder of ``solutions/`` that holds its source ``NN_topic.md``, sorted."""
    return sorted(
        d.name for d in Path(solutions).iterdir() if d.is_dir() and (d / f"{d.name}.md").is_file()
    )


def stable_ids(nb):
    """Deterministic cell ids (nbformat 4.5 needs them): the nbgrader grade_id or the index."""
    for i, cell in enumerate(nb.cells):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cell["id"] = gid if gid else f"cell-{i:02d}"
    return nb


def md_to_notebook(md_path):
    """The ``.ipynb`` a lesson's MyST file stands for: outputs stripped, ids stable."""
    nb = jupytext.read(md_path)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return stable_ids(nb)


def normalise(nb):
    """A comparable form: cells (type, source, metadata) and the notebook metadata, without
    outputs, execution counts or nbgrader's per-cell checksums of generated files."""
    if isinstance(nb, str | Path):
        nb = nbformat.read(nb, as_version=4)
    cells = []
    for cell in nb.cells:
        meta = json.loads(json.dumps(cell.get("metadata", {})))
        meta.get("nbgrader", {}).pop("checksum", None)
        meta.pop("execution", None)
        cells.append((cell.cell_type, cell.source.strip(), json.dumps(meta, sort_keys=True)))
    meta = {k: v for k, v in nb.metadata.items() if k in ("kernelspec",)}
    return {"cells": cells, "metadata": meta}


def build(lesson_dir):
    """Write ``NN_topic.ipynb`` from ``NN_topic.md`` in ``lesson_dir``; returns the notebook
    path and whether it was (re)written."""
    lesson_dir = Path(lesson_dir)
    md, ipynb = lesson_dir / f"{lesson_dir.name}.md", lesson_dir / f"{lesson_dir.name}.ipynb"
    if not md.is_file():
        raise SourceError(f"{md} not found: a lesson's source is its MyST file NN_topic.md")
    nb = md_to_notebook(md)
    text = nbformat.writes(nb) + "\n"
    if ipynb.is_file():
        old = ipynb.read_text(encoding="utf-8")
        if old == text:
            return ipynb, False
        edited_later = ipynb.stat().st_mtime > md.stat().st_mtime
        if edited_later and normalise(nbformat.reads(old, as_version=4)) != normalise(nb):
            raise SourceError(
                f"{ipynb} was changed after {md.name} and differs from it: the .md is the "
                f"source. Carry the change over to {md.name} (jupytext --to myst {ipynb} "
                f"prints it as MyST), or delete {ipynb.name}; nothing was overwritten."
            )
    ipynb.write_text(text, encoding="utf-8")
    return ipynb, True


if __name__ == "__main__":
    for arg in sys.argv[1:] or [str(SOLUTIONS / n) for n in lesson_names()]:
        try:
            path, written = build(arg)
        except SourceError as exc:
            sys.exit(f"error: {exc}")
        print(("wrote " if written else "unchanged ") + str(path))
