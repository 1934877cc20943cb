"""Limits that stop a student's code, through the real command line (collect, autograde,
grades): what was earned stays, and the student reads which limit stopped them.

One class run of lesson 01 (``--workers 2``, a small per-cell time limit) grades:

* ``sleep_end``: the solution, then a cell that sleeps past the per-cell time limit and
  ignores the interrupt;
* ``stuck_mid``: the same cell between two tests;
* ``exit_end``: the solution, then ``os._exit(1)``;
* ``memory_end``: the solution, then a cell that asks NumPy for far more than the memory limit;
* ``threads_end``: the solution, then a cell that starts threads until the process limit
  stops it (a fork bomb's cheap cousin: threads count against the same cap);
* ``liar``: ``rnn_step_forward`` returns an object array of numbers that lie (the visible
  test, which converts to float64, passes: the judge decides);
* ``inodes_end``: the solution, then a cell that creates 20,000 empty files in ``/tmp``, which
  bytes alone do not bound: the tmpfs's ``nr_inodes`` stops it.

A second run (``--memory-mb 1024``, a longer per-cell limit: filling memory takes the kernel
seconds) grades ``memfd_end``: the solution, then a cell that holds 3 GB in memfds, memory that
RLIMIT_AS does not count; the sandbox's memory cgroup stops it.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import read_csv, run  # noqa: E402
from test_grading_fidelity import L01, _source, lesson_class, stored_cells  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder.sandbox import SandboxLimits  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

CELL_TIMEOUT = 10  # seconds per cell: lesson 01's own cells take well under a second

THREADS = """import threading
stop = threading.Event()
started = 0
try:
    for _ in range(4000):
        threading.Thread(target=stop.wait, daemon=True).start()
        started += 1
finally:
    stop.set()
"""

INODES = """made = 0
try:
    for made in range(20000):
        open(f"/tmp/f{made}", "w").close()
except OSError as e:
    raise OSError(f"{e.strerror} after {made} files") from None
"""

# a cell past the time limit that the interrupt cannot stop: the kernel must be restarted
STUCK = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(600)"

LIAR = '''class Liar:
    """A number that passes for its value in float() and says yes to every comparison."""

    def __init__(self, value):
        self.value = float(value)

    def __float__(self):
        return self.value

    def __eq__(self, other):
        return True

    def __lt__(self, other):
        return True

    def __iter__(self):
        raise StopIteration


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return np.array([[Liar(v) for v in row] for row in next_h], dtype=object), cache
'''


def _trailing(sol, source: str):
    nb = copy.deepcopy(sol)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def limited_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limits")
    env = lesson_class(tmp, L01)
    dl = tmp / "dl"
    sol = fx.as_submission(fx.read(_source(L01)))
    students = {
        "sleep_end": _trailing(sol, STUCK),
        "stuck_mid": fx.insert_code(sol, "rnn_forward", STUCK),
        "exit_end": _trailing(sol, "import os\nos._exit(1)"),
        "memory_end": _trailing(sol, "big = np.ones((1 << 20, 1 << 20))"),
        "threads_end": _trailing(sol, THREADS),
        "liar": fx.set_source(sol, "rnn_step_forward", LIAR),
        "inodes_end": _trailing(sol, INODES),
    }
    for student, nb in students.items():
        fx.write(nb, dl / student / f"{L01}.ipynb")
    run(env, "collect", str(dl))
    run(
        env,
        "autograde",
        "--workers",
        "2",
        "--no-progress",
        "--cell-timeout",
        str(CELL_TIMEOUT),
        timeout=1800,
    )
    run(env, "grades", "--csv", str(tmp / "g.csv"))
    return tmp, {s: nb for s, nb in students.items()}, read_csv(tmp / "g.csv")


MEMFD_MB = 1024

MEMFDS = """import os
chunk = b"x" * (16 << 20)
fds = []
for _ in range(192):  # 3 GB, 16 MB a memfd (one alone would stop at the file size limit)
    fds.append(os.memfd_create("hold"))
    os.write(fds[-1], chunk)
print("held", len(fds) * 16, "MB")
"""


@pytest.fixture(scope="module")
def memfd_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("memfd")
    env = lesson_class(tmp, L01)
    nb = _trailing(fx.as_submission(fx.read(_source(L01))), MEMFDS)
    fx.write(nb, tmp / "dl" / "memfd_end" / f"{L01}.ipynb")
    run(env, "collect", str(tmp / "dl"))
    out = run(
        env,
        "autograde",
        "--no-progress",
        "--memory-mb",
        str(MEMFD_MB),
        "--cell-timeout",
        "120",
        timeout=1800,
    )
    run(env, "grades", "--csv", str(tmp / "g.csv"))
    return tmp, nb, read_csv(tmp / "g.csv")[("memfd_end", L01)], out


def test_memory_in_memfds_is_stopped_by_the_memory_cgroup(memfd_class):
    # without a memory cgroup the cell holds 3 GB, prints, and nothing names a limit
    tmp, nb, row, out = memfd_class
    _full_marks(row)
    assert "no memory cgroup" not in out, out
    assert f"sandbox: the memory limit ({MEMFD_MB} MB) was reached" in row["flags"], row
    assert f"your code reached the memory limit ({MEMFD_MB} MB" in row["reasons"], row["reasons"]
    assert f"cell {len(nb.cells)}" in row["reasons"], row["reasons"]
    autograded = tmp / "course" / "autograded" / "memfd_end" / L01 / f"{L01}.ipynb"
    assert "held 3072 MB" not in autograded.read_text()


def _full_marks(row):
    assert float(row["score"]) == float(row["max_score"]) > 0, row["reasons"]


def test_a_slow_last_cell_costs_nothing(limited_class):
    _, nbs, table = limited_class
    row = table[("sleep_end", L01)]
    _full_marks(row)
    n = len(nbs["sleep_end"].cells)
    assert f"cell {n}" in row["reasons"], row["reasons"]
    assert f"time limit of {CELL_TIMEOUT} s" in row["reasons"], row["reasons"]
    assert "after every test" in row["reasons"], row["reasons"]


def test_a_stuck_cell_between_tests_costs_nothing(limited_class):
    # the kernel is restarted and the cells before it run again: the later tests still pass
    _, _, table = limited_class
    row = table[("stuck_mid", L01)]
    _full_marks(row)
    assert "raised CellTimeoutError: stopped after 10 s (time limit per cell)" in row["reasons"]
    assert "no points were lost" not in row["reasons"], row["reasons"]


def test_a_deadly_last_cell_costs_nothing(limited_class):
    _, nbs, table = limited_class
    row = table[("exit_end", L01)]
    _full_marks(row)
    assert f"(cell {len(nbs['exit_end'].cells)}:" in row["reasons"], row["reasons"]
    assert "after every test, so no points were lost" in row["reasons"], row["reasons"]


def test_the_memory_limit_is_named(limited_class):
    _, nbs, table = limited_class
    row = table[("memory_end", L01)]
    _full_marks(row)
    n = len(nbs["memory_end"].cells)
    assert f"cell {n}" in row["reasons"], row["reasons"]
    assert "memory limit (" in row["reasons"] and " MB)" in row["reasons"], row["reasons"]
    assert "after every test, so no points were lost" in row["reasons"], row["reasons"]


def test_the_process_limit_is_named_to_the_student(limited_class):
    _, nbs, table = limited_class
    row = table[("threads_end", L01)]
    _full_marks(row)
    limit = SandboxLimits().processes
    assert f"process limit ({limit}" in row["reasons"], row["reasons"]
    assert f"cell {len(nbs['threads_end'].cells)}" in row["reasons"], row["reasons"]


def test_files_in_tmp_are_capped_by_count_and_named(limited_class):
    _, nbs, table = limited_class
    row = table[("inodes_end", L01)]
    _full_marks(row)
    lim = SandboxLimits()
    made = re.search(r"No space left on device after (\d+) files", row["reasons"])
    assert made, row["reasons"]
    assert int(made.group(1)) <= lim.tmp_files, row["reasons"]
    assert f"{lim.tmp_files} files each" in row["reasons"], row["reasons"]
    assert f"cell {len(nbs['inodes_end'].cells)}" in row["reasons"], row["reasons"]


def test_an_object_array_is_refused_by_dtype(limited_class):
    tmp, _, table = limited_class
    row = table[("liar", L01)]
    assert float(row["score"]) < float(row["max_score"])
    cell = stored_cells(tmp)[("liar", L01)]["test_rnn_step_forward"]
    assert cell["score"] == 0, cell
    assert "dtype object" in cell["message"] and "float array" in cell["message"], cell
    assert "test_rnn_step_forward: 0 points from the out-of-kernel judge" in row["reasons"]
    assert "judge failed" not in row["flags"] and "could not run" not in row["flags"], row
    assert "StopIteration" not in row["reasons"] + row["flags"] + cell["message"], row


def test_a_process_limit_no_cell_names_gets_a_reason():
    from autograder.grading.child import limit_reasons
    from autograder.grading.records import Task

    task = Task.__new__(Task)
    object.__setattr__(task, "sandbox", {"mode": "bwrap", "limits": {"processes": 256}})
    flag = "sandbox: the process limit (256) was reached 3 times (a fork bomb?); ..."
    (reason,) = limit_reasons(task, [flag], [])
    assert reason.startswith("your code reached the process limit (256 processes and threads")
    named = ["cell 4 raised BlockingIOError: ... (the process limit (256 processes ...)"]
    assert limit_reasons(task, [flag], named) == []
    assert limit_reasons(task, [], []) == []


def test_memory_in_memfds_is_capped_by_the_sandboxs_cgroup():
    # memory outside the address space (RLIMIT_AS does not count it), in many memfds (one
    # alone would stop at the file size limit): the group's memory cap kills the process
    # and the group reports it; without a memory cgroup the program finishes and this fails
    from autograder.sandbox import cgroups

    group = cgroups.new_group(64, 256, "test-memfd")
    code = (
        "import os\nchunk = b'x' * (16 << 20)\nfds = []\n"
        "for _ in range(48):  # 768 MB\n"
        "    fds.append(os.memfd_create('hold'))\n"
        "    os.write(fds[-1], chunk)\n"
        "print('held 768 MB')\n"
    )
    try:
        proc = subprocess.run(
            cgroups.join_command(group, [sys.executable, "-c", code]),
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        hits, ooms = cgroups.close_group(group)
    assert "memory" in group.capped, group
    assert proc.returncode == -9 and "held" not in proc.stdout, (proc.returncode, proc.stdout)
    assert ooms >= 1 and hits == 0
