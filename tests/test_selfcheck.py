"""``python -m autograder check``: the student's check gives autograde's verdict.

* Agreement: every lesson's solution and, for each graded function, its first known mistake
  (the corpus tables of ``test_grading_corpus*.py``), checked with ``check --json`` and graded
  as a class with ``collect`` / ``autograde``: the same points, pass/fail and likely cause in
  every graded cell (each run draws its own cases, so the failing case and figures may
  differ). The same for a student bundle's ``check``, on its stored cases. The figures are
  printed.
* What the student sees: the printout names the function, the points and the diagnosis,
  never a line of a hidden test; the notebooks are not changed and nothing is left behind.
* Bad input (no file, a link, a name that is no lesson) is refused with a message, exit 2.
* The "Check my work" cell closes every lesson, does nothing while the notebook is graded
  (nor a call of it in a cell of the student's own), and in a real kernel prints the verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_grading_corpus as early  # noqa: E402
import test_grading_corpus_late as late  # noqa: E402
from lesson_tools import hidden_test_lines, likely_causes  # noqa: E402
from test_autograder import REPO  # noqa: E402
from test_grading_fidelity import grade_class, lesson_class, stored_cells  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder.feedback import diagnosis  # noqa: E402
from autograder.mywork import GRADING_ENV  # noqa: E402
from autograder.settings import Settings  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.nbgrader]

LESSONS = Settings.resolve(source=REPO / "solutions").assignments_in_source()
CHECK_CELL = "check_my_work"


def _solution(lesson: str):
    return fx.as_submission(fx.read(REPO / "solutions" / lesson / f"{lesson}.ipynb"))


def first_mistakes() -> dict[str, tuple[str, object]]:
    """``{student: (lesson, notebook)}``: per graded function of every lesson, the first row
    of the corpus tables that names it."""
    sols = {lesson: _solution(lesson) for lesson in LESSONS}
    out, seen = {}, set()
    for student, lesson, fn, _, edit in early.mistakes():
        if (lesson, fn) not in seen:
            seen.add((lesson, fn))
            out[f"{lesson[:2]}_{student}"] = (lesson, early._edited(sols[lesson], {fn: edit}))
    for student, lesson, fn, _, edits in late.mistakes():
        if (lesson, fn) not in seen:
            seen.add((lesson, fn))
            nb = late.edited(sols[lesson], edits)
            out[f"{lesson[:2]}_{student}"] = (lesson, nb)
    # the capstone's mistakes train 2 steps, not 100 (their cells fail either way)
    out = {
        s: (lesson, late.short_training(nb) if lesson == late.L08 else nb)
        for s, (lesson, nb) in out.items()
    }
    for lesson in LESSONS:
        out[f"{lesson[:2]}_honest"] = (lesson, sols[lesson])
    return out


def _digest(folder: Path) -> dict:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("selfcheck")
    env = lesson_class(tmp, *LESSONS)
    dl = tmp / "dl"
    students = first_mistakes()
    for student, (lesson, nb) in students.items():
        fx.write(nb, dl / student / f"{lesson}.ipynb")
    # a student who calls the check in a cell of their own (nbgrader restores the locked
    # "Check my work" cell, but not this one): in grading it runs, and does nothing
    sol = _solution(LESSONS[0])
    sol.cells.append(
        nbformat.v4.new_code_cell(
            "from autograder.mywork import check_my_work\n\n"
            f'check_my_work("{LESSONS[0]}.ipynb")\nprint("my own line")'
        )
    )
    fx.write(sol, dl / "own_check" / f"{LESSONS[0]}.ipynb")
    before = _digest(dl)
    scratch = tmp / "scratch"  # the check's temporary class goes here, and must not stay
    scratch.mkdir()
    check_env = {**env, "TMPDIR": str(scratch)}
    for var in ("RNN_COURSE_DIR", "RNN_RELEASE_DIR"):  # a student has no class
        check_env.pop(var)
    paths = sorted(str(p) for p in dl.glob("*/*.ipynb"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "check",
            *paths,
            "--workers",
            "2",
            "--json",
            str(tmp / "check.json"),
        ],
        env=check_env,
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=REPO,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the mistakes lose points
    assert _digest(dl) == before, "check changed the student's files"
    assert not any(scratch.iterdir()), f"check left {list(scratch.iterdir())}"
    checked = {
        Path(v["notebook"]).parent.name: v for v in json.loads((tmp / "check.json").read_text())
    }
    grade_class(env, tmp, dl)
    return tmp, proc.stdout, checked, stored_cells(tmp), students


def test_check_and_autograde_agree_on_every_graded_cell(agreement):
    tmp, _, checked, stored, students = agreement
    cells = agree = 0
    for student, (lesson, _) in students.items():
        mine, graded = checked[student]["cells"], stored[(student, lesson)]
        assert sorted(mine) == sorted(graded), student
        for gid, c in graded.items():
            cells += 1
            same = (
                mine[gid]["score"] == c["score"]
                and mine[gid]["passed"] == (c["score"] >= c["max_score"])
                and likely_causes(mine[gid]["diagnosis"]) == likely_causes(diagnosis(c))
            )
            agree += same
            assert same, (student, gid, mine[gid], c)
    lost = sum(1 for v in checked.values() for c in v["cells"].values() if not c["passed"])
    print(
        f"\ncheck vs autograde: {agree}/{cells} graded cells agree over {len(students)} "
        f"notebooks of {len(LESSONS)} lessons ({lost} failing cells)"
    )
    assert lost >= len(students) - len(LESSONS)  # every mistake notebook lost a cell
    for lesson in LESSONS:
        v = checked[f"{lesson[:2]}_honest"]
        assert v["score"] == v["max_score"] > 0, (lesson, v)


def _bundle_check(tmp: Path, lesson_index: int, notebooks: dict) -> dict:
    """``{student: {grade_id: result}}`` of a student bundle's ``check`` (stored cases) on
    ``notebooks`` (``{student: path}``) of lesson ``LESSONS[lesson_index]``, in the bundle of
    that lesson (the earlier lessons' answers released), run by the bundle's own package."""
    lesson = LESSONS[lesson_index]
    out = tmp / f"bundle{lesson[:2]}"
    released = [name[:2] for name in LESSONS[:lesson_index]]
    made = subprocess.run(
        [sys.executable, "-m", "autograder", "bundle", str(out), "--released", *released],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    paths = []
    for student, src in notebooks.items():
        dest = out / "lessons" / lesson / student / f"{lesson}.ipynb"
        dest.parent.mkdir(parents=True)
        dest.write_bytes(Path(src).read_bytes())
        paths.append(str(dest))
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "check", *paths, "--json", str(out / "v.json")],
        capture_output=True,
        text=True,
        cwd=out,
        env={**os.environ, "PYTHONPATH": str(out)},
        timeout=1800,
    )
    assert proc.returncode in (0, 1) and "stored cases" in proc.stdout, proc.stderr[-3000:]
    return {
        Path(v["notebook"]).parent.name: v["cells"]
        for v in json.loads((out / "v.json").read_text())
    }


def test_bundle_check_and_autograde_agree_on_every_graded_cell(agreement, tmp_path):
    """Issue 26: in a student bundle, ``check`` (the judge on cases stored at bundle time, no
    reference) and the instructor's ``autograde`` (fresh cases, the reference) give every
    graded cell of every known-mistake notebook the same pass/fail and likely cause."""
    tmp, _, _, stored, students = agreement
    verdicts = {}
    for i, lesson in enumerate(LESSONS):
        mine = {s: tmp / "dl" / s / f"{lesson}.ipynb" for s, (les, _) in students.items()}
        mine = {s: p for s, p in mine.items() if students[s][0] == lesson}
        verdicts.update(_bundle_check(tmp_path, i, mine))
    cells = agree = unchecked = causes = 0
    for student, (lesson, _) in students.items():
        graded, mine = stored[(student, lesson)], verdicts[student]
        assert sorted(mine) == sorted(graded), student
        for gid, c in graded.items():
            if not mine[gid]["checked"]:  # the capstone's quality bar: the reference model's
                unchecked += 1
                continue
            cells += 1
            passed = c["score"] >= c["max_score"]
            assert mine[gid]["passed"] == passed, (student, gid, mine[gid], c)
            agree += 1
            why = likely_causes(diagnosis(c))
            if why:
                assert why == likely_causes(mine[gid]["message"]), (
                    student,
                    gid,
                    mine[gid]["message"],
                    diagnosis(c),
                )
                causes += 1
    print(
        f"\nbundle check vs autograde: {agree}/{cells} graded cells agree on pass/fail over "
        f"{len(students)} notebooks ({causes} likely causes the same; {unchecked} cells not "
        "checked by the bundle: the capstone's quality bar)"
    )
    assert causes >= len(students) - len(LESSONS)  # a cause for every mistake notebook, at least


def test_printout_names_function_points_and_cause_never_hidden_tests(agreement):
    _, out, checked, _, students = agreement
    v = checked["01_rnn_step_backward_0"]
    fn, gid = "rnn_step_backward", "test_rnn_step_backward"
    assert v["cells"][gid]["functions"] == [fn] and not v["cells"][gid]["passed"]
    block = out.split("01_rnn_step_backward_0/")[1].split("\n\n")[0]
    assert f"FAILED  {fn}  0/3" in block, block
    assert "Likely cause: mean instead of sum over the batch" in block, block
    assert "passed  rnn_step_forward  2/2" in block, block
    hidden = hidden_test_lines(*LESSONS)
    assert not [ln for ln in hidden if ln in out], "a hidden test line was printed"


def test_a_check_call_does_nothing_while_graded(agreement):
    tmp, _, checked, stored, _ = agreement
    assert checked["own_check"]["score"] == checked["own_check"]["max_score"]
    path = tmp / "course" / "autograded" / "own_check" / LESSONS[0] / f"{LESSONS[0]}.ipynb"
    nb = nbformat.read(path, as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "skipped while the notebook is being graded" in text and "my own line" in text, text
    assert "score:" not in text, text
    assert stored[("own_check", LESSONS[0])], "not graded"


def test_every_lesson_ends_with_the_check_cell():
    for lesson in LESSONS:
        nb = fx.read(REPO / "lessons" / lesson / f"{lesson}.ipynb")
        last = nb.cells[-1]
        md = last.metadata.get("nbgrader", {})
        assert md.get("grade_id") == CHECK_CELL and md.get("locked"), lesson
        assert "demo" in last.metadata.get("tags", []), lesson  # unchanged: not run in grading
        assert f'check_my_work("{lesson}.ipynb")' in last.source, lesson
        intro = "".join(c.source for c in nb.cells[:3])
        assert f"python -m autograder check lessons/{lesson}/{lesson}.ipynb" in intro, lesson


def test_bad_input_is_refused_with_the_reason(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    nb = tmp_path / "mine.ipynb"
    nb.write_text("{}")
    (tmp_path / "01_vanilla_rnn.ipynb").symlink_to(
        REPO / "solutions/01_vanilla_rnn/01_vanilla_rnn.ipynb"
    )
    cases = {
        "missing.ipynb": "no such file",
        "01_vanilla_rnn.ipynb": "is a link",
        "mine.ipynb": "cannot tell which lesson",
    }
    for name, why in cases.items():
        proc = subprocess.run(
            [sys.executable, "-m", "autograder", "check", str(tmp_path / name)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO,
        )
        assert proc.returncode == 2 and why in proc.stderr, (name, proc.stderr)
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(nb), "--assignment", "99_nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 2 and "no lesson '99_nope'" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_vanilla_rnn.ipynb", "mine.ipynb"]


def test_check_my_work_in_a_kernel_prints_the_verdict(tmp_path):
    from nbclient import NotebookClient

    lesson = LESSONS[0]
    fx.write(_solution(lesson), tmp_path / f"{lesson}.ipynb")
    nb = nbformat.read(tmp_path / f"{lesson}.ipynb", as_version=4)
    env_before = os.environ.pop(GRADING_ENV, None)
    try:
        NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if env_before is not None:
            os.environ[GRADING_ENV] = env_before
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "passed  rnn_step_backward  3/3" in text and "score: 10 / 10" in text, text
