"""End-to-end tests of ``python -m autograder`` on a generated class (SQLite gradebook).

The class (two tiny assignments from :mod:`autograder.fixtures`) holds correct, partially
wrong and hostile submissions, handed in through the usual layouts; every command runs as a
real subprocess. The exact score of every student is asserted, the batch survives every
hostile case, an interrupted run loses nothing, and a second run changes nothing.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import fixtures as fx

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]  # a real class through every command

REPO = Path(__file__).resolve().parent.parent
LIMITS = ["--cell-timeout", "3", "--timeout", "12", "--memory-mb", "2048", "--no-progress"]

# student -> {assignment: exact score}; the robustness table of book/instructors.md
EXPECTED = {
    "correct": {"01_toy": 6, "02_toy": 4},
    "partial": {"01_toy": 3},  # scale wrong
    "sysexit": {"01_toy": 6},  # sys.exit in a cell: IPython catches it, later cells run
    "osexit": {"01_toy": 6},  # os._exit kills the kernel: restarted, every test still runs
    "segfault": {"01_toy": 6},  # the kernel crashes in a cell of its own: the same
    "crashfn": {"01_toy": 3},  # scale kills the kernel when called: only test_scale fails
    "loop": {"01_toy": 3},  # infinite loop in scale: that test times out, others pass
    "hog": {"01_toy": 0},  # infinite loops at top level use up the notebook's time budget
    "huge": {"01_toy": 6},  # prints ~30 MB: truncated, graded
    "memory": {"01_toy": 6},  # allocates 8 GB in its own cell: MemoryError there only
    "deleted": {"01_toy": 3},  # deleted test_scale: 0 for it, reported
    "edited": {"01_toy": 3},  # wrong add + test_add edited to pass: restored, fails
    "renamed": {"01_toy": 6},  # "01_toy (1).ipynb": put back under its name by collect
    "wrongasg": {"01_toy": 0},  # 02_toy's notebook handed in as 01_toy
    "malformed": {"01_toy": 0},  # not JSON
    "snoop": {"01_toy": 6},  # monkeypatches NumPy, reads the gradebook: flagged (no judge here)
    "daemon": {"01_toy": 6},  # starts a busy loop in its own session: killed after grading
}
ORPHAN_MARKER = "rnn-test-orphan-busy-loop"
N_NOTEBOOKS = sum(len(v) for v in EXPECTED.values())
FLAGS = {"snoop": ["rebinds np.allclose", "gradebook"]}
REASONS = {  # a phrase each case must show in its reasons (CSV, summary and feedback)
    "osexit": "kernel died",
    "segfault": "kernel died",
    "crashfn": "test_scale: DeadKernelError: the kernel died while running this cell (cell",
    "loop": "time limit per cell",
    "hog": "time limit per notebook",
    "memory": "MemoryError",
    "sysexit": "SystemExit",
    "deleted": "test cell test_scale was deleted",
    "edited": "test cell test_add was edited",
    "renamed": "renamed file 01_toy (1).ipynb",
    "wrongasg": "is a notebook of 02_toy",
    "malformed": "could not be read",
}


def make_downloads(src: Path, out: Path) -> list[Path]:
    """The class's hand-ins: student folders, a zip per student, an nbgrader-layout zip."""
    sol1 = fx.as_submission(fx.read(src / "01_toy/01_toy.ipynb"))
    sol2 = fx.as_submission(fx.read(src / "02_toy/02_toy.ipynb"))
    a = "01_toy.ipynb"
    folders = out / "folders"
    fx.write(sol1, folders / "correct" / a)
    fx.write(sol2, folders / "correct" / "02_toy.ipynb")
    wrong_scale = "def scale(x, k):\n    return np.asarray(x) * k + 1"
    fx.write(fx.set_source(sol1, "scale_impl", wrong_scale), folders / "partial" / a)
    fx.write(fx.insert_code(sol1, "scale_impl", "import sys\nsys.exit(1)"), folders / "sysexit" / a)
    fx.write(fx.insert_code(sol1, "scale_impl", "import os\nos._exit(3)"), folders / "osexit" / a)
    crash = "import ctypes\nctypes.string_at(0)"
    fx.write(fx.insert_code(sol1, "scale_impl", crash), folders / "segfault" / a)
    dies = "def scale(x, k):\n    import os\n    os._exit(3)"
    fx.write(fx.set_source(sol1, "scale_impl", dies), folders / "crashfn" / a)
    loop = "def scale(x, k):\n    while True:\n        pass"
    fx.write(fx.set_source(sol1, "scale_impl", loop), folders / "loop" / a)
    hog = sol1
    for _ in range(4):
        hog = fx.insert_code(hog, "add_impl", "while True:\n    pass")
    fx.write(hog, folders / "hog" / a)
    spam = 'for i in range(300000):\n    print(i, "spam" * 25)'
    fx.write(fx.insert_code(sol1, "test_add", spam), folders / "huge" / a)
    fx.write(
        fx.insert_code(sol1, "add_impl", "big = bytearray(8 * 1024**3)"), folders / "memory" / a
    )
    fx.write(fx.delete_cell(sol1, "test_scale"), folders / "deleted" / a)
    edited = fx.set_source(sol1, "add_impl", "def add(a, b):\n    return a - b")
    fx.write(fx.set_source(edited, "test_add", "assert True"), folders / "edited" / a)
    snoop = (
        "np.allclose = lambda *a, **k: True\nimport glob\n"
        "found = glob.glob('../../../../*.sqlite') + glob.glob('../../../../gradebook.db')"
    )
    fx.write(fx.insert_code(sol1, "test_add", snoop), folders / "snoop" / a)
    daemon = (
        "import subprocess, sys\n"
        f"code = 'while True: pass  # {ORPHAN_MARKER}'\n"
        "subprocess.Popen([sys.executable, '-c', code], start_new_session=True)"
    )
    fx.write(fx.insert_code(sol1, "scale_impl", daemon), folders / "daemon" / a)
    fx.malformed(folders / "malformed" / a)
    (folders / "malformed" / "notes.txt").write_text("not a notebook")
    # one zip per student, the notebook renamed by a download
    zips = out / "zips"
    zips.mkdir(parents=True)
    with zipfile.ZipFile(zips / "renamed.zip", "w") as zf:
        zf.writestr("homework/01_toy (1).ipynb", fx.dumps(sol1))
    # nbgrader's layout, zipped, with a timestamp
    with zipfile.ZipFile(out / "exchange.zip", "w") as zf:
        zf.writestr("course/submitted/wrongasg/01_toy/01_toy.ipynb", fx.dumps(sol2))
        zf.writestr("course/submitted/wrongasg/01_toy/timestamp.txt", "2026-11-20 10:00:00 UTC")
    return [folders, zips, out / "exchange.zip"]


def run(env, *args, check=True, timeout=900) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def read_csv(path) -> dict:
    with open(path, newline="") as f:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}


def scores(table: dict) -> dict:
    out = {}
    for (s, a), r in table.items():
        if r["status"] != "not submitted":
            out.setdefault(s, {})[a] = float(r["score"])
    return out


def class_env(tmp: Path, db_url: str | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        RNN_COURSE_DIR=str(tmp / "course"),
        RNN_SOURCE_DIR=str(tmp / "src"),
        RNN_RELEASE_DIR=str(tmp / "release"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("RNN_GRADEBOOK_URL", None)
    if db_url:
        env["RNN_GRADEBOOK_URL"] = db_url
    return env


def setup_class(tmp: Path, db_url: str | None = None) -> dict:
    fx.toy_source(tmp / "src")
    env = class_env(tmp, db_url)
    run(env, "release")
    assert (tmp / "release" / "01_toy" / "01_toy.ipynb").exists()
    for path in make_downloads(tmp / "src", tmp / "downloads"):
        out = run(env, "collect", str(path))
        assert "NOT PLACED" not in out or "notes.txt" in out, out
    return env


def leftover_processes(marker: str) -> list[str]:
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmd:
                found.append(cmd)
    return found


def check_class(env: dict, tmp: Path, table: dict) -> None:
    assert scores(table) == EXPECTED
    for student, phrase in REASONS.items():
        row = table[(student, "01_toy")]
        assert phrase in row["reasons"], (student, row["reasons"])
    assert table[("huge", "01_toy")]["status"] == "graded"
    for student, phrases in FLAGS.items():
        for phrase in phrases:
            assert phrase in table[(student, "01_toy")]["flags"], (student, phrase)
    flagged = {s for (s, _), r in table.items() if r["flags"]}
    assert flagged == set(FLAGS) | {"osexit", "segfault", "crashfn"}, flagged  # os._exit, ctypes
    # batch completed: every submission has its autograded record, none half-written
    graded = [r for r in table.values() if r["status"] not in ("not submitted",)]
    assert len(graded) == N_NOTEBOOKS and all(r["status"] in ("graded", "error") for r in graded)
    # nothing a notebook started outlives its grading
    assert not leftover_processes(ORPHAN_MARKER)


@pytest.fixture(scope="module")
def sqlite_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    env = setup_class(tmp)
    roster = tmp / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nabsent,Ada,Lovelace,ada@example.org\n")
    assert "1 students" in run(env, "roster", str(roster))
    return tmp, env


def test_collect_reports_and_never_overwrites(sqlite_class):
    tmp, env = sqlite_class
    sub = tmp / "course" / "submitted"
    assert sorted(p.name for p in sub.iterdir()) == sorted(EXPECTED)
    assert (sub / "renamed" / "01_toy" / "01_toy.ipynb").exists()
    assert (sub / "wrongasg" / "01_toy" / "timestamp.txt").exists()
    # same files again: unchanged; a new version: the old one is kept as a backup
    out = run(env, "collect", str(tmp / "downloads" / "zips"))
    assert "1 unchanged" in out and "0 replaced" in out
    redo = tmp / "redo"
    fx.write(fx.read(tmp / "release" / "01_toy" / "01_toy.ipynb"), redo / "newbie" / "01_toy.ipynb")
    (redo / "stray.txt").write_text("?")
    fx.write(fx.read(tmp / "src" / "01_toy" / "01_toy.ipynb"), redo / "newbie" / "mystery.ipynb")
    (redo / "newbie" / "other.ipynb").write_text("{}")
    out = run(env, "collect", str(redo))
    assert "NOT PLACED stray.txt" in out
    assert "a second file for 01_toy.ipynb" in out  # mystery.ipynb matched by its test ids
    assert "NOT PLACED newbie/other.ipynb" in out
    shutil.rmtree(sub / "newbie")
    shutil.rmtree(tmp / "course" / "collect_notes" / "newbie")
    partial = sub / "partial" / "01_toy" / "01_toy.ipynb"
    before = partial.read_bytes()
    again = tmp / "again"
    fx.write(fx.read(partial), again / "partial" / "01_toy.ipynb")
    nb = fx.read(partial)
    nb.cells[0].source += "\n(second try)"
    fx.write(nb, again / "partial" / "01_toy.ipynb")
    out = run(env, "collect", str(again))
    assert "1 replaced" in out
    backups = list((tmp / "course" / "collect_backup").rglob("partial/01_toy/01_toy.ipynb"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    shutil.copyfile(backups[0], partial)  # back to the graded fixture


def test_autograde_end_to_end_interrupt_and_rerun(sqlite_class):
    tmp, env = sqlite_class
    db = tmp / "course" / "gradebook.db"
    t0 = time.monotonic()
    # 1. interrupt a run once two submissions are stored (Ctrl-C reaches the whole group)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "autograde", "--workers", "2", *LIMITS],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # Ctrl-C as a terminal delivers it, whatever this test's own runner ignores (a
        # shell's background job starts with SIGINT ignored, and Python keeps that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db, timeout=1) as c:
                stored = c.execute("select count(*) from rnn_autograde").fetchone()[0]
        except sqlite3.Error:
            stored = 0
        if stored >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    time.sleep(1)
    assert not leftover_processes(str(tmp / "course")), "grading processes survived Ctrl-C"
    with sqlite3.connect(db) as c:
        kept = c.execute("select count(*) from rnn_autograde").fetchone()[0]
    assert 2 <= kept < N_NOTEBOOKS

    # 2. re-run: grades the rest only, in parallel
    out = run(env, "autograde", "--workers", "2", *LIMITS)
    assert f"{N_NOTEBOOKS - kept} graded" in out and f"{kept} already graded" in out, out
    elapsed = time.monotonic() - t0
    csv_path = tmp / "grades.csv"
    summary = run(env, "grades", "--csv", str(csv_path))
    table = read_csv(csv_path)
    check_class(env, tmp, table)
    # a roster student who handed nothing in gets a row with 0
    assert table[("absent", "01_toy")]["status"] == "not submitted"
    assert float(table[("absent", "02_toy")]["score"]) == 0.0
    assert "mean" in summary and "median" in summary and "pass rate" in summary
    assert "test cell test_scale was deleted" in summary
    with sqlite3.connect(db) as c:
        assert c.execute("pragma integrity_check").fetchone()[0] == "ok"
        n_sub = c.execute("select count(*) from submitted_assignment").fetchone()[0]
        n_dup = c.execute(
            "select count(*) from (select student_id, assignment_id, count(*) n "
            "from submitted_assignment group by 1, 2 having n > 1)"
        ).fetchone()[0]
    assert n_sub == N_NOTEBOOKS and n_dup == 0
    assert not list((tmp / "course").glob(".autograde-*")), "temporary grading folders left"

    # 3. a second run changes nothing
    snapshot = csv_path.read_text()
    out = run(env, "autograde", "--workers", "2", *LIMITS)
    assert "0 graded" in out and f"{N_NOTEBOOKS} already graded" in out, out
    run(env, "grades", "--csv", str(csv_path))
    assert csv_path.read_text() == snapshot

    # 4. --force regrades only what is asked, with the same result
    out = run(env, "autograde", "--force", "--student", "partial", *LIMITS)
    assert "1 graded" in out
    run(env, "grades", "--csv", str(csv_path))
    assert csv_path.read_text() == snapshot
    print(f"\nautograde of {N_NOTEBOOKS} notebooks (interrupted + resumed): {elapsed:.1f} s")


def test_feedback_hides_hidden_tests(sqlite_class):
    tmp, env = sqlite_class
    if not (tmp / "course" / "gradebook.db").exists():
        pytest.skip("needs the autograde test")
    out = run(env, "feedback")
    assert "feedback:" in out
    pages = list((tmp / "course" / "feedback").rglob("*.html"))
    assert len(pages) == N_NOTEBOOKS
    for page in pages:
        text = page.read_text()
        assert "SECRET_HIDDEN_MARKER" not in text and "HIDDEN TESTS" not in text, page
        # hidden test code never shows (its assertion messages may: they are for students)
        assert "add(0.5, 0.25)" not in text and "add(-1, 5)" not in text, page
        assert "np.arange(4.0)" not in text, page
    # test cells keep the error's type and message only (tracebacks quote hidden lines)
    loop = (tmp / "course/feedback/loop/01_toy/01_toy.html").read_text()
    assert "time limit per cell" in loop and "in scale" not in loop
    partial = (tmp / "course/feedback/partial/01_toy/01_toy.html").read_text()
    assert "3 / 6" in partial and "test_scale" in partial and "failed" in partial
    for student, phrase in REASONS.items():
        text = (tmp / f"course/feedback/{student}/01_toy/01_toy.html").read_text()
        assert phrase.split(" (")[0].replace("'", "&#x27;") in text, (student, phrase)
