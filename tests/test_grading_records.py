"""The grading run's declared pieces: the time budgets of :class:`Limits` and how they nest,
the records that cross processes, and the one place each process's launch is built.

The budgets' callers (``check``, ``verify_notebook``, the judge's sandbox worker, the pool
process) are asserted to use the derived figures, so a formula cannot drift in one place.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograder.judge as judge
from autograder.grading import kernel as kernel_mod
from autograder.grading import supervise
from autograder.grading.child import ChildDirs
from autograder.grading.nbconfig import AUTOGRADE_PREPROCESSORS, nbgrader_config
from autograder.grading.records import CellResult, Result, Task, failure, new_cells, new_result
from autograder.judge import _launch
from autograder.limits import (
    GRADING_CHILD_START_SECONDS,
    JUDGE_START_SECONDS,
    SANDBOX_SETUP_SECONDS,
    Limits,
)

limits_st = st.builds(
    Limits,
    cell_timeout=st.integers(1, 3600),
    notebook_timeout=st.integers(1, 36000),
    memory_mb=st.integers(64, 65536),
    max_output_chars=st.integers(0, 10**7),
    judge_timeout=st.floats(0.01, 3600, allow_nan=False),
    file_size_mb=st.integers(1, 4096),
)


def make_task(**kw) -> Task:
    fields = dict(
        student="ada",
        assignment="01_toy",
        submitted="/class/submitted/ada/01_toy",
        files_hash="f" * 64,
        timestamp="2026-01-01 10:00:00",
        notes=["renamed file 01_toy (1).ipynb"],
        template="/run/template.sqlite",
        structure={"01_toy": {"01_toy": {"test_add": 3.0, "test_scale": 3.0}}, "02_toy": {}},
        test_sources={"test_add": "assert add(1, 2) == 3"},
        demo_sources=["plot()"],
        source="/course/solutions",
        workdir="/run",
        limits=Limits(cell_timeout=3, notebook_timeout=12),
        judged=True,
    )
    fields.update(kw)
    return Task(**fields)


# --- Limits ---------------------------------------------------------------------------


def test_default_budgets_are_the_documented_figures():
    lim = Limits()
    assert lim.judge_seconds("check") == 60 + 20 * 10
    assert lim.judge_seconds("notebook") == 120 + 40 * 10
    assert lim.sandbox_worker_cpu_seconds("check") == 60
    assert lim.sandbox_worker_cpu_seconds("notebook") == 300
    assert lim.grading_child_seconds(1, judged=True) == 300 + 520 + 60
    assert lim.grading_child_seconds(2, judged=False) == 2 * 300 + 60
    assert Limits(judge_timeout=20).sandbox_worker_cpu_seconds("check") == 120
    assert Limits(judge_timeout=20).sandbox_worker_cpu_seconds("notebook") == 600


@given(limits_st, st.integers(0, 20), st.booleans())
def test_outer_clocks_leave_the_inner_ones_room(lim, notebooks, judged):
    """The invariant of :mod:`autograder.limits`: no process is killed from outside
    before the limit of the process inside it could fire."""
    # a check's set-up (block the answer key, load the payload) fits the judge's start margin
    assert JUDGE_START_SECONDS["check"] >= 2 * SANDBOX_SETUP_SECONDS
    for mode in ("check", "notebook"):
        # a judge process outlives one call's clock plus its own start-up
        assert lim.judge_seconds(mode) >= lim.judge_timeout + JUDGE_START_SECONDS[mode]
        # the sandbox worker's CPU backstop never fires before one call's wall clock
        assert lim.sandbox_worker_cpu_seconds(mode) >= int(lim.judge_timeout)
    child = lim.grading_child_seconds(notebooks, judged)
    per_notebook = lim.notebook_timeout + (lim.judge_seconds("notebook") if judged else 0)
    assert child >= max(1, notebooks) * per_notebook + GRADING_CHILD_START_SECONDS
    # one more notebook never shrinks the budget
    assert lim.grading_child_seconds(notebooks + 1, judged) >= child


def test_limits_cannot_change_in_flight():
    with pytest.raises(AttributeError):
        Limits().judge_timeout = 1


def test_judge_process_gets_the_derived_wall_clock(monkeypatch):
    seen = []

    def fake_run(argv, input, capture_output, timeout):
        seen.append(timeout)
        raise subprocess.TimeoutExpired(argv, timeout)

    monkeypatch.setattr(judge.subprocess, "run", fake_run)
    report, error = judge._run_judge({"mode": "check", "name": "f", "timeout": 3})
    assert report is None and "did not finish in time" in error
    judge._run_judge({"mode": "notebook", "path": "/x/nb.ipynb", "timeout": 2.5})
    assert seen == [
        Limits(judge_timeout=3).judge_seconds("check"),
        Limits(judge_timeout=2.5).judge_seconds("notebook"),
    ]


def test_sandbox_worker_budget_is_derived_from_limits():
    check = {"mode": "check", "timeout": 15, "memory_mb": 512}
    notebook = {"mode": "notebook", "path": "/x/y/nb.ipynb", "timeout": 15}
    assert _launch.sandbox_worker_budget(check) == (512, 90, None)
    assert _launch.sandbox_worker_budget(notebook) == (
        1024,
        Limits(judge_timeout=15).sandbox_worker_cpu_seconds("notebook"),
        "/x/y",
    )


def test_cli_defaults_are_the_limits_defaults(monkeypatch):
    from autograder import cli

    seen = {}
    monkeypatch.setattr(cli, "register_missing", lambda settings: [])
    monkeypatch.setattr(
        "autograder.grading.autograde",
        lambda settings, limits, **kw: seen.setdefault("limits", limits) and _EmptyReport(),
    )
    assert cli.main(["autograde", "--course", "/nonexistent-course"]) == 0
    assert seen["limits"] == Limits()


class _EmptyReport:
    graded = failed = skipped = 0
    unknown: list = []
    not_graded: list = []
    seconds = 0.0


# --- records --------------------------------------------------------------------------


def test_task_and_result_survive_pickle():
    task = make_task()
    assert pickle.loads(pickle.dumps(task)) == task
    cells = new_cells(task)
    cells["test_add"].auto_score = 3.0
    cells["test_add"].judge = {"passed": False, "message": "wrong"}
    cells["test_add"].override = True
    result = new_result(task, "graded", cells, reasons=["r"], phases={"nbgrader": 1.5})
    again = pickle.loads(pickle.dumps(result))
    assert again == result and again.cells["test_add"].judge["message"] == "wrong"


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.tuples(st.floats(0, 10), st.floats(0, 10), st.booleans(), st.booleans()),
        max_size=6,
    )
)
def test_result_json_round_trip_and_scores(spec):
    cells = {}
    for gid, (auto, mx, judged, override) in spec.items():
        cell = CellResult(notebook="nb", max_score=mx, auto_score=auto, override=override)
        if judged:
            cell.judge = {"passed": not override, "message": None}
        cell.settle()
        cells[gid] = cell
    result = new_result(make_task(), "graded", cells, seconds=1.25)
    again = Result.from_json(result.to_json())
    assert again == result
    assert again.score == pytest.approx(sum(0.0 if o else a for a, _, _, o in spec.values()))
    stored = json.loads(result.to_json())
    assert stored["max_score"] == pytest.approx(sum(m for _, m, _, _ in spec.values()))


def test_cell_json_has_the_optional_keys_only_when_set():
    cell = CellResult(notebook="nb", max_score=2.0)
    assert set(cell.to_dict()) == {
        "notebook",
        "max_score",
        "auto_score",
        "passed",
        "message",
        "score",
    }
    cell.needs_manual_grade, cell.override = False, True
    assert {"needs_manual_grade", "override"} <= set(cell.to_dict())


def test_result_json_refuses_unknown_fields():
    text = json.loads(new_result(make_task(), "graded", {}).to_json())
    text["run_this"] = "os.system('...')"
    with pytest.raises(TypeError):
        Result.from_json(json.dumps(text))


def test_failure_gives_zero_points_and_the_reason():
    result = failure(make_task(), "time limit: grading took more than 9 s", 9.5)
    assert result.status == "killed" and result.score == 0 and result.max_score == 6
    assert {c.message for c in result.cells.values()} == {"time limit: grading took more than 9 s"}
    assert result.reasons == [
        "time limit: grading took more than 9 s: 0 points for this assignment"
    ]
    assert (result.student, result.files_hash, result.timestamp) == (
        "ada",
        "f" * 64,
        "2026-01-01 10:00:00",
    )


# --- the pool process reading its grading child's outcome -----------------------------


@pytest.fixture
def dirs(tmp_path):
    d = ChildDirs(tmp_path / "work", tmp_path / "rt", tmp_path / "db")
    d.work.mkdir()
    return d


def test_collect_reads_the_childs_result(dirs):
    task = make_task()
    result = new_result(task, "graded", new_cells(task), seconds=2.0)
    (dirs.work / "result.json").write_text(result.to_json())
    got = supervise._collect(task, dirs, None, 0.0)
    assert got.workdir == str(dirs.work) and got.cells == result.cells


@pytest.mark.parametrize(
    "error, status, phrase",
    [
        ("Traceback\nInfrastructureError: kernel could not start: ZMQError", "infra", "ZMQError"),
        ("Traceback\nMemoryError", "killed", "memory limit (4096 MB) exceeded"),
        ("Traceback\nKeyError: 'x'", "killed", "grading failed: KeyError: 'x'"),
        (None, "killed", "the grading process died"),
    ],
)
def test_collect_explains_a_child_without_result(dirs, error, status, phrase):
    if error is not None:
        (dirs.work / "child_error.txt").write_text(error)
    got = supervise._collect(make_task(), dirs, None, 0.0)
    assert got.status == status and phrase in got.reasons[0] and got.score == 0


def test_collect_reports_the_wall_clock_limit(dirs):
    (dirs.work / "result.json").write_text("{}")  # a late result does not count
    why = "time limit: grading took more than 880 s and was stopped"
    got = supervise._collect(make_task(), dirs, why, 0.0)
    assert got.status == "killed" and got.reasons[0].startswith(why)


# --- the one nbgrader Config and the one place each launch is built ---------------------


def test_one_nbgrader_config_for_release_and_autograde(tmp_path):
    release = nbgrader_config(tmp_path, "/src", "sqlite:///x.db", release=tmp_path / "rel")
    assert release.CourseDirectory.release_directory == str(tmp_path / "rel")
    assert "LimitedExecute" not in release and "KernelManager" not in release
    lim = Limits(cell_timeout=7, notebook_timeout=70, max_output_chars=99)
    grade = nbgrader_config(
        tmp_path, "/src", "sqlite:///x.db", limits=lim, skip_sources=["x"], runtime=tmp_path
    )
    assert grade.Autograde.autograde_preprocessors == AUTOGRADE_PREPROCESSORS
    assert (grade.Execute.timeout, grade.LimitedExecute.notebook_timeout) == (7, 70)
    assert grade.LimitedExecute.max_output_chars == 99
    assert grade.LimitedExecute.skip_sources == ["x"]
    assert grade.KernelManager.transport == "ipc"
    assert grade.KernelManager.ip == str(tmp_path / "k")


def test_every_grading_kernel_is_launched_through_kernel_command(tmp_path, monkeypatch):
    """A real kernel, started by the limited executor as nbgrader would: its command and
    environment pass through :func:`kernel_command` (where a sandbox will wrap them)."""
    from autograder.limited_execute import LimitedExecute

    launched = []

    def recording(argv, env, cwd, sockets=None, connection_file=None):
        launched.append((argv, cwd, sockets, connection_file))
        return argv, {**env, "RNN_TEST_LAUNCH": "wrapped"}

    monkeypatch.setattr(kernel_mod, "kernel_command", recording)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    config = nbgrader_config(
        tmp_path, tmp_path, "sqlite:///x.db", limits=Limits(cell_timeout=30), runtime=tmp_path
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import os; print(os.environ['RNN_TEST_LAUNCH'])")]
    )
    ex = LimitedExecute(config=config)
    assert ex.kernel_manager_class is kernel_mod.GradingKernelManager
    out, _ = ex.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert len(launched) == 1 and "ipykernel_launcher" in " ".join(launched[0][0])
    assert launched[0][1] == str(tmp_path)
    # the IPC sockets' folder and the connection file: what a sandbox must let the kernel see
    assert launched[0][2] == str(tmp_path) and launched[0][3].endswith(".json")
    assert out.cells[0].outputs[0]["text"].strip() == "wrapped"


def test_sandbox_worker_is_spawned_from_sandbox_worker_command(monkeypatch, tmp_path):
    seen = []
    real = _launch.sandbox_worker_command

    def recording(cwd):
        argv, env = real(cwd)
        seen.append((argv, cwd))
        return argv, env

    monkeypatch.setattr(_launch, "sandbox_worker_command", recording)
    proc = _launch.start_sandbox_worker(512, 10, cwd=str(tmp_path))
    try:
        proc.stdin.close()  # the worker exits when the judge's pipe closes
        assert proc.wait(timeout=60) == 0
    finally:
        proc.stdout.close()
    assert seen and seen[0][0][:2] == [sys.executable, "-I"] and seen[0][1] == str(tmp_path)


def test_records_are_made_in_one_place():
    """Only :mod:`autograder.grading.records` builds results (the others call its makers)."""
    from autograder.paths import REPO

    makers = [
        p.relative_to(REPO).as_posix()
        for p in sorted((REPO / "autograder").rglob("*.py"))
        if "Result(" in p.read_text() and p.name != "records.py"
    ]
    assert makers == []
