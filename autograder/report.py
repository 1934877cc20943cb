"""``python -m autograder report``: what the class got wrong, from the judge's named mistakes.

Per assignment: the score histogram, the pass rate of every graded function, the likely
causes the judge named ranked by how many students hit them ("mean instead of sum over the
batch: 23 of 140"), the flagged submissions with their flags, the seconds per notebook, and
who was not graded and why. Printed as text; ``--html`` writes one self-contained page
(figures embedded as PNG, every text escaped, the feedback pages' no-script policy) and
``--csv`` the same numbers as rows ``assignment, section, item, count, of, value``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from autograder import grades
from autograder import sanitize as sanitize_html
from autograder.feedback import diagnosis, passed
from autograder.settings import Settings

_CAUSE = re.compile(r"Likely cause: (.+?)(?:: |\. |\.$|$)", re.S)
NO_CAUSE = "wrong, no likely cause known"


def likely_cause(message: str) -> str:
    """The short name of the judge's likely cause in ``message`` (the text after "Likely
    cause:" up to its first colon or full stop), or :data:`NO_CAUSE`."""
    m = _CAUSE.search(message or "")
    return m.group(1).strip() if m else NO_CAUSE


@dataclass
class AssignmentReport:
    """The numbers of one assignment (every count is of students)."""

    name: str
    max_score: float
    scores: list[float] = field(default_factory=list)  # graded submissions
    passed: dict[str, list[int]] = field(default_factory=dict)  # function -> [passed, graded]
    causes: dict[str, Counter] = field(default_factory=dict)  # function -> cause -> students
    flagged: list[tuple[str, list[str]]] = field(default_factory=list)
    seconds: list[tuple[float, str]] = field(default_factory=list)  # per notebook, student
    not_graded: list[tuple[str, str]] = field(default_factory=list)  # student, why

    @property
    def graded(self) -> int:
        return len(self.scores)

    def hardest_first(self) -> list[tuple[str, int, int]]:
        """``(function, passed, graded)``, the lowest pass rate first."""
        rows = [(fn, ok, n) for fn, (ok, n) in self.passed.items()]
        return sorted(rows, key=lambda row: row[1] / row[2])

    @property
    def median_seconds(self) -> float:
        return _median([s for s, _ in self.seconds])


def _functions(assignment: str, gid: str, names: dict) -> list[str]:
    fns = names.get(assignment, {}).get(gid)
    return list(fns) if fns else [gid]


def _cell_functions(settings: Settings) -> dict[str, dict[str, list[str]]]:
    """``{assignment: {grade_id: [function names]}}`` of the lessons the judge knows."""
    from autograder.checks import grade_cells

    out = {}
    for a in settings.assignments_in_source():
        try:
            out[a] = {gid: fns for gid, (_, fns) in grade_cells(a).items()}
        except (OSError, ValueError):  # not one of the course's lessons: cells by grade id
            out[a] = {}
    return out


def build(settings: Settings, assignments: list[str] | None = None) -> list[AssignmentReport]:
    """One :class:`AssignmentReport` per assignment of the gradebook (or of ``assignments``)."""
    records = grades.results_by_submission(settings)
    table = grades.rows(settings, records)
    names = _cell_functions(settings)
    reports: dict[str, AssignmentReport] = {}
    for row in table:
        a = row["assignment"]
        if assignments and a not in assignments:
            continue
        rep = reports.setdefault(a, AssignmentReport(a, row["max_score"]))
        rec = records.get((row["student"], a))
        if rec is None:
            rep.not_graded.append((row["student"], row["status"]))
            continue
        rep.scores.append(row["score"])
        if rec["status"] != "graded":
            rep.not_graded.append((row["student"], "; ".join(rec["reasons"][:2]) or "error"))
        if rec["flags"]:
            rep.flagged.append((row["student"], rec["flags"]))
        notebooks = len({c.get("notebook") for c in rec["cells"].values()}) or 1
        rep.seconds.append((rec["seconds"] / notebooks, row["student"]))
        for gid, cell in rec["cells"].items():
            ok = passed(cell)
            for fn in _functions(a, gid, names):
                counts = rep.passed.setdefault(fn, [0, 0])
                counts[0] += ok
                counts[1] += 1
                if not ok:
                    cause = likely_cause(diagnosis(cell) or "")
                    rep.causes.setdefault(fn, Counter())[cause] += 1
    return [reports[a] for a in sorted(reports)]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def text(reports: list[AssignmentReport]) -> str:
    lines = []
    for r in reports:
        if not r.graded:
            lines.append(f"{r.name}: no submissions yet")
            continue
        lines.append(f"{r.name}: {r.graded} graded, max {r.max_score:g} points")
        lines.append(
            f"  mean {statistics.mean(r.scores):.2f}, median {_median(r.scores):g}; "
            f"full marks {sum(s >= r.max_score for s in r.scores)} of {r.graded}"
        )
        lines.append("  pass rate per function (hardest first):")
        for fn, ok, n in r.hardest_first():
            lines.append(f"    {fn:<32} {ok} of {n} ({100 * ok / n:.0f}%)")
            for cause, k in r.causes.get(fn, Counter()).most_common():
                lines.append(f"      {cause}: {k} of {n}")
        if r.seconds:
            slow = max(r.seconds)
            lines.append(
                f"  seconds per notebook: median {r.median_seconds:.1f}, slowest {slow[0]:.1f} "
                f"({slow[1]})"
            )
        if r.flagged:
            lines.append(f"  flagged: {len(r.flagged)}")
            for student, flags in r.flagged:
                lines.append(f"    {student}: {' | '.join(flags)[:300]}")
        if r.not_graded:
            lines.append(f"  not graded: {len(r.not_graded)}")
            for student, why in r.not_graded:
                lines.append(f"    {student}: {why}")
    return "\n".join(lines)


def csv_rows(reports: list[AssignmentReport]) -> list[dict]:
    """The report's numbers: ``section`` is ``score`` (item: the points, count: students),
    ``function`` (count passed of graded), ``cause`` (item: function: cause), ``seconds``
    (value: median seconds per notebook), ``flagged`` and ``not graded`` (item: student), or
    ``no submissions`` alone for an assignment nobody handed in yet."""
    out = []

    def add(a, section, item, count="", of="", value=""):
        out.append(
            {"assignment": a, "section": section, "item": item, "count": count, "of": of,
             "value": value}
        )  # fmt: skip

    for r in reports:
        if not r.graded:
            add(r.name, "no submissions", "")
            continue
        for points, k in sorted(Counter(r.scores).items()):
            add(r.name, "score", f"{points:g}", k, r.graded)
        for fn, (ok, n) in sorted(r.passed.items()):
            add(r.name, "function", fn, ok, n, f"{ok / n:.3f}")
            for cause, k in r.causes.get(fn, Counter()).most_common():
                add(r.name, "cause", f"{fn}: {cause}", k, n)
        if r.seconds:
            add(r.name, "seconds", "median per notebook", value=f"{r.median_seconds:.2f}")
        for student, flags in r.flagged:
            add(r.name, "flagged", student, len(flags), value=" | ".join(flags))
        for student, why in r.not_graded:
            add(r.name, "not graded", student, value=why)
    return out


def write_csv(reports: list[AssignmentReport], path) -> None:
    rows = csv_rows(reports)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["assignment", "section", "item", "count", "of", "value"])
        w.writeheader()
        for row in rows:
            w.writerow({k: grades.neutralise(v) for k, v in row.items()})


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _figures(r: AssignmentReport) -> str:
    """The score histogram and the pass rates, as embedded PNG images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.4), layout="constrained")
    bins = max(1, int(r.max_score)) if r.max_score else 10
    ax1.hist(r.scores, bins=bins, range=(0, r.max_score or 1), color="#3a6ea5", edgecolor="white")
    ax1.set_xlabel("points")
    ax1.set_ylabel("students")
    ax1.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_title("scores")
    rows = r.hardest_first()
    ax2.barh([fn for fn, _, _ in rows], [100 * ok / n for _, ok, n in rows], color="#c05000")
    ax2.set_xlim(0, 100)
    ax2.set_xlabel("% of graded students who passed")
    ax2.set_title("pass rate per function")
    src = _png(fig)
    plt.close(fig)
    alt = f"scores and pass rates of {r.name}"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{src}">'


def _table(head: list[str], rows: list[list]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table border=1 cellpadding=4><tr>{cells}</tr>{body}</table>"


def html_page(reports: list[AssignmentReport]) -> str:
    """The whole report as one page: no script, no outside resource (figures embedded)."""
    parts = ["<h1>Class report</h1>"]
    for r in reports:
        parts.append(f"<h2>{html.escape(r.name)}</h2>")
        if not r.graded:
            parts.append("<p>No submissions yet.</p>")
            continue
        parts.append(
            f"<p>{r.graded} graded; mean {statistics.mean(r.scores):.2f} of "
            f"{r.max_score:g}, median {_median(r.scores):g}.</p>"
        )
        parts.append(_figures(r))
        rows = []
        for fn, ok, n in r.hardest_first():
            causes = "; ".join(f"{c}: {k} of {n}" for c, k in r.causes.get(fn, {}).most_common())
            rows.append([fn, f"{ok} of {n} ({100 * ok / n:.0f}%)", causes])
        parts.append("<h3>Per function: pass rate and likely causes</h3>")
        parts.append(_table(["function", "passed", "likely causes (students)"], rows))
        if r.seconds:
            secs = sorted(r.seconds, reverse=True)
            parts.append(
                f"<p>Seconds per notebook: median {r.median_seconds:.1f}; slowest: "
                + html.escape(", ".join(f"{st} {s:.1f}" for s, st in secs[:5]))
                + "</p>"
            )
        if r.flagged:
            parts.append("<h3>Flagged submissions</h3>")
            parts.append(_table(["student", "flags"], [[s, " | ".join(f)] for s, f in r.flagged]))
        if r.not_graded:
            parts.append("<h3>Not graded</h3>")
            parts.append(_table(["student", "why"], [list(x) for x in r.not_graded]))
    css = (
        "<style>body{font-family:sans-serif;margin:1em 2em}td,th{text-align:left;"
        "vertical-align:top}img{max-width:100%}</style>"
    )
    return sanitize_html.page("Class report", "\n".join(parts), "", css)
