"""The bubblewrap sandbox, attacked the way a hostile student would (lesson 01, the real CLI).

Every attack runs twice per submission: from a notebook cell (in the kernel, and again when the
judge's worker replays the cells) and from inside the graded ``rnn_step_forward`` (in the
worker, where the judge calls it). Each attack writes what happened into its own copy
(``leak-<attack>-<where>.txt``, installed with the autograded notebook), so the test reads the
outcome of every place it ran. The host side is checked too: the gradebook, the victim's files,
a TCP port the test listens on, a signal handler in this process, files next to the course,
processes left running. A class run with the attackers must give every honest student exactly
what a run without them gives; each attacker keeps full marks (the attack fails, the rest of the
notebook is graded) and gets a flag naming the attempt.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO, class_env, leftover_processes, read_csv, run  # noqa: E402
from test_autograder_postgres import postgres_url as _pg  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder import sandbox  # noqa: E402

LESSON = "01_vanilla_rnn"
SOURCE = REPO / "solutions" / LESSON / f"{LESSON}.ipynb"
MARKER = "rnn-sandbox-leftover-7781"

pytestmark = pytest.mark.skipif(
    sandbox.probe() is not None, reason=f"bubblewrap cannot run here: {sandbox.probe()}"
)

# Each attack is the body of a function that returns what it got (the attack worked) or
# raises (the sandbox stopped it). Upper-case names are filled in per class.
ATTACKS = {
    "gradebook_read": "return open(GRADEBOOK, 'rb').read(64)",
    "gradebook_write": (
        "import sqlite3\n"
        "c = sqlite3.connect(GRADEBOOK)\n"
        "c.execute('update grade set manual_score = 99')\n"
        "c.commit()\n"
        "return 'rewrote the gradebook'"
    ),
    "list_other": "return os.listdir(SUBMITTED)",
    "change_other": "open(VICTIM, 'w').write('{}')\nreturn 'overwrote the victim'",
    "solutions": "return open(SOLUTION, encoding='utf-8').read(200)",
    "answer_key": (
        "import importlib\n"
        "try:\n"
        "    return importlib.import_module('rnnref.rnn').rnn_step_forward\n"
        "except ImportError:\n"
        "    src = open(KEY).read()\n"
        "    assert 'def rnn_step_forward' in src, 'only a stub: ' + src[:80]\n"
        "    return src[:80]"
    ),
    "write_outside": ("open(OUTSIDE, 'w').write('pwned')\nreturn 'wrote ' + OUTSIDE"),
    "tcp": "return socket.create_connection(('127.0.0.1', PORT), timeout=3).getsockname()",
    "signal": "os.kill(GRADER_PID, signal.SIGUSR1)\nreturn 'signalled the grader'",
    "fork_bomb": (
        "import time\n"
        "me = os.getpid()\n"
        "for i in range(1000):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(3)\n"
        "        os._exit(0)\n"
        "return 'forked 1000 processes'"
    ),
    "fill_tmp": (
        "chunk = b'x' * 2**20\n"
        "try:\n"
        "    with open('/tmp/fill', 'wb') as f:\n"
        "        for i in range(200):\n"
        "            f.write(chunk)\n"
        "            f.flush()\n"
        "finally:\n"
        "    if os.path.exists('/tmp/fill'):\n"
        "        os.remove('/tmp/fill')\n"
        "return 'wrote 200 MB to /tmp'"
    ),
    "pgpass": (
        "for p in (os.path.expanduser('~/.pgpass'), PGPASS):\n"
        "    try:\n"
        "        return open(p).read()\n"
        "    except OSError:\n"
        "        pass\n"
        "raise FileNotFoundError('no .pgpass')"
    ),
    "environment": (
        "leak = {k: v for k, v in os.environ.items()\n"
        "        if k.startswith(('PG', 'RNN_GRADEBOOK', 'RNN_COURSE')) or 'TOKEN' in k}\n"
        "if leak:\n"
        "    return leak\n"
        "raise LookupError('nothing secret in the environment')"
    ),
    "leftover": (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', MARKER],\n"
        "                     start_new_session=True)\n"
        "return p.pid"
    ),
}
PG_ATTACK = {
    "postgres": (
        "import sqlalchemy\n"
        "url = sqlalchemy.engine.make_url(PG_URL)\n"
        "try:\n"
        "    with sqlalchemy.create_engine(url).connect() as c:\n"
        "        c.exec_driver_sql('update grade set manual_score = 99')\n"
        "        c.commit()\n"
        "    return 'rewrote the PostgreSQL gradebook'\n"
        "finally:  # libpq connects in C, unseen by the guard; Python's socket is seen\n"
        "    socket.create_connection((url.host, url.port), timeout=3)"
    )
}
# the flag each attempt must leave (the guard's or the cgroup's), by attack
FLAGS = {
    "gradebook_read": "gradebook.db (outside the sandbox",
    "gradebook_write": "gradebook.db",
    "list_other": "submitted (outside the sandbox",
    "change_other": "write outside its copy",
    "solutions": "solutions",
    "answer_key": "answer key",
    "write_outside": "write outside its copy",
    "tcp": "network: connect to 127.0.0.1",
    "signal": "signal 10 to process",
    "fork_bomb": "process limit",
    "pgpass": ".pgpass (outside the sandbox",
    "postgres": "network: connect to 127.0.0.1",
}


def _program(name: str, body: str, constants: dict) -> str:
    """The attack as a function, and the helper that records its outcome in the copy."""
    consts = "".join(f"{k} = {v!r}\n" for k, v in constants.items())
    indented = "".join("    " + line + "\n" for line in body.splitlines())
    return (
        "import os, signal, socket, sys\n"
        f"{consts}"
        "_DONE = []\n"
        f"def _attack():\n{indented}"
        "def _record(where):\n"
        "    where += '-kernel' if 'ipykernel' in sys.modules else '-judge'\n"
        "    try:\n"
        "        res = 'SUCCEEDED ' + repr(_attack())[:300]\n"
        "    except BaseException as e:\n"
        "        res = 'BLOCKED ' + type(e).__name__ + ': ' + str(e)[:300]\n"
        f"    with open('leak-{name}-' + where + '.txt', 'w') as f:\n"
        "        f.write(res)\n"
        "_record('cell')\n"
    )


def _attacker(sol, name: str, body: str, constants: dict):
    """The honest solution plus the attack in a cell and at the top of rnn_step_forward."""
    nb = fx.insert_code(sol, "rnn_step_forward", _program(name, body, constants))
    step = nb.cells[fx.cell_index(nb, "rnn_step_forward")].source
    head = "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
    assert head in step
    call = "    if not _DONE:\n        _DONE.append(1)\n        _record('function')\n"
    return fx.set_source(nb, "rnn_step_forward", step.replace(head, head + call, 1))


class _Listener:
    """A TCP port on 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            self.accepted.append(addr)
            conn.close()


def _make_class(tmp: Path, attackers: dict, db_url: str | None = None):
    """A lesson-01 class: honest students, a partly wrong one, and ``attackers``."""
    env = class_env(tmp, db_url)
    env["RNN_SOURCE_DIR"] = str(REPO / "solutions")
    home = tmp / "home"
    home.mkdir()
    (home / ".pgpass").write_text("127.0.0.1:5432:*:postgres:SECRET-PGPASS\n")
    env.update(HOME=str(home), PGPASSWORD="SECRET-PGPASSWORD", API_TOKEN="SECRET-TOKEN")
    run(env, "release", LESSON)
    sol = fx.as_submission(fx.read(SOURCE))
    back = sol.cells[fx.cell_index(sol, "rnn_backward")].source
    partial = fx.set_source(sol, "rnn_backward", back.replace("def rnn_backward", "def _old", 1))
    dl = tmp / "dl"
    fx.write(sol, dl / "honest" / f"{LESSON}.ipynb")
    fx.write(partial, dl / "partial" / f"{LESSON}.ipynb")
    for student, nb in attackers.items():
        fx.write(nb, dl / student / f"{LESSON}.ipynb")
    run(env, "collect", str(dl))
    return env, sol


def _constants(tmp: Path, listener: _Listener, db_url: str | None) -> dict:
    course = tmp / "course"
    return {
        "GRADEBOOK": str(course / "gradebook.db"),
        "SUBMITTED": str(course / "submitted"),
        "VICTIM": str(course / "submitted" / "honest" / LESSON / f"{LESSON}.ipynb"),
        "SOLUTION": str(REPO / "solutions" / LESSON / f"{LESSON}.md"),
        "KEY": str(REPO / "rnnref" / "rnn.py"),
        "OUTSIDE": str(tmp / "pwned.txt"),
        "PORT": listener.port,
        "GRADER_PID": os.getpid(),
        "PGPASS": str(tmp / "home" / ".pgpass"),
        "MARKER": MARKER,
        "PG_URL": db_url or "",
    }


def _outcomes(tmp: Path, student: str) -> dict[str, str]:
    folder = tmp / "course" / "autograded" / student / LESSON
    return {p.stem.split("-", 2)[2]: p.read_text() for p in sorted(folder.glob("leak-*.txt"))}


def _content(path: Path) -> bytes:
    """A file's bytes; for a notebook, without the cells' execution times (nbclient's)."""
    if path.suffix != ".ipynb":
        return path.read_bytes()
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
    return json.dumps(nb, sort_keys=True).encode()


_SIGNALS: list[int] = []


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """The same honest students graded without attackers and with every attacker."""
    old = signal.signal(signal.SIGUSR1, lambda s, f: _SIGNALS.append(s))
    listener = _Listener()
    base = tmp_path_factory.mktemp("baseline")
    env0, _ = _make_class(base, {})
    run(env0, "autograde", "--workers", "2", "--no-progress", "--keep", "leak-*")
    run(env0, "grades", "--csv", str(base / "g.csv"))
    tmp = tmp_path_factory.mktemp("attacked")
    sol = fx.as_submission(fx.read(SOURCE))
    consts = _constants(tmp, listener, None)
    attackers = {f"x_{n}": _attacker(sol, n, body, consts) for n, body in ATTACKS.items()}
    env, _ = _make_class(tmp, attackers)
    out = run(env, "autograde", "--workers", "2", "--no-progress", "--keep", "leak-*")
    run(env, "grades", "--csv", str(tmp / "g.csv"))
    yield {
        "base": base,
        "tmp": tmp,
        "table0": read_csv(base / "g.csv"),
        "table": read_csv(tmp / "g.csv"),
        "listener": listener,
        "out": out,
    }
    listener.sock.close()
    signal.signal(signal.SIGUSR1, old)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_fails_and_the_rest_is_graded(classes, attack):
    tmp, table = classes["tmp"], classes["table"]
    row = table[(f"x_{attack}", LESSON)]
    honest = table[("honest", LESSON)]
    assert row["status"] == "graded", row
    assert float(row["score"]) == float(honest["score"]) == float(honest["max_score"]), row
    got = _outcomes(tmp, f"x_{attack}")
    # the cell ran in the kernel and in the judge's worker, the function where it was called
    assert {"cell-kernel", "cell-judge", "function-judge"} <= set(got), got
    for where, text in got.items():
        if attack == "leftover":  # starting it works; outliving the kernel does not
            assert text.startswith("SUCCEEDED"), (where, text)
        else:
            assert text.startswith("BLOCKED"), (attack, where, text)
    if attack in FLAGS:
        assert FLAGS[attack] in row["flags"], (attack, row["flags"])


def test_the_host_is_untouched(classes):
    tmp = classes["tmp"]
    assert not (tmp / "pwned.txt").exists()
    assert not classes["listener"].accepted, classes["listener"].accepted
    assert not _SIGNALS
    assert not leftover_processes(MARKER)
    # every sandbox cgroup left belongs to a grading process still running (another run)
    for group in Path("/sys/fs/cgroup/pids").glob("rnn-sandbox-*"):
        assert Path(f"/proc/{group.name.split('-')[2]}").exists(), group


def test_other_students_are_byte_for_byte_a_run_without_attackers(classes):
    base, tmp = classes["base"], classes["tmp"]
    t0, t1 = classes["table0"], classes["table"]
    for student in ("honest", "partial"):
        keep = ("score", "max_score", "status", "reasons", "flags")
        assert {k: t0[(student, LESSON)][k] for k in keep} == {
            k: t1[(student, LESSON)][k] for k in keep
        }
        assert not t1[(student, LESSON)]["flags"]
        for folder in ("submitted", "autograded"):
            a = base / "course" / folder / student / LESSON
            b = tmp / "course" / folder / student / LESSON
            names = sorted(p.name for p in a.iterdir())
            assert names == sorted(p.name for p in b.iterdir())
            for name in names:
                assert _content(a / name) == _content(b / name), (folder, student, name)
    assert float(t1[("partial", LESSON)]["score"]) < float(t1[("honest", LESSON)]["score"])


postgres_url = _pg  # the PostgreSQL cluster fixture, started by the test


def test_postgres_gradebook_is_out_of_reach(postgres_url, tmp_path):  # noqa: F811
    import sqlalchemy as sa

    listener = _Listener()
    sol = fx.as_submission(fx.read(SOURCE))
    consts = _constants(tmp_path, listener, postgres_url)
    attackers = {"x_pg": _attacker(sol, "postgres", PG_ATTACK["postgres"], consts)}
    env, _ = _make_class(tmp_path, attackers, postgres_url)
    run(env, "autograde", "--workers", "2", "--no-progress", "--keep", "leak-*")
    run(env, "grades", "--csv", str(tmp_path / "g.csv"))
    table = read_csv(tmp_path / "g.csv")
    row, honest = table[("x_pg", LESSON)], table[("honest", LESSON)]
    assert float(row["score"]) == float(honest["score"]) == float(honest["max_score"])
    got = _outcomes(tmp_path, "x_pg")
    assert {"cell-kernel", "cell-judge", "function-judge"} <= set(got), got
    assert all(text.startswith("BLOCKED") for text in got.values()), got
    assert FLAGS["postgres"] in row["flags"]
    eng = sa.create_engine(postgres_url)
    with eng.connect() as c:
        assert not c.execute(sa.text("select count(*) from grade where manual_score = 99")).scalar()
    eng.dispose()


def test_without_bwrap_autograde_says_why_and_none_records_it(tmp_path):
    env, _ = _make_class(tmp_path, {})
    bindir = tmp_path / "bin"  # a PATH with python's tools but no bwrap
    bindir.mkdir()
    for tool in ("sh", "true"):
        os.symlink(shutil.which(tool), bindir / tool)
    env["PATH"] = f"{Path(sys.executable).parent}:{bindir}"
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "autograde", "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 2, proc
    assert "bubblewrap (bwrap) is not installed" in proc.stderr
    assert "apt-get install bubblewrap" in proc.stderr and "--sandbox none" in proc.stderr
    assert not (tmp_path / "course" / "autograded").exists()  # nothing ran
    out = run(env, "autograde", "--no-progress", "--sandbox", "none", "--student", "honest")
    assert "1 graded" in out
    run(env, "grades", "--csv", str(tmp_path / "g.csv"))
    row = read_csv(tmp_path / "g.csv")[("honest", LESSON)]
    assert sandbox.UNSANDBOXED in row["flags"]
    assert float(row["score"]) == float(row["max_score"])


def test_wrap_hides_what_it_must():
    """The argv itself: namespaces, no course paths, env allow-list."""
    policy = sandbox.Policy("bwrap", ["/course"])
    box = sandbox.Sandbox(policy, Path(os.environ.get("TMPDIR", "/tmp")) / f"box-{os.getpid()}")
    try:
        argv = box.wrap([sys.executable, "-I", "-c", "pass"], "judge", writable=["/tmp"])
    finally:
        box.close()
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-net", "--die-with-parent"):
        assert flag in argv
    assert "--new-session" in argv and "--clearenv" in argv
    binds = {argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")}
    assert str(REPO / "solutions") not in binds and str(REPO) not in binds
    assert not any(b == os.path.expanduser("~") for b in binds)
    env_names = {argv[i + 1] for i, a in enumerate(argv) if a == "--setenv"}
    assert not any(n.startswith(("PG", "RNN_GRADEBOOK")) for n in env_names)
    i = argv.index(sys.executable)
    # -B: no bytecode written next to the read-only code (a false "write outside" flag)
    assert argv[i : i + 5] == [sys.executable, "-I", "-B", "-m", "autograder.sandbox"]


_NAMES = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_NAMES, st.text(max_size=20), max_size=30))
def test_environment_is_an_allow_list(env):
    env = {**env, "PGPASSWORD": "x", "RNN_GRADEBOOK_URL": "postgresql://u:p@h/db", "GH_TOKEN": "t"}
    out = sandbox.allowed_env(env)
    assert set(out) <= set(sandbox.ENV_ALLOW) | {
        "PATH", "HOME", "TMPDIR", "USER", "LOGNAME", "MPLCONFIGDIR", "JPY_PARENT_PID"
    }  # fmt: skip
    assert not any(k.startswith(("PG", "RNN_GRADEBOOK")) or "TOKEN" in k for k in out)
    assert out["HOME"] == sandbox.HOME and out["TMPDIR"] == "/tmp"  # the sandbox's own
    assert all(out[k] == env[k] for k in sandbox.ENV_ALLOW if k in env)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "course", "x y"]), min_size=1, max_size=4)))
def test_shadows_cover_every_bound_path_below_tmp_but_are_none_of_them(parts):
    paths = ["/tmp/" + "/".join(p) for p in parts]
    tops = sandbox._shadows(paths, "/tmp")
    for p in paths:
        top = "/".join(p.split("/")[:3])
        if top not in paths:  # deeper than /tmp/<top>, which is not bound itself: shadowed
            assert top in tops
    assert all(t.count("/") == 2 and t.startswith("/tmp/") for t in tops)
    assert not set(tops) & set(paths)
