"""The student bundle (``python -m autograder bundle OUT``) of a graded term.

* It holds no answer: no line of a graded function's reference body (or of the helpers it is
  written with), of the lessons' solution and hidden-test blocks, or of the judge's checks;
  no ``solutions/``, no tests. With ``--released``, the released lessons' reference is there
  (the search finds it: the test can fail) and the others' is not.
* Its stubs raise an error that names the lesson to write the function in.
* Every lesson, run in its bundle (the earlier lessons released) by a real kernel with a
  correct solution pasted in, gets full marks from the instructor's ``autograde``.
* Bad input: a non-empty folder without ``--force``, a missing release, an unknown lesson, a
  folder inside the repository; ``--force`` keeps what is not the bundle's (``.git``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO  # noqa: E402
from test_grading_fidelity import grade_class, lesson_class  # noqa: E402

from autograder.answers import answer_lines, find_answers  # noqa: E402
from autograder.bundle import ENTRIES  # noqa: E402
from autograder.sources import lesson_names  # noqa: E402

LESSONS = lesson_names()


def make_bundle(out: Path, *args: str, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "bundle", str(out), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def bundle_python(bundle: Path, code: str) -> subprocess.CompletedProcess:
    """``code`` run by a Python whose ``rnnref`` and ``autograder`` are the bundle's."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=bundle,
        env={**os.environ, "PYTHONPATH": str(bundle)},
        timeout=120,
    )


@pytest.fixture(scope="module")
def closed(tmp_path_factory) -> Path:
    """A bundle with no answers released."""
    out = tmp_path_factory.mktemp("bundle") / "term"
    make_bundle(out)
    return out


def test_bundle_holds_no_answer(closed):
    lines = answer_lines()
    assert len(lines) > 400
    assert find_answers(closed, lines) == []
    everything = "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in closed.rglob("*") if p.is_file()
    )
    for marker in (
        "### BEGIN SOLUTION",
        "### BEGIN HIDDEN TESTS",
        "from autograder.judge import check",
    ):
        assert marker not in everything
    tops = sorted(p.name for p in closed.iterdir())
    assert tops == sorted(ENTRIES)
    kept = {str(p.relative_to(closed)) for p in closed.joinpath("autograder").rglob("*.py")}
    assert "autograder/judge/verdicts.py" in kept and "autograder/checks/stored.py" in kept
    assert not any("lesson0" in p or "variants" in p or "_references" in p for p in kept), kept
    assert not list(closed.rglob("test_*.py")) and not list(closed.rglob("solutions"))
    manifest = json.loads((closed / "BUNDLE.json").read_text())
    assert manifest["lessons"] == LESSONS and manifest["released"] == []
    assert "rnnref.rnn.rnn_step_forward" in manifest["stubbed"]
    for name in LESSONS:
        assert (closed / "lessons" / name / f"{name}.ipynb").read_bytes() == (
            REPO / "lessons" / name / f"{name}.ipynb"
        ).read_bytes()
    assert "pip install -r requirements.txt -e ." in (closed / "README.md").read_text()


def test_stubs_name_their_lesson_and_helpers_still_run(closed):
    proc = bundle_python(
        closed,
        "import numpy as np\n"
        "from rnnref import rnn, gradcheck, names\n"
        "from rnnref.layers import temporal_affine_forward\n"
        "x = np.ones((2, 3, 4)); w = np.ones((4, 5)); b = np.zeros(5)\n"
        "print(temporal_affine_forward(x, w, b)[0].shape, len(names.load_split('val')))\n"
        "try:\n"
        "    rnn.rnn_step_forward(x[:, 0], np.zeros((2, 5)), w, np.eye(5), b)\n"
        "except NotImplementedError as e:\n"
        "    print('stub:', e)\n"
        "print(rnn.__file__)\n",
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "(2, 3, 5) 1791" in out
    assert "stub: rnn_step_forward is graded in lesson 01" in out
    assert "lessons/01_vanilla_rnn/01_vanilla_rnn.ipynb" in out
    assert out.strip().endswith(str(closed / "rnnref" / "rnn.py"))


def test_released_lessons_keep_their_reference(tmp_path):
    out = tmp_path / "week3"
    proc = make_bundle(out, "--released", "01", "2")
    assert "answers released: 01, 02" in proc.stdout
    released, closed = LESSONS[:2], LESSONS[2:]
    assert find_answers(out, answer_lines(lessons=closed)) == []
    hits = find_answers(out, answer_lines(lessons=released))
    assert any(h.startswith("rnnref/rnn.py:") for h in hits)
    assert any(h.startswith("rnnref/gradflow.py:") for h in hits)
    proc = bundle_python(
        out,
        "import numpy as np\nfrom rnnref.rnn import rnn_forward\n"
        "h, _ = rnn_forward(np.ones((2, 3, 4)), np.zeros((2, 5)), np.ones((4, 5)) * 0.1, "
        "np.eye(5) * 0.1, np.zeros(5))\nprint(h.shape)\n",
    )
    assert proc.stdout.strip() == "(2, 3, 5)", proc.stderr


def test_bad_input_is_refused_and_force_keeps_other_files(tmp_path):
    out = tmp_path / "repo"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "notes.txt").write_text("the instructor's own")
    proc = make_bundle(out, check=False)
    assert proc.returncode == 2 and "is not empty" in proc.stderr and "--force" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [".git", "notes.txt"]
    make_bundle(out, "--force")
    (out / "lessons" / "stale.txt").write_text("from an older bundle")
    make_bundle(out, "--force", "--released", "01")
    assert (out / ".git" / "HEAD").is_file() and (out / "notes.txt").read_text() == (
        "the instructor's own"
    )
    assert not (out / "lessons" / "stale.txt").exists()
    assert json.loads((out / "BUNDLE.json").read_text())["released"] == [LESSONS[0]]

    proc = make_bundle(tmp_path / "x", "--released", "09", check=False)
    assert proc.returncode == 2 and "--released '09': no such lesson" in proc.stderr
    proc = make_bundle(REPO / "_build" / "bundle", check=False)
    assert proc.returncode == 2 and "inside it" in proc.stderr
    proc = make_bundle(tmp_path / "y", "--release-dir", str(tmp_path / "none"), check=False)
    assert proc.returncode == 2 and "python -m autograder release" in proc.stderr
    assert not (tmp_path / "y").exists() and not (tmp_path / "x").exists()


def _solved(bundle_nb, lesson: str):
    """The bundle's notebook of ``lesson`` with the source's solutions typed in (markers out)."""
    source = nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in bundle_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = answers[meta["grade_id"]].splitlines()
            cell.source = "\n".join(line for line in lines if "### " not in line)
    return bundle_nb


def _run_in_bundle(nb, bundle: Path, folder: Path, monkeypatch):
    """``nb`` executed by a real kernel whose ``rnnref`` is the bundle's; its error outputs."""
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", str(bundle))
    NotebookClient(
        nb, timeout=900, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    ).execute()
    return [
        (i, out.ename, out.evalue)
        for i, cell in enumerate(nb.cells)
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]


def _expected_errors(nb, lesson: str, errors):
    """The errors a solved lesson may show in its bundle: none, but in lesson 08 the demo
    cells that run the shipped model, whose code (the sampler, the model's forward) is lesson
    08's answer; each says so."""
    if lesson != LESSONS[-1]:
        return []
    uses_shipped = [i for i, _, _ in errors if "shipped" in nb.cells[i].source]
    return [
        (i, name, text)
        for i, name, text in errors
        if i in uses_shipped
        and "demo" in nb.cells[i].metadata.get("tags", [])
        and name == "NotImplementedError"
        and "lesson 08: write" in text
    ]


@pytest.mark.slow
@pytest.mark.nbgrader
def test_every_lesson_solved_in_its_bundle_gets_full_marks(tmp_path, monkeypatch):
    downloads = tmp_path / "downloads" / "bundled"
    downloads.mkdir(parents=True)
    for n, lesson in enumerate(LESSONS):
        out = tmp_path / f"bundle{lesson[:2]}"
        make_bundle(out, "--released", *(name[:2] for name in LESSONS[:n]))
        folder = out / "lessons" / lesson
        nb = _solved(nbformat.read(folder / f"{lesson}.ipynb", as_version=4), lesson)
        nbformat.write(nb, folder / f"{lesson}.ipynb")  # saved: "Check my work" reads the file
        errors = _run_in_bundle(nb, out, folder, monkeypatch)
        assert errors == _expected_errors(nb, lesson, errors), (lesson, errors)
        printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        # "Check my work" ran the bundle's check (stored cases): full marks on what it grades
        score = re.search(r"score: (\S+) / (\S+) of what this check grades", printed)
        assert score and score[1] == score[2] and float(score[1]) > 0, (lesson, printed[-3000:])
        nbformat.write(nb, downloads / f"{lesson}.ipynb")
    monkeypatch.delenv("PYTHONPATH")
    env = lesson_class(tmp_path, *LESSONS)
    rows = grade_class(env, tmp_path, tmp_path / "downloads")
    for lesson in LESSONS:
        row = rows[("bundled", lesson)]
        assert float(row["score"]) == float(row["max_score"]) > 0, (lesson, row["reasons"])


def bundle_check(bundle: Path, path: Path) -> subprocess.CompletedProcess:
    """The bundle's own ``python -m autograder check PATH`` (its __main__, its stored cases)."""
    return subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=bundle,
        env={**os.environ, "PYTHONPATH": str(bundle)},
        timeout=300,
    )


def test_bundle_check_grades_the_release_zero_and_refuses_bad_input(closed, tmp_path):
    lesson = LESSONS[0]
    nb = closed / "lessons" / lesson / f"{lesson}.ipynb"
    proc = bundle_check(closed, nb)
    assert proc.returncode == 1, proc.stderr
    assert "stored cases" in proc.stdout and "FAILED  rnn_step_forward  0/2" in proc.stdout
    assert "is not written yet: it still raises NotImplementedError" in proc.stdout
    assert "score: 0 / 10 of what this check grades" in proc.stdout
    (tmp_path / lesson).mkdir()
    (tmp_path / lesson / f"{lesson}.ipynb").symlink_to(nb)
    (tmp_path / "mine.ipynb").write_text("{}")
    cases = {
        tmp_path / "missing.ipynb": "no such notebook file",
        tmp_path / lesson / f"{lesson}.ipynb": "a link is not followed",
        tmp_path / "mine.ipynb": "cannot tell which lesson",
    }
    for path, why in cases.items():
        proc = bundle_check(closed, path)
        assert proc.returncode == 2 and why in proc.stderr, (path, proc.stderr)
