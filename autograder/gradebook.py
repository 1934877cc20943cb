"""The gradebook side of autograding: one writer, one transaction per submission.

Grading workers never open the class gradebook. Before a run, :func:`make_template` copies
the assignment structure (assignments, notebooks, cells: no students, no grades) out of the
class gradebook into a small SQLite file; each submission is autograded by nbgrader against
its own copy of that file, and the worker returns plain data. The main process alone writes
the results into the class gradebook with :func:`store_result`: the nbgrader rows (submission,
grades, comments) and this module's own ``rnn_autograde`` row (file hash, reasons, flags,
per-cell messages) in ONE transaction. Either a submission is in the gradebook completely,
with its ``rnn_autograde`` row, or not at all; re-running grades exactly what is missing.
This works the same with SQLite and with a shared PostgreSQL (or any SQLAlchemy) database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from nbgrader import api as nbapi
from nbgrader import utils as nbutils

from autograder.settings import COURSE_ID

# The assignment structure nbgrader needs to autograde (copied into worker gradebooks).
STRUCTURE_TABLES = (
    "course",
    "assignment",
    "notebook",
    "base_cell",
    "grade_cells",
    "solution_cells",
    "task_cells",
    "source_cell",
)

_meta = sa.MetaData()
RESULTS = sa.Table(
    "rnn_autograde",
    _meta,
    sa.Column("student_id", sa.String(128), primary_key=True),
    sa.Column("assignment", sa.String(128), primary_key=True),
    sa.Column("files_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),  # graded | error | killed
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),  # JSON list of str
    sa.Column("flags", sa.Text, nullable=False),  # JSON list of str
    sa.Column("cells", sa.Text, nullable=False),  # JSON {grade_id: {...}}
    sa.Column("seconds", sa.Float, nullable=False),  # in the grading child
    sa.Column("phases", sa.Text, nullable=True),  # JSON {"nbgrader": s, "judge": s}
    sa.Column("graded_at", sa.DateTime, nullable=False),
)


def open_gradebook(db_url: str) -> nbapi.Gradebook:
    """nbgrader's Gradebook (creates the tables if needed) plus this module's table."""
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    gb = nbapi.Gradebook(db_url, COURSE_ID)
    _meta.create_all(gb.engine)
    return gb


def assignment_names(db_url: str) -> list[str]:
    with open_gradebook(db_url) as gb:
        return sorted(a.name for a in gb.assignments)


def structure(db_url: str) -> dict[str, dict[str, dict[str, float]]]:
    """``{assignment: {notebook: {grade_id: max_score}}}`` of the autograded test cells."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    with open_gradebook(db_url) as gb:
        for a in gb.assignments:
            out[a.name] = {
                nb.name: {gc.name: float(gc.max_score) for gc in nb.grade_cells}
                for nb in a.notebooks
            }
    return out


def make_template(db_url: str, dest_sqlite: str) -> None:
    """Copy the assignment structure of ``db_url`` into a new SQLite gradebook file."""
    src = sa.create_engine(db_url)
    dst = sa.create_engine(f"sqlite:///{dest_sqlite}")
    nbapi.Base.metadata.create_all(dst)
    tables = [t for t in nbapi.Base.metadata.sorted_tables if t.name in STRUCTURE_TABLES]
    with src.connect() as s, dst.begin() as d:
        for table in tables:
            rows = [dict(r) for r in s.execute(sa.select(table)).mappings()]
            if rows:
                d.execute(sa.insert(table), rows)
        # nbgrader stamps new gradebooks with its alembic revision (running `alembic`):
        # copy the stamp so that opening the copy is just opening an existing gradebook
        version = s.execute(sa.text("select version_num from alembic_version")).scalar()
        d.execute(sa.text("create table alembic_version (version_num varchar(32) not null)"))
        d.execute(sa.text("insert into alembic_version values (:v)"), {"v": version})
    src.dispose()
    dst.dispose()


def done(db_url: str) -> dict[tuple[str, str], str]:
    """``{(student, assignment): files_hash}`` of every submission already stored."""
    open_gradebook(db_url).close()  # nbgrader's schema first (it stamps alembic on empty DBs)
    eng = sa.create_engine(db_url)
    with eng.connect() as c:
        rows = c.execute(
            sa.select(RESULTS.c.student_id, RESULTS.c.assignment, RESULTS.c.files_hash)
        )
        out = {(r[0], r[1]): r[2] for r in rows}
    eng.dispose()
    return out


def results(db_url: str) -> list[dict]:
    """Every stored autograde record, JSON columns decoded."""
    open_gradebook(db_url).close()
    eng = sa.create_engine(db_url)
    with eng.connect() as c:
        rows = [dict(r) for r in c.execute(sa.select(RESULTS)).mappings()]
    eng.dispose()
    for r in rows:
        for k in ("reasons", "flags", "cells"):
            r[k] = json.loads(r[k])
    return rows


def store_result(gb: nbapi.Gradebook, result: dict) -> None:
    """Write one graded submission into the class gradebook, all in one transaction.

    ``result`` (made by :mod:`autograder.grading`) holds ``student``, ``assignment``,
    ``timestamp``, ``cells`` ``{grade_id: {notebook, auto_score, max_score, override, ...}}``,
    ``comments`` ``{(notebook, cell): auto_comment}`` as a list, and the record fields.

    A cell that nbgrader scored but the judge failed gets ``manual_score = 0`` (nbgrader's
    ``score`` is the manual score when there is one): the override is visible as a manual
    grade in formgrader and in ``rnn_autograde.cells``.
    """
    db = gb.db
    student_id, assignment = result["student"], result["assignment"]
    try:
        student = db.query(nbapi.Student).filter(nbapi.Student.id == student_id).one_or_none()
        if student is None:
            student = nbapi.Student(id=student_id)
            db.add(student)
        asg = db.query(nbapi.Assignment).filter(nbapi.Assignment.name == assignment).one()
        sub = (
            db.query(nbapi.SubmittedAssignment)
            .filter(
                nbapi.SubmittedAssignment.assignment_id == asg.id,
                nbapi.SubmittedAssignment.student_id == student_id,
            )
            .one_or_none()
        )
        if sub is None:  # nbgrader's add_submission, without its commit
            with db.no_autoflush:
                sub = nbapi.SubmittedAssignment(assignment=asg, student=student)
                db.add(sub)
                for notebook in asg.notebooks:
                    nb = nbapi.SubmittedNotebook(notebook=notebook, assignment=sub)
                    db.add(nb)
                    for cell in notebook.grade_cells:
                        db.add(nbapi.Grade(cell_id=cell.id, notebook=nb))
                    for cell in notebook.solution_cells:
                        db.add(nbapi.Comment(cell_id=cell.id, notebook=nb))
                    for cell in notebook.task_cells:
                        db.add(nbapi.Comment(cell_id=cell.id, notebook=nb))
                        db.add(nbapi.Grade(cell_id=cell.id, notebook=nb))
            db.flush()
        if result.get("timestamp"):
            sub.timestamp = nbutils.parse_utc(result["timestamp"])
        cells = result["cells"]
        for nb in sub.notebooks:
            for grade in nb.grades:
                c = cells.get(grade.name)
                if c is None or c.get("notebook") != nb.name:
                    c = {}
                grade.auto_score = c.get("auto_score", 0.0)
                grade.needs_manual_grade = bool(c.get("needs_manual_grade", False))
                grade.manual_score = 0.0 if c.get("override") else None
            comments = {tuple(k[:2]): k[2] for k in result.get("comments", [])}
            for comment in nb.comments:
                comment.auto_comment = comments.get((nb.name, comment.name))
        values = {
            "files_hash": result["files_hash"],
            "status": result["status"],
            "score": float(result["score"]),
            "max_score": float(result["max_score"]),
            "reasons": json.dumps(result["reasons"]),
            "flags": json.dumps(result["flags"]),
            "cells": json.dumps(cells),
            "seconds": float(result.get("seconds", 0.0)),
            "phases": json.dumps(result.get("phases", {})),
            "graded_at": datetime.now(UTC).replace(tzinfo=None),
        }
        key = (RESULTS.c.student_id == student_id) & (RESULTS.c.assignment == assignment)
        db.flush()
        if db.execute(sa.select(RESULTS.c.student_id).where(key)).first():
            db.execute(sa.update(RESULTS).where(key).values(**values))
        else:
            db.execute(
                sa.insert(RESULTS).values(student_id=student_id, assignment=assignment, **values)
            )
        db.commit()
    except BaseException:
        db.rollback()
        raise


def import_roster(db_url: str, rows: list[dict]) -> int:
    """Create or update students from roster rows (``id`` plus optional name/email fields)."""
    fields = ("first_name", "last_name", "email", "lms_user_id")
    with open_gradebook(db_url) as gb:
        for row in rows:
            gb.update_or_create_student(
                row["id"], **{k: row[k] for k in fields if row.get(k) not in (None, "")}
            )
    return len(rows)
