"""Export grades (one CSV row per student and assignment) and print the class summary."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict

from autograder import gradebook
from autograder.settings import Settings

FIELDS = [
    "student",
    "assignment",
    "score",
    "max_score",
    "percent",
    "status",
    "cells",
    "reasons",
    "flags",
]


def results_by_submission(settings: Settings) -> dict[tuple[str, str], dict]:
    """``{(student, assignment): the grader's stored result}`` of the gradebook."""
    return {(r["student_id"], r["assignment"]): r for r in gradebook.results(settings.db_url)}


def rows(settings: Settings, records: dict | None = None) -> list[dict]:
    """Scores as nbgrader computes them (manual scores, e.g. judge overrides, win);
    ``records``: :func:`results_by_submission`, when the caller has read them already."""
    records = results_by_submission(settings) if records is None else records
    out = []
    with gradebook.open_gradebook(settings.db_url) as gb:
        assignments = sorted(gb.assignments, key=lambda a: a.name)
        for student in sorted(gb.students, key=lambda s: s.id):
            for asg in assignments:
                rec = records.get((student.id, asg.name))
                row = {"student": student.id, "assignment": asg.name, "max_score": asg.max_score}
                try:
                    sub = gb.find_submission(asg.name, student.id)
                except Exception:  # noqa: BLE001 (nbgrader's MissingEntry)
                    sub = None
                if sub is None or rec is None:
                    status = "not graded yet" if sub is not None else "not submitted"
                    row.update(score=0.0, status=status, cells="", reasons=status, flags="")
                else:
                    cells = []
                    for nb in sub.notebooks:
                        for g in nb.grades:
                            cells.append(f"{g.name}={g.score:g}/{g.max_score:g}")
                    row.update(
                        score=float(sub.score),
                        status=rec["status"],
                        cells="; ".join(sorted(cells)),
                        reasons=" | ".join(rec["reasons"]),
                        flags=" | ".join(rec["flags"]),
                    )
                row["percent"] = (
                    round(100 * row["score"] / row["max_score"], 1) if row["max_score"] else 0.0
                )
                out.append(row)
    return out


# a text cell a spreadsheet would run as a formula (OWASP's CSV injection rule)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` as a spreadsheet shows it and never runs it: a text that starts like a
    formula (a student id ``=1+2``, a reason ``-x``) gets a leading ``'``, which spreadsheets
    read as "text" and do not display. Numbers are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(table: list[dict], path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for row in table:
            w.writerow({k: neutralise(row[k]) for k in FIELDS})


LMS_FORMATS = ("plain", "canvas", "moodle")
# Canvas's gradebook import: these columns, then one per assignment; the first row below the
# header gives every assignment's points possible. Canvas matches a student by ID (its own
# user id: the roster's lms_user_id), SIS User ID or SIS Login ID.
CANVAS_FIELDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Moodle's "Import grades from CSV": at import the ID number (or the email) column is mapped
# to the user field of that name, and each assignment column to its grade item.
MOODLE_FIELDS = ["ID number", "First name", "Last name", "Email address"]


def _people(settings: Settings) -> dict[str, dict]:
    """The roster's fields of every student, by id."""
    with gradebook.open_gradebook(settings.db_url) as gb:
        return {
            s.id: {
                "first": s.first_name or "",
                "last": s.last_name or "",
                "email": s.email or "",
                "lms": s.lms_user_id or "",
            }
            for s in gb.students
        }


def lms_table(settings: Settings, table: list[dict], fmt: str) -> list[list]:
    """The rows (header first) of the ``canvas`` or ``moodle`` import file for ``table``
    (from :func:`rows`): a column per assignment holding the points, 0 when nothing was
    submitted, empty when the submission is not graded yet (no grade is posted for it)."""
    if fmt not in LMS_FORMATS[1:]:
        raise ValueError(f"format must be one of {', '.join(LMS_FORMATS)}, not {fmt!r}")
    assignments = sorted({r["assignment"] for r in table})
    points = {r["assignment"]: r["max_score"] for r in table}
    scores = defaultdict(dict)
    for r in table:
        scores[r["student"]][r["assignment"]] = (
            "" if r["status"] == "not graded yet" else r["score"]
        )
    people = _people(settings)
    out = []
    if fmt == "canvas":
        out.append([*CANVAS_FIELDS, *assignments])
        out.append(["Points Possible", "", "", "", "", *(points[a] for a in assignments)])
    else:
        out.append([*MOODLE_FIELDS, *assignments])
    for student in sorted(scores):
        p = people.get(student, {"first": "", "last": "", "email": "", "lms": ""})
        marks = [scores[student].get(a, "") for a in assignments]
        if fmt == "canvas":
            name = ", ".join(x for x in (p["last"], p["first"]) if x) or student
            out.append([name, p["lms"], student, p["email"], "", *marks])
        else:
            out.append([student, p["first"], p["last"], p["email"], *marks])
    return out


def write_lms_csv(settings: Settings, table: list[dict], fmt: str, path) -> int:
    """Write the ``canvas`` or ``moodle`` import file; returns the number of students."""
    lines = lms_table(settings, table, fmt)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for line in lines:
            w.writerow([neutralise(v) for v in line])
    return len(lines) - (2 if fmt == "canvas" else 1)


def summary(settings: Settings, table: list[dict]) -> str:
    lines = []
    by_asg = defaultdict(list)
    for row in table:
        by_asg[row["assignment"]].append(row)
    passes = defaultdict(lambda: [0, 0])
    for row in table:
        if row["cells"]:
            for item in row["cells"].split("; "):
                gid, frac = item.split("=")
                got, mx = (float(x) for x in frac.split("/"))
                passes[(row["assignment"], gid)][0] += got >= mx
                passes[(row["assignment"], gid)][1] += 1
    for asg, rs in sorted(by_asg.items()):
        graded = [r for r in rs if r["cells"]]
        scores = [r["score"] for r in graded]
        mx = rs[0]["max_score"]
        lines.append(f"{asg}: {len(graded)} graded of {len(rs)} students, max {mx:g} points")
        if scores:
            lines.append(
                f"  mean {statistics.mean(scores):.2f}, median {statistics.median(scores):g}"
                f" ({100 * statistics.mean(scores) / mx if mx else 0:.0f}% mean)"
            )
            rates = sorted(
                ((p / n, gid) for (a, gid), (p, n) in passes.items() if a == asg and n),
            )
            lines.append("  pass rate per test (hardest first):")
            lines.extend(f"    {gid:<40} {100 * r:5.1f}%" for r, gid in rates)
    problems = [r for r in table if r["cells"] and (r["flags"] or r["reasons"])]
    if problems:
        lines.append("flags and reasons:")
        for r in problems:
            lines.append(f"  {r['student']}/{r['assignment']} ({r['score']:g}/{r['max_score']:g}):")
            for text in filter(None, r["flags"].split(" | ")):
                lines.append(f"    FLAG {text}")
            for text in filter(None, r["reasons"].split(" | ")):
                lines.append(f"    {text}")
    return "\n".join(lines)
