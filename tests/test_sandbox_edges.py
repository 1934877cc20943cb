"""The sandbox's edges, attacked through the real CLI (release -> collect -> autograde ->
feedback -> grades) on one lesson-01 class: what goes in (links, special files, bad zip entries,
bad ids) and what could come out (the instructor's environment).

Links are tried in both places a student's files can reach the grader: the download folder
that ``collect`` reads (an LMS export) and ``submitted/`` itself (a class collected by other
means, nbgrader's own ``zip_collect`` say), where the grading child copies the submission.
They point to a classmate's notebook, the answer key, the gradebook, a system file and a
folder, as the notebook itself and beside it. Honest classmates must be collected and graded
as if nothing had happened.
"""

from __future__ import annotations

import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO, class_env, read_csv, run  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder import sandbox  # noqa: E402

LESSON = "01_vanilla_rnn"
NB = f"{LESSON}.ipynb"
SOURCE = REPO / "solutions" / LESSON / NB
SECRETS = ("SECRET-PGPASSWORD-4417", "SECRET-GBURL-4417", "SECRET-TOKEN-4417")

pytestmark = pytest.mark.skipif(
    sandbox.probe() is not None, reason=f"bubblewrap cannot run here: {sandbox.probe()}"
)

# the names a student's notebook reads beside itself: each would be a link to what it names
BESIDE = {
    "gradebook.db": "the gradebook",
    "key.py": "the answer key",
    "passwd": "a system file",
    "classmates": "a folder (everyone's submissions)",
    "copy.ipynb": "a classmate's notebook",
}

READ_BESIDE = (
    "import os, json\n"
    "_got = {}\n"
    f"for _name in {sorted(BESIDE)!r}:\n"
    "    try:\n"
    "        if os.path.isdir(_name):\n"
    "            _got[_name] = 'SUCCEEDED ' + repr(os.listdir(_name))[:200]\n"
    "        else:\n"
    "            _got[_name] = 'SUCCEEDED ' + repr(open(_name, 'rb').read(200))\n"
    "    except OSError as e:\n"
    "        _got[_name] = 'BLOCKED ' + type(e).__name__\n"
    "_got['.'] = sorted(os.listdir('.'))\n"
    "print(_got)\n"
    "open('leak-beside.json', 'w').write(json.dumps(_got))\n"
)

# what a student's code can try for the grader's environment: every process's environ it can
# see (bwrap's own init is pid 1 of the namespace), pid 1's memory, its own environment
READ_ENVIRONMENT = (
    "import os, json\n"
    "_got = {'environ': dict(os.environ)}\n"
    "for _pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['1']:\n"
    "    for _what in ('environ', 'cmdline'):\n"
    "        try:\n"
    "            _got[f'{_pid}/{_what}'] = open(f'/proc/{_pid}/{_what}', 'rb').read().decode(\n"
    "                errors='replace')\n"
    "        except OSError as e:\n"
    "            _got[f'{_pid}/{_what}'] = 'BLOCKED ' + type(e).__name__\n"
    "try:\n"
    "    with open('/proc/1/mem', 'rb') as _f:\n"
    "        _got['1/mem'] = 'SUCCEEDED ' + repr(_f.read(64))\n"
    "except OSError as e:\n"
    "    _got['1/mem'] = 'BLOCKED ' + type(e).__name__\n"
    "print(_got)\n"
    "open('leak-environment.json', 'w').write(json.dumps(_got))\n"
)


def _symlink_zip_entry(zf: zipfile.ZipFile, name: str, target: str) -> None:
    """A zip entry that unpacks as a symbolic link (Info-ZIP's convention)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the mode bits below are read
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


def _downloads(tmp: Path, sol, course: Path, gradebook: Path) -> Path:
    """The LMS export: honest work, links in every form, a bad zip, bad ids."""
    dl = tmp / "dl"
    fx.write(sol, dl / "honest" / NB)
    fx.write(sol, dl / "honest2" / NB)
    (dl / "copycat").mkdir()
    os.symlink(dl / "honest" / NB, dl / "copycat" / NB)  # a classmate's notebook
    (dl / "keythief").mkdir()
    os.symlink(SOURCE, dl / "keythief" / NB)  # the instructor's solutions notebook
    (dl / "sysfile").mkdir()
    os.symlink("/etc/passwd", dl / "sysfile" / NB)
    os.symlink(dl / "honest", dl / "alias")  # a student folder that is a link to a classmate
    beside = fx.insert_code(sol, "rnn_step_forward", READ_BESIDE)
    fx.write(beside, dl / "beside" / NB)
    targets = {
        "gradebook.db": gradebook,
        "key.py": REPO / "rnnref" / "rnn.py",
        "passwd": Path("/etc/passwd"),
        "classmates": course / "submitted",
        "copy.ipynb": dl / "honest" / NB,
    }
    for name, target in targets.items():
        os.symlink(target, dl / "beside" / name)
    os.mkfifo(dl / "beside" / "pipe")
    fx.write(fx.insert_code(sol, "rnn_step_forward", READ_ENVIRONMENT), dl / "envthief" / NB)
    fx.write(sol, dl / "bad\nid" / NB)  # a newline in the id
    fx.write(sol, dl / ".dotted" / NB)
    with zipfile.ZipFile(dl / "zipper.zip", "w") as zf:
        zf.writestr(NB, fx.dumps(sol))
        zf.writestr("../../escape.ipynb", "{}")
        zf.writestr("/abs/escape.txt", "x")
        _symlink_zip_entry(zf, "passwd", "/etc/passwd")
    return dl


def _plant(course: Path, gradebook: Path) -> None:
    """Links put straight into ``submitted/`` after collect: the grading child must not follow
    them (a notebook that is a link to a classmate's, links beside an honest notebook)."""
    sub = course / "submitted"
    src = sub / "honest" / LESSON
    dst = sub / "planted" / LESSON
    dst.mkdir(parents=True)
    os.symlink(src / NB, dst / NB)
    beside = sub / "beside" / LESSON
    targets = {
        "gradebook.db": gradebook,
        "key.py": REPO / "rnnref" / "rnn.py",
        "passwd": Path("/etc/passwd"),
        "classmates": sub,
        "copy.ipynb": src / NB,
    }
    for name, target in targets.items():
        os.symlink(target, beside / name)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edges")
    course = tmp / "course"
    env = class_env(tmp)
    env["RNN_SOURCE_DIR"] = str(REPO / "solutions")
    # the instructor's secrets: a database password, a token, and the gradebook's URL (a real
    # SQLite gradebook whose path carries a marker)
    gradebook = tmp / "SECRET-GBURL-4417" / "gradebook.db"
    gradebook.parent.mkdir()
    env.update(
        PGPASSWORD=SECRETS[0],
        RNN_GRADEBOOK_URL=f"sqlite:///{gradebook}",
        API_TOKEN=SECRETS[2],
    )
    run(env, "release", LESSON)
    sol = fx.as_submission(fx.read(SOURCE))
    collected = run(env, "collect", str(_downloads(tmp, sol, course, gradebook)))
    _plant(course, gradebook)
    graded = run(env, "autograde", "--workers", "2", "--no-progress", "--keep", "leak-*")
    run(env, "feedback")
    run(env, "grades", "--csv", str(tmp / "g.csv"))
    return {
        "tmp": tmp,
        "course": course,
        "collected": collected,
        "graded": graded,
        "table": read_csv(tmp / "g.csv"),
        "gradebook": gradebook,
    }


def _full(row) -> bool:
    return row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) > 0


def test_collect_refuses_links_and_bad_entries_and_collects_the_rest(edges):
    out, sub = edges["collected"], edges["course"] / "submitted"
    refused = [line for line in out.splitlines() if line.startswith("NOT PLACED")]
    text = "\n".join(refused)
    for expected in (
        f"copycat/{NB}: a symbolic link",
        f"keythief/{NB}: a symbolic link",
        f"sysfile/{NB}: a symbolic link",
        "alias: a symbolic link",
        "'bad\\nid': not a valid student id",
        ".dotted: not a valid student id",
        "'../../escape.ipynb'",
        "'/abs/escape.txt'",
    ):
        assert expected in text, (expected, text)
    for name in BESIDE:
        assert f"beside/{name}: a symbolic link" in text, (name, text)
    assert "beside/pipe:" in text and "zipper.zip" in text and "passwd" in text
    # nothing of a link's target was copied; the honest and the zipped work were
    for student in ("honest", "honest2", "beside", "envthief", "zipper"):
        assert (sub / student / LESSON / NB).is_file(), student
    for student in ("copycat", "keythief", "sysfile", "alias", ".dotted"):
        assert not (sub / student).exists(), student
    assert not list(sub.glob("bad*"))
    assert [p.name for p in (sub / "beside" / LESSON).iterdir() if not p.is_symlink()] == [NB]
    assert not (sub / "zipper" / LESSON / "passwd").exists()
    assert not (edges["tmp"] / "escape.ipynb").exists() and not Path("/abs/escape.txt").exists()
    # the gradebook comment of a student whose file was refused says which and why
    row = edges["table"][("beside", LESSON)]
    assert "symbolic link" in row["reasons"] + row["flags"], row


def test_links_in_submitted_are_not_followed_when_grading(edges):
    table, course = edges["table"], edges["course"]
    for student in ("honest", "honest2", "zipper", "beside", "envthief"):
        assert _full(table[(student, LESSON)]), table[(student, LESSON)]
    planted = table[("planted", LESSON)]
    assert not _full(planted) and "symbolic link" in planted["reasons"] + planted["flags"]
    # the links planted beside the notebook were not copied: the student's code saw none
    import json

    got = json.loads((course / "autograded" / "beside" / LESSON / "leak-beside.json").read_text())
    # and the folder it runs in holds its own files only: not the lesson's source (the
    # answer key, which nbgrader would copy in as a "master version")
    assert set(got.pop(".")) <= {NB, "timestamp.txt", "leak-beside.json"}
    assert set(got) == set(BESIDE)
    assert all(v.startswith("BLOCKED") for v in got.values()), got
    for name in BESIDE:
        assert name in table[("beside", LESSON)]["flags"], (name, table[("beside", LESSON)])
    # and nothing of theirs was installed with the autograded notebook
    for folder in (course / "autograded").rglob("*"):
        assert not folder.is_symlink(), folder
    assert "root:x:0:0" not in "".join(
        p.read_text(errors="replace") for p in (course / "autograded").rglob("*") if p.is_file()
    )


def _written_by_the_grader(edges) -> list[Path]:
    """Every file under the course folder but the gradebook itself (a database the grader
    owns, which records the course's own paths), and the run's outputs."""
    files = [p for p in edges["course"].rglob("*") if p.is_file() and not p.is_symlink()]
    files += [edges["tmp"] / "g.csv"]
    return [p for p in files if p.suffix != ".db"]


def test_the_instructors_environment_appears_in_no_file_the_grader_writes(edges):
    import json

    course = edges["course"]
    row = edges["table"][("envthief", LESSON)]
    assert _full(row), row
    got = json.loads(
        (course / "autograded" / "envthief" / LESSON / "leak-environment.json").read_text()
    )
    assert got["1/mem"].startswith("BLOCKED"), got["1/mem"]
    assert got["1/environ"].startswith("BLOCKED"), got["1/environ"]
    assert len(got) > 3, got  # it did see processes of its own
    dump = json.dumps(got)
    for secret in SECRETS:
        assert secret not in dump, secret
    feedback = list((course / "feedback" / "envthief").rglob("*.html"))
    assert feedback, "no feedback page for the attacker"
    for path in _written_by_the_grader(edges):
        text = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in text, (secret, path)
    assert edges["gradebook"].exists()  # the marked gradebook was the one used
