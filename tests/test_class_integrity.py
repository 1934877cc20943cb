"""One student's files never replace a classmate's work or stop the class (the real CLI, the
toy class): a nested ``submitted/`` layout inside a student's folder or zip, every kind of bad
``timestamp.txt``, student ids a spreadsheet would run as formulas, and a notebook that writes
many files or a big one."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import class_env, read_csv, run  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder.grading.run import read_timestamp  # noqa: E402

A = "01_toy"
NB = f"{A}.ipynb"


def _class(tmp: Path):
    src = fx.toy_source(tmp / "src")
    env = class_env(tmp)
    run(env, "release")
    sol = fx.as_submission(fx.read(src / A / NB))
    wrong = fx.set_source(sol, "add_impl", "def add(a, b):\n    return 0")
    return env, sol, wrong


def _full(row) -> bool:
    return row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) > 0


def test_a_nested_class_layout_in_a_students_folder_or_zip_replaces_nobody(tmp_path):
    env, sol, wrong = _class(tmp_path)
    first = tmp_path / "first"
    fx.write(sol, first / "victim" / NB)
    run(env, "collect", str(first))
    victim = tmp_path / "course" / "submitted" / "victim" / A / NB
    before = victim.read_bytes()
    dl = tmp_path / "dl"
    fx.write(sol, dl / "bystander" / NB)
    fx.write(wrong, dl / "mallory" / "submitted" / "victim" / A / NB)
    with zipfile.ZipFile(dl / "trudy.zip", "w") as zf:
        zf.writestr(f"course/submitted/victim/{A}/{NB}", fx.dumps(wrong))
        zf.writestr(f"course/submitted/victim/{A}/timestamp.txt", "2020-01-01 00:00:00 UTC")
    out = run(env, "collect", str(dl))
    assert victim.read_bytes() == before, out  # the classmate's work is untouched
    sub = tmp_path / "course" / "submitted"
    assert (sub / "bystander" / A / NB).is_file(), out  # and the rest of the input collected
    # each student's files land under their own id only
    for student in ("mallory", "trudy"):
        placed = sub / student / A / NB
        assert placed.is_file(), (student, out)
        assert "return 0" in placed.read_text()
    assert sorted(p.name for p in sub.iterdir()) == ["bystander", "mallory", "trudy", "victim"]
    run(env, "autograde", "--no-progress")
    run(env, "grades", "--csv", str(tmp_path / "g.csv"))
    table = read_csv(tmp_path / "g.csv")
    assert _full(table[("victim", A)]) and _full(table[("bystander", A)]), table
    assert not _full(table[("mallory", A)]) and not _full(table[("trudy", A)])


BAD_TIMESTAMPS = {
    "garbage": b"yesterday, around noon",
    "binary": b"\xff\xfe\x00\x01not utf-8",
    "empty": b"",
    "huge_year": b"99999999-01-01 00:00:00 UTC",
}


def _bad_timestamps(sub: Path) -> None:
    """Each kind of bad timestamp.txt, put in ``submitted/`` as another tool could leave it."""
    for name, data in BAD_TIMESTAMPS.items():
        (sub / f"ts_{name}" / A / "timestamp.txt").write_bytes(data)
    os.symlink("/etc/passwd", sub / "ts_link" / A / "timestamp.txt")
    (sub / "ts_folder" / A / "timestamp.txt").mkdir()
    os.mkfifo(sub / "ts_fifo" / A / "timestamp.txt")
    (sub / "ts_good" / A / "timestamp.txt").write_text("2026-11-20 10:00:00 UTC\n")


def _timestamps(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "select student.id, submitted_assignment.timestamp from submitted_assignment "
            "join student on student.id = submitted_assignment.student_id"
        ).fetchall()
    return dict(rows)


def test_a_bad_timestamp_is_that_students_note_and_never_stops_the_class(tmp_path):
    env, sol, _ = _class(tmp_path)
    dl = tmp_path / "dl"
    students = [f"ts_{n}" for n in [*BAD_TIMESTAMPS, "link", "folder", "fifo", "good"]]
    for student in [*students, "honest"]:
        fx.write(sol, dl / student / NB)
    run(env, "collect", str(dl))
    sub = tmp_path / "course" / "submitted"
    _bad_timestamps(sub)
    for attempt in ("first", "again"):  # a rerun does not stop at the same file
        out = run(env, "autograde", "--no-progress", "--force")
        assert f"{len(students) + 1} graded" in out, (attempt, out)
        run(env, "grades", "--csv", str(tmp_path / "g.csv"))
        table = read_csv(tmp_path / "g.csv")
        for student in [*students, "honest"]:
            assert _full(table[(student, A)]), (attempt, student, table[(student, A)])
        for student in students[:-1]:
            note = f"note: {student}/{A}: timestamp.txt"
            assert note in out, (student, out)
            assert "timestamp.txt" in table[(student, A)]["reasons"], table[(student, A)]
            assert "no submission time" in table[(student, A)]["reasons"]
        assert "ts_good" not in out and "timestamp" not in table[("ts_good", A)]["reasons"]
    times = _timestamps(tmp_path / "course" / "gradebook.db")
    assert times["ts_good"].startswith("2026-11-20 10:00:00"), times
    assert all(times[s] is None for s in students[:-1]), times
    # the instructor may take the time of collection instead
    out = run(env, "autograde", "--no-progress", "--force", "--bad-timestamp", "collected")
    assert "the time it was collected used" in out
    times = _timestamps(tmp_path / "course" / "gradebook.db")
    assert all(times[s] for s in students), times
    assert "root:x:0:0" not in "".join(str(v) for v in times.values())


def test_read_timestamp_names_what_is_wrong(tmp_path):
    (tmp_path / "timestamp.txt").write_bytes(b"\xff")
    assert read_timestamp(tmp_path) == (None, "timestamp.txt is not UTF-8 text: ignored (no "
                                                "submission time)")  # fmt: skip
    (tmp_path / "timestamp.txt").write_text("2026-11-20 10:00:00.5 UTC")
    assert read_timestamp(tmp_path) == ("2026-11-20 10:00:00.5 UTC", None)
    (tmp_path / "timestamp.txt").unlink()
    assert read_timestamp(tmp_path) == (None, None)


def test_grades_csv_never_runs_a_formula(tmp_path):
    env, sol, _ = _class(tmp_path)
    dl = tmp_path / "dl"
    ids = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "ok"]
    for student in ids:
        fx.write(sol, dl / student / NB)
    out = run(env, "collect", str(dl))
    assert "NOT PLACED" not in out, out  # printable ids without a separator are valid
    run(env, "autograde", "--no-progress")
    run(env, "grades", "--csv", str(tmp_path / "g.csv"))
    with open(tmp_path / "g.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cells = [v for r in rows for v in r.values()]
    assert not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    students = {r["student"] for r in rows if r["assignment"] == A}
    assert students == {"'=1+2", "'+SUM(A1)", "'-2+3", "'@cmd", "ok"}, students
    assert all(float(r["score"]) == float(r["max_score"]) for r in rows if r["assignment"] == A)
    lms_exports_match_the_grades(env, tmp_path, rows)


def _read_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def lms_exports_match_the_grades(env, tmp_path, plain_rows):
    """Canvas's and Moodle's import files of the class: the columns each LMS reads, the roster's
    names, emails and LMS ids, the same points as the plain CSV, 0 for a student who handed
    nothing in, and no cell a spreadsheet would run."""
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,first_name,last_name,email,lms_user_id\n"
        "ok,Ada,Lovelace,ada@example.org,1001\n"
        'absent,Alan,"=HYPERLINK(""http://x"")",alan@example.org,1002\n'
    )
    run(env, "roster", str(roster))
    score = {r["student"]: r["score"] for r in plain_rows if r["assignment"] == A}
    ids = [*score, "absent"]
    run(env, "grades", "--format", "canvas", "--csv", str(tmp_path / "canvas.csv"))
    canvas = _read_rows(tmp_path / "canvas.csv")
    assert canvas[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert canvas[0][6:] == ["02_toy"], canvas[0]  # every assignment of the gradebook
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) > 0, canvas[1]
    by_id = {r[2]: r for r in canvas[2:]}
    assert sorted(by_id) == sorted(ids), by_id
    assert by_id["ok"][:4] == ["Lovelace, Ada", "1001", "ok", "ada@example.org"]
    assert by_id["absent"][0].startswith("'=HYPERLINK") and float(by_id["absent"][5]) == 0
    assert all(float(by_id[s][5]) == float(score[s]) for s in score)
    run(env, "grades", "--format", "moodle", "--csv", str(tmp_path / "moodle.csv"))
    moodle = _read_rows(tmp_path / "moodle.csv")
    assert moodle[0] == ["ID number", "First name", "Last name", "Email address", A, "02_toy"]
    by_id = {r[0]: r for r in moodle[1:]}
    assert sorted(by_id) == sorted(ids) and by_id["ok"][1:4] == [
        "Ada",
        "Lovelace",
        "ada@example.org",
    ]
    assert all(float(by_id[s][4]) == float(score[s]) for s in score)
    for table in (canvas, moodle):
        cells = [v for r in table for v in r]
        assert not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grades", "--format", "canvas"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0 and "give it with --csv FILE" in proc.stderr, proc.stderr


WRITES = (
    "import os\n"
    "os.makedirs('junk', exist_ok=True)\n"
    "for i in range(300):\n"
    "    open(f'junk/{i}.txt', 'w').write('x')\n"
    "open('big.bin', 'wb').write(b'0' * (60 * 2**20))\n"
    "open('model-1.txt', 'w').write('weights')\n"
)


def test_only_the_notebook_and_declared_files_come_back(tmp_path):
    env, sol, _ = _class(tmp_path)
    dl = tmp_path / "dl"
    fx.write(fx.insert_code(sol, "test_add", WRITES), dl / "writer" / NB)
    fx.write(sol, dl / "honest" / NB)
    run(env, "collect", str(dl))
    run(env, "autograde", "--no-progress", "--keep", "model-*.txt", "--keep", "big.bin")
    run(env, "grades", "--csv", str(tmp_path / "g.csv"))
    table = read_csv(tmp_path / "g.csv")
    assert _full(table[("writer", A)]) and _full(table[("honest", A)]), table
    folder = tmp_path / "course" / "autograded" / "writer" / A
    kept = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    # big.bin is declared but over the total size: it does not come back either
    assert kept == [NB, "model-1.txt"], kept
    why = table[("writer", A)]["reasons"]
    assert "301 files the notebook wrote were not kept" in why, why
    assert "big.bin" in why and "at most 100 files, 50 MB" in why
    assert not table[("writer", A)]["flags"]  # writing files is not tampering
    assert sorted(p.name for p in (folder.parent.parent / "honest" / A).iterdir()) == [NB]
