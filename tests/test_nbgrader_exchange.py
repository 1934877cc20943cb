"""The nbgrader workflow around the course's grader, end to end through nbgrader's filesystem
exchange in a temporary root, with two students (lesson 02):

instructor ``nbgrader release_assignment`` (from ``autograder/``, the course's config) ->
students ``fetch_assignment``, ``submit`` -> ``nbgrader collect`` -> ``python -m autograder
autograde`` -> ``nbgrader generate_feedback`` and ``python -m autograder feedback`` ->
``nbgrader release_feedback`` -> students ``fetch_feedback``.

The two students share this machine's account, as on JupyterHub, where nbgrader takes the
student's id from ``JUPYTERHUB_USER`` when the account is ``jovyan``: the students' commands
run nbgrader with that account name, each in a HOME of its own. Also: formgrader's
``NbGraderAPI`` lists every submission with the scores of ``grades --csv``, the MyST source
(every answer) never leaves the instructor's side, and plain ``nbgrader autograde`` refuses
to run student code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lesson_tools import hidden_test_lines  # noqa: E402
from test_autograder import REPO, class_env, read_csv, run  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder.nbgrader_refuse import MESSAGE  # noqa: E402
from autograder.settings import COURSE_ID  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

A = "02_gradient_flow"
NBGRADER = [sys.executable, "-m", "nbgrader"]
# nbgrader as a JupyterHub user: the account is "jovyan", the id comes from JUPYTERHUB_USER
AS_HUB_USER = (
    "import sys, nbgrader.utils as u; u.get_osusername = lambda: 'jovyan'; "
    "from nbgrader.apps.nbgraderapp import main; sys.argv[0] = 'nbgrader'; main()"
)


def instructor(env, *args, ok=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*NBGRADER, *args],
        env=env,
        cwd=REPO / "autograder",  # nbgrader reads the course's nbgrader_config.py here
        capture_output=True,
        text=True,
        timeout=600,
    )
    if ok:
        assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def student(env, name: str, home: Path, *args) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", AS_HUB_USER, *args, f"--course={COURSE_ID}"],
        env={**env, "JUPYTERHUB_USER": name, "HOME": str(home)},  # its own, as on a hub
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (name, args, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exchange")
    env = class_env(tmp)
    env["RNN_SOURCE_DIR"] = str(REPO / "solutions")
    exchange = tmp / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's exchange: every student writes its inbound
    env["NBGRADER_EXCHANGE"] = str(exchange)  # read below, not by nbgrader
    ex = f"--Exchange.root={exchange}"
    run(env, "release", A)
    instructor(env, "release_assignment", A, ex)
    homes = {s: tmp / "home" / s for s in ("alice", "bob")}
    for name, home in homes.items():
        home.mkdir(parents=True)
        student(env, name, home, "fetch_assignment", A, ex)
    fetched = homes["alice"] / A / f"{A}.ipynb"
    assert fetched.is_file() and not (homes["alice"] / A / f"{A}.md").exists()
    # alice writes the lesson's functions; bob hands in the stubs
    sol = fx.as_submission(fx.read(REPO / "solutions" / A / f"{A}.ipynb"))
    fx.write(sol, fetched)
    for name, home in homes.items():
        student(env, name, home, "submit", A, ex)
    instructor(env, "collect", A, ex)
    run(env, "autograde", "--no-progress")
    instructor(env, "generate_feedback", A)
    run(env, "grades", "--csv", str(tmp / "g.csv"))
    instructor(env, "release_feedback", A, ex)
    pages = {}
    for name, home in homes.items():
        student(env, name, home, "fetch_feedback", A, ex)
        pages[name] = sorted((home / A / "feedback").rglob("*.html"))
    return tmp, env, pages, read_csv(tmp / "g.csv")


def test_submissions_go_through_the_exchange_and_are_graded(term):
    tmp, _, _, table = term
    for name in ("alice", "bob"):
        folder = tmp / "course" / "submitted" / name / A
        assert (folder / f"{A}.ipynb").is_file() and (folder / "timestamp.txt").is_file()
    assert float(table[("alice", A)]["score"]) == float(table[("alice", A)]["max_score"]) == 10
    assert float(table[("bob", A)]["score"]) == 0
    assert not list((tmp / "course").rglob(f"{A}.md")), "the MyST source reached the class"


def test_students_fetch_their_own_feedback_without_hidden_tests(term):
    _, _, pages, _ = term
    hidden = hidden_test_lines(A)
    for name, score in (("alice", "10.0 / 10.0"), ("bob", "0.0 / 10.0")):
        assert len(pages[name]) == 1, pages
        page = pages[name][0].read_text()
        assert f"Score: {score}" in page, (name, page[:2000])
        assert not [ln for ln in hidden if ln in page], f"{name}'s feedback shows hidden tests"


def test_formgrader_lists_the_scores_of_grades_csv(term):
    tmp, env, _, table = term
    code = (
        "import json, runpy; from nbgrader.apps import NbGraderAPI; "
        "from traitlets.config import Config; "
        "cfg = runpy.run_path('nbgrader_config.py', init_globals={'get_config': Config})['c']; "
        f"api = NbGraderAPI(config=cfg); print(json.dumps(api.get_submissions({A!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO / "autograder",
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    subs = {s["student"]: s for s in json.loads(proc.stdout.strip().splitlines()[-1])}
    assert sorted(subs) == ["alice", "bob"], subs
    for name, sub in subs.items():
        row = table[(name, A)]
        assert sub["autograded"] and sub["score"] == float(row["score"]), (sub, row)
        assert sub["max_score"] == float(row["max_score"])


def test_our_feedback_pages_are_released_by_nbgrader_too(term):
    tmp, env, _, _ = term
    run(env, "feedback")
    assert (tmp / "course" / "feedback" / "alice" / A / "submission_secret.txt").is_file()
    proc = instructor(env, "release_feedback", A, f"--Exchange.root={env['NBGRADER_EXCHANGE']}")
    assert proc.returncode == 0


def test_plain_nbgrader_autograde_refuses_to_run_student_code(term):
    tmp, env, _, _ = term
    marker = tmp / "ran.txt"
    nb = fx.read(REPO / "lessons" / A / f"{A}.ipynb")
    nb = fx.insert_code(nb, "test_gradient_norms_through_time", f"open({str(marker)!r}, 'w')")
    fx.write(nb, tmp / "course" / "submitted" / "carol" / A / f"{A}.ipynb")
    proc = instructor(env, "autograde", A, "--student=carol", ok=False)
    assert proc.returncode != 0 and MESSAGE[:60] in proc.stdout + proc.stderr
    assert not marker.exists(), "nbgrader autograde ran student code"
