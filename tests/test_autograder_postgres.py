"""The scale-out path for real: the same end-to-end class graded into a PostgreSQL gradebook.

The test starts its own PostgreSQL cluster (Debian's ``postgresql`` server binaries) in a
temporary folder, on 127.0.0.1 and a free port, as the ``postgres`` user when run as root.
Two graders (two ``autograde`` processes, as on two grading machines, 2 workers each) share
the one database URL and grade disjoint halves of the class at the same time; the result must
be exactly the single-machine result, and a second run must change nothing.
It is skipped, saying why, only where the server binaries are not installed
(``apt-get install postgresql``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import (  # noqa: E402
    EXPECTED,
    LIMITS,
    N_NOTEBOOKS,
    REPO,
    check_class,
    read_csv,
    run,
    setup_class,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nbgrader]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
            "install Debian's postgresql package to run the scale-out test"
        )
    bindir = Path(bins[-1]).parent
    base = tmp_path_factory.mktemp("pg")
    data = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        os.chmod(base, 0o755)
        for parent in base.parents:  # the server must reach its folder
            if str(parent) in ("/", "/tmp"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o005)
    port = _free_port()

    def pg(*args, **kw):
        return subprocess.run([*as_user, *args], check=True, capture_output=True, text=True, **kw)

    pg(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    pg(
        str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
        "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
    )  # fmt: skip
    try:
        pg(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "rnn")
        yield f"postgresql://postgres@127.0.0.1:{port}/rnn"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )


def test_postgres_two_graders_one_database(postgres_url, tmp_path):
    import sqlalchemy as sa

    env = setup_class(tmp_path, postgres_url)
    assert not (tmp_path / "course" / "gradebook.db").exists()  # everything went to PostgreSQL
    students = sorted(EXPECTED)
    halves = [students[0::2], students[1::2]]
    t0 = time.monotonic()
    procs = []
    for half in halves:
        args = ["autograde", "--workers", "2", *LIMITS]
        for s in half:
            args += ["--student", s]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "autograder", *args],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, (out, err)
    elapsed = time.monotonic() - t0
    csv_path = tmp_path / "grades.csv"
    run(env, "grades", "--csv", str(csv_path))
    check_class(env, tmp_path, read_csv(csv_path))
    eng = sa.create_engine(postgres_url)
    with eng.connect() as c:
        n_sub = c.execute(sa.text("select count(*) from submitted_assignment")).scalar()
        n_rec = c.execute(sa.text("select count(*) from rnn_autograde")).scalar()
    eng.dispose()
    assert n_sub == n_rec == N_NOTEBOOKS
    # a second run, by either machine, changes nothing
    snapshot = csv_path.read_text()
    out = run(env, "autograde", "--workers", "2", *LIMITS)
    assert "0 graded" in out and f"{N_NOTEBOOKS} already graded" in out
    run(env, "grades", "--csv", str(csv_path))
    assert csv_path.read_text() == snapshot
    print(f"\nPostgreSQL: {N_NOTEBOOKS} notebooks by two concurrent graders: {elapsed:.1f} s")
