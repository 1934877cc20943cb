"""Grading on a Dask cluster (``autograde --scheduler``): a real ``dask scheduler`` and two
``dask worker`` processes on 127.0.0.1, started here, grade a lesson-01 class with nothing
shared but the network; the grades, messages and flags are those of the local pool."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lesson_tools import masked  # noqa: E402
from test_autograder import class_env, read_csv, run  # noqa: E402
from test_autograder_postgres import postgres_url  # noqa: E402, F401 (the fixture)

from autograder import fixtures as fx  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
L01 = "01_vanilla_rnn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dask scheduler exited ({proc.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"no dask scheduler on port {port} after {seconds} s")


@contextlib.contextmanager
def dask_cluster(tmp: Path, workers: int = 2, daemon: bool = False, allowed_failures: int = 3):
    """``tcp://127.0.0.1:PORT`` of a scheduler with ``workers`` one-thread workers (each
    under its nanny, as deployed; ``daemon``: without the setting the course's workers need)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp / "dask-logs"
    logs.mkdir(parents=True)
    common = ["--dashboard-address", ":0"]
    procs = [
        subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), *common],
            stdout=open(logs / "scheduler.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={
                **os.environ,
                "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures),
            },
        )
    ]
    try:
        _wait_for_port(port, procs[0])
        for i in range(workers):
            procs.append(
                subprocess.Popen(
                    [str(DASK), "worker", address, "--nthreads", "1", "--name", f"w{i}"]
                    + ["--host", "127.0.0.1", "--local-directory", str(tmp / f"w{i}"), *common],
                    stdout=open(logs / f"worker{i}.log", "w"),
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": str(daemon)},
                    start_new_session=True,
                )
            )
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, procs
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # what the process left running


def _downloads(dl: Path) -> list[str]:
    """A lesson-01 class of 20: full marks, a known mistake, untouched releases, tamperers."""
    sol = fx.as_submission(fx.read(REPO / "solutions" / L01 / f"{L01}.ipynb"))
    step = sol.cells[fx.cell_index(sol, "rnn_step_backward")].source
    mean = fx.set_source(sol, "rnn_step_backward", step.replace(".sum(axis=0)", ".mean(axis=0)"))
    tamper = fx.insert_code(sol, "test_rnn_forward", "import numpy as np\nnp.allclose = print")
    release = fx.read(REPO / "lessons" / L01 / f"{L01}.ipynb")
    kinds = {"full": (sol, 12), "mean": (mean, 4), "tamper": (tamper, 2), "release": (release, 2)}
    students = []
    for kind, (nb, n) in kinds.items():
        for i in range(n):
            students.append(f"{kind}{i:02d}")
            fx.write(nb, dl / students[-1] / f"{L01}.ipynb")
    return students


def _class(tmp: Path, dl: Path, db_url: str | None = None) -> dict:
    env = class_env(tmp, db_url)
    env["RNN_SOURCE_DIR"] = str(REPO / "solutions")
    run(env, "release", L01)
    run(env, "collect", str(dl))
    return env


def _grades(env: dict, tmp: Path):
    run(env, "grades", "--csv", str(tmp / "g.csv"))
    keep = ("score", "status", "reasons", "flags", "cells")
    table = read_csv(tmp / "g.csv")
    return {k: {f: row[f] for f in keep} for k, row in table.items() if k[1] == L01}


def _stored(db_url: str) -> dict:
    """``{(student, assignment): {grade_id: cell record}}`` and the number of rows."""
    import json

    import sqlalchemy as sa

    with sa.create_engine(db_url).connect() as c:
        rows = c.execute(sa.text("select student_id, assignment, cells from rnn_autograde"))
        rows = rows.fetchall()
    return {(s, a): json.loads(cells) for s, a, cells in rows}, len(rows)


def _kill_a_worker_when(done, procs, seconds=600):
    """SIGKILL the first worker process (its nanny starts another) once ``done()`` holds."""
    import psutil

    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.2)
    # the nanny's children: the worker process and multiprocessing's resource tracker
    children = psutil.Process(procs[1].pid).children()
    (worker,) = [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]
    worker.kill()
    return worker.pid


def test_a_class_on_a_dask_cluster_is_graded_as_by_the_local_pool(tmp_path, postgres_url):  # noqa: F811
    """Issue 15: 20 submissions through a scheduler and two workers, PostgreSQL as the
    gradebook, one worker killed mid-run: everyone graded once, the same scores, messages and
    flags as a local-pool run of the same class."""
    dl = tmp_path / "dl"
    students = _downloads(dl)
    local_env = _class(tmp_path / "local", dl)
    run(local_env, "autograde", "--workers", "2", "--no-progress")
    local = _grades(local_env, tmp_path / "local")
    local_cells, _ = _stored(f"sqlite:///{tmp_path / 'local' / 'course' / 'gradebook.db'}")

    env = _class(tmp_path / "remote", dl, postgres_url)
    with dask_cluster(tmp_path) as (address, procs):
        grading = subprocess.Popen(
            [sys.executable, "-m", "autograder", "autograde", "--no-progress"]
            + ["--scheduler", address],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            _kill_a_worker_when(lambda: _stored(postgres_url)[1] >= 3, procs)
            out, _ = grading.communicate(timeout=900)
        finally:
            if grading.poll() is None:
                grading.kill()
    assert grading.returncode == 0, out
    assert "grading on the Dask cluster at" in out and "2 workers" in out, out
    assert "worker lost: " in out, out
    remote = _grades(env, tmp_path / "remote")
    remote_cells, rows = _stored(postgres_url)
    assert rows == len(students) == 20  # each student graded once
    assert remote == local
    for key, cells in local_cells.items():
        for gid, cell in cells.items():
            theirs = remote_cells[key][gid]
            # each run draws its own cases: the measured errors differ, nothing else
            assert (theirs["score"], masked(theirs["message"])) == (
                cell["score"],
                masked(cell["message"]),
            ), gid
    assert float(remote[("full00", L01)]["score"]) == 10.0
    assert float(remote[("mean00", L01)]["score"]) < 10.0
    assert "monkeypatching" in remote[("tamper00", L01)]["flags"]
    graded = tmp_path / "remote" / "course" / "autograded" / "full00" / L01 / f"{L01}.ipynb"
    assert graded.is_file()  # the autograded notebook came back over the network


def test_a_cluster_that_cannot_grade_says_why(tmp_path):
    """No scheduler at the address; workers that are daemonic processes: exit 2, the reason,
    nothing graded."""
    dl = tmp_path / "dl"
    fx.write(
        fx.as_submission(fx.read(REPO / "solutions" / L01 / f"{L01}.ipynb")),
        dl / "alice" / f"{L01}.ipynb",
    )
    env = _class(tmp_path / "class", dl)
    env["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "3s"
    nobody = f"tcp://127.0.0.1:{_free_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "autograde", "--no-progress", "--scheduler", nobody],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"cannot reach the Dask scheduler at {nobody}" in proc.stderr
    with dask_cluster(tmp_path, workers=1, daemon=True) as (address, _):
        proc = subprocess.run(
            [sys.executable, "-m", "autograder", "autograde", "--no-progress"]
            + ["--scheduler", address],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "DASK_DISTRIBUTED__WORKER__DAEMON=False" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _stored(f"sqlite:///{tmp_path / 'class' / 'course' / 'gradebook.db'}")[1] == 0


# A cell that kills the Dask worker grading it (possible only without the sandbox, whose PID
# namespace hides every process outside it): the worker's nanny starts another.
KILL_MY_WORKER = """import psutil
for p in psutil.Process().parents():
    if p.parent() is not None and "tcp://" in " ".join(p.parent().cmdline()):
        p.kill()
"""


def test_a_submission_that_kills_its_workers_is_that_students_failure(tmp_path):
    sol = fx.as_submission(fx.read(REPO / "solutions" / L01 / f"{L01}.ipynb"))
    dl = tmp_path / "dl"
    fx.write(sol, dl / "honest" / f"{L01}.ipynb")
    fx.write(
        fx.insert_code(sol, "test_rnn_forward", KILL_MY_WORKER), dl / "killer" / f"{L01}.ipynb"
    )
    env = _class(tmp_path / "class", dl)
    with dask_cluster(tmp_path, allowed_failures=1) as (address, _):
        out = run(env, "autograde", "--no-progress", "--sandbox", "none", "--scheduler", address)
    assert "worker lost: " in out, out
    table = _grades(env, tmp_path / "class")
    assert float(table[("honest", L01)]["score"]) == 10.0
    killer = table[("killer", L01)]
    assert killer["status"] == "killed" and float(killer["score"]) == 0.0
    assert "the grading worker died 2 times while grading this submission" in killer["reasons"]
    assert _stored(f"sqlite:///{tmp_path / 'class' / 'course' / 'gradebook.db'}")[1] == 2


def test_losing_the_scheduler_stops_the_run_and_the_next_run_resumes(tmp_path):
    sol = fx.as_submission(fx.read(REPO / "solutions" / L01 / f"{L01}.ipynb"))
    dl = tmp_path / "dl"
    for i in range(8):
        fx.write(sol, dl / f"s{i}" / f"{L01}.ipynb")
    env = _class(tmp_path / "class", dl)
    env["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "5s"  # how long the client reconnects
    db = f"sqlite:///{tmp_path / 'class' / 'course' / 'gradebook.db'}"
    with dask_cluster(tmp_path / "first") as (address, procs):
        grading = subprocess.Popen(
            [sys.executable, "-m", "autograder", "autograde", "--no-progress"]
            + ["--scheduler", address],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 600
        while _stored(db)[1] < 2 and time.monotonic() < deadline and grading.poll() is None:
            time.sleep(0.2)
        os.killpg(procs[0].pid, signal.SIGKILL)  # the scheduler
        try:
            out, _ = grading.communicate(timeout=300)
        finally:
            if grading.poll() is None:
                grading.kill()
    stored = _stored(db)[1]
    assert grading.returncode == 2 and 2 <= stored < 8, (stored, out)
    assert "lost the Dask scheduler at" in out and "Traceback" not in out, out
    with dask_cluster(tmp_path / "second") as (address, _):
        out = run(env, "autograde", "--no-progress", "--scheduler", address)
    assert f"{stored} already graded" in out, out
    assert _stored(db)[1] == 8
    assert all(float(r["score"]) == 10.0 for r in _grades(env, tmp_path / "class").values())
