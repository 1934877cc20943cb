"""Per-student HTML feedback that never shows hidden tests.

nbgrader's own ``generate_feedback`` shows the hidden tests (and tracebacks quote hidden lines
even with ``ClearHiddenTests``). This writes ``feedback/<student>/<assignment>/<notebook>.html``
(nbgrader's layout, so ``nbgrader release_feedback`` can hand them out) from the autograded
notebook after removing, in every test cell: the hidden-test block, the tracebacks (only the
exception's type and message stay: the engine's messages name the quantity and the likely
mistake) and other outputs of cells that had hidden tests. On top: the score of every test
cell, the reasons (timeouts, deleted test cells, judge overrides, ...) and, for each failing
cell the judge diagnosed, its diagnosis (function, case, output, error, likely cause), also
shown under the cell itself.
"""

from __future__ import annotations

import html
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output

from autograder import gradebook, safefiles
from autograder import sanitize as sanitize_html
from autograder.grading.records import DIAGNOSIS
from autograder.grading.sources import (
    HIDDEN_RE,
    SUBMISSION_SECRET,
    SUBMISSION_SECRET_MAX_BYTES,
    strip_hidden,
)
from autograder.settings import Settings

# The page's own CSS (student content gets no style attributes: see autograder/sanitize.py).
_CSS = (
    "<style>.autograder-diagnosis{border-left:4px solid #c05000;background:#fff4e5;"
    "padding:.4em .8em;margin:.4em 0}.autograder-diagnosis pre{white-space:pre-wrap;"
    "margin:.2em 0}</style>"
)


def passed(cell: dict) -> bool:
    """Whether a cell record (``rnn_autograde.cells`` entry) got all its points."""
    return cell.get("score", 0) >= cell.get("max_score", 0)


def diagnosis(cell: dict) -> str | None:
    """The judge's diagnosis of a failing cell record (``rnn_autograde.cells`` entry)."""
    if passed(cell):
        return None
    judge = cell.get("judge") or {}
    if judge and not judge.get("passed") and judge.get("message"):
        return str(judge["message"])
    message = str(cell.get("message") or "")
    return message.split(DIAGNOSIS, 1)[1] if DIAGNOSIS in message else None


def own_message(cell: dict) -> str:
    """A failing cell's message without the diagnosis appended to it."""
    if cell.get("override"):
        return "the visible tests passed, the hidden checks did not"
    message = str(cell.get("message") or "test failed")
    return message.split(DIAGNOSIS, 1)[0].removeprefix("judge: ")


def diagnosis_html(text: str) -> str:
    return (
        f'<div class="autograder-diagnosis"><b>Diagnosis:</b><pre>{html.escape(text)}</pre></div>'
    )


def sanitize(nb, cells: dict) -> None:
    """Remove hidden tests and tracebacks from the test cells of ``nb`` in place; put the
    judge's diagnosis of a failing cell (from ``cells``, the result's records) under it."""
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.cell_type != "code" or not (md.get("grade") or md.get("grade_id") in cells):
            continue
        why = diagnosis(cells.get(md.get("grade_id"), {})) if md.get("grade_id") else None
        had_hidden = bool(HIDDEN_RE.search(cell.source))
        cell.source = strip_hidden(cell.source)
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                kept.append(
                    new_output(
                        "error",
                        ename=out.get("ename", "Error"),
                        evalue=str(out.get("evalue", ""))[:2000],
                        traceback=[f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"[:2000]],
                    )
                )
            elif not had_hidden:
                kept.append(out)
        if why:
            kept.append(new_output("display_data", data={"text/html": diagnosis_html(why)}))
        cell.outputs = kept


class HideHiddenTests(Preprocessor):
    """nbconvert preprocessor form of :func:`sanitize`, for ``nbgrader generate_feedback``."""

    def preprocess(self, nb, resources):
        sanitize(nb, {})
        return nb, resources


def _header(student: str, assignment: str, notebook: str, rec: dict) -> str:
    rows = []
    for gid, c in rec["cells"].items():
        if c.get("notebook") != notebook:
            continue
        ok = passed(c)
        msg = "" if ok else f"<pre>{html.escape(own_message(c))}</pre>"
        why = diagnosis(c)
        rows.append(
            f"<tr><td><code>{html.escape(gid)}</code></td>"
            f"<td>{c.get('score', 0):g} / {c.get('max_score', 0):g}</td>"
            f"<td>{'passed' if ok else 'failed'}</td>"
            f"<td>{msg}{diagnosis_html(why) if why else ''}</td></tr>"
        )
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in rec["reasons"])
    return (
        '<div id="autograder-feedback" style="font-family:sans-serif;margin:1em 2em">'
        f"<h1>Feedback: {html.escape(assignment)} / {html.escape(notebook)}</h1>"
        f"<p>Student: <b>{html.escape(student)}</b>. Score: <b>{rec['score']:g} / "
        f"{rec['max_score']:g}</b> for the assignment.</p>"
        + (f"<h2>Notes</h2><ul>{reasons}</ul>" if reasons else "")
        + "<h2>Tests</h2><table border=1 cellpadding=4><tr><th>test</th><th>points</th>"
        "<th>result</th><th>message</th></tr>" + "".join(rows) + "</table></div>"
    )


def generate(settings: Settings, students=None, assignments=None) -> list[Path]:
    """Write every selected student's feedback pages; each is sanitised (see
    :mod:`autograder.sanitize`): the student's notebook may hold markup that would run in the
    browser of whoever opens the page."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    exporter.exclude_input_prompt = False
    css = sanitize_html.template_css(exporter) + _CSS
    written = []
    for rec in gradebook.results(settings.db_url):
        s, a = rec["student_id"], rec["assignment"]
        if students and s not in students or assignments and a not in assignments:
            continue
        out_dir = settings.feedback / s / a
        out_dir.mkdir(parents=True, exist_ok=True)
        # nbgrader's release_feedback hands a page out only beside the submission's secret
        try:
            secret = safefiles.read_bytes(
                settings.autograded / s / a / SUBMISSION_SECRET, limit=SUBMISSION_SECRET_MAX_BYTES
            )
        except (OSError, ValueError):  # none, a link or too big (grading kept none of those)
            pass
        else:
            (out_dir / SUBMISSION_SECRET).write_bytes(secret)
        names = sorted({c["notebook"] for c in rec["cells"].values()})
        for name in names:
            src = settings.autograded / s / a / f"{name}.ipynb"
            body = "<p>(The notebook could not be run; see the notes above.)</p>"
            if src.exists() and not src.is_symlink():
                nb = nbformat.reads(safefiles.read_bytes(src).decode("utf-8"), as_version=4)
                sanitize(nb, rec["cells"])
                sanitize_html.sanitize_notebook(nb)
                body = sanitize_html.body_of(exporter.from_notebook_node(nb)[0])
            head = _header(s, a, name, rec)
            page = sanitize_html.page(f"Feedback: {a} / {name}", head, body, css)
            path = out_dir / f"{name}.html"
            path.write_text(page, encoding="utf-8")
            written.append(path)
    return written
