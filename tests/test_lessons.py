"""Every lesson: the release is what nbgrader makes from the source, nothing leaks, the source
scores full marks and the untouched release scores 0 under ``nbgrader autograde``, the MyST
twin is in sync, and (nbval) every source notebook runs top to bottom.

Parametrized over the lesson folders of ``solutions/``: a new lesson is covered by adding it.
One throwaway course directory (``RNN_COURSE_DIR``) and gradebook serve the whole session;
all notebooks of all lessons are autograded in one nbgrader process.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from lesson_tools import GRADING_ENV, LESSONS, REPO, SOLUTIONS, nbgrader, scores

from autograder.grading.nbconfig import AUTOGRADE_PREPROCESSORS
from autograder.release import IGNORE, release
from autograder.sources import lesson_names, md_to_notebook, normalise

LESSON_NAMES = lesson_names()
# nbgrader's own autograde steps: the course's, with nbgrader's executor for the limited one
assert AUTOGRADE_PREPROCESSORS[0] == "autograder.limited_execute.LimitedExecute"
NBGRADER_AUTOGRADE = ["nbgrader.preprocessors.Execute", *AUTOGRADE_PREPROCESSORS[1:]]


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """A throwaway course: the release generated from solutions/, and two submissions per
    lesson (the source notebook, and the release unmodified) autograded in one process."""
    root = tmp_path_factory.mktemp("course")
    release(dest=root / "release", db_url=f"sqlite:///{root / 'gradebook.db'}")
    for name in LESSON_NAMES:
        for student, src in (("solution", SOLUTIONS), ("release", root / "release")):
            target = root / "submitted" / student / name
            target.mkdir(parents=True)
            shutil.copy(src / name / f"{name}.ipynb", target / f"{name}.ipynb")
    # generous kernel start-up and cell limits (on a busy 2-core machine a kernel can take over
    # a minute to answer); TCP kernels: IPC kernels were seen never answering in this setup
    args = [
        "autograde",
        "*",
        "--force",
        "--KernelManager.transport=tcp",
        "--Execute.startup_timeout=300",
        "--Execute.timeout=300",
        f"--CourseDirectory.ignore={list(IGNORE)!r}",  # autograde copies the source folder's files
        # the course's config refuses plain nbgrader autograde (student code would run
        # unsandboxed); these notebooks are the course's own: nbgrader's own steps, as a
        # reference independent of the grader
        f"--Autograde.autograde_preprocessors={NBGRADER_AUTOGRADE!r}",
    ]
    proc = nbgrader(args, root, check=False)
    return {"root": root, "proc": proc, "scores": scores(root / "gradebook.db")}


def _source(name):
    return nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4)


def _points(nb):
    return sum(
        float(c.metadata["nbgrader"].get("points", 0))
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    )


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.parametrize("name", LESSON_NAMES)
def test_release_is_generated_from_source(name, course):
    committed = sorted(p.name for p in (LESSONS / name).iterdir())
    generated = sorted(p.name for p in (course["root"] / "release" / name).iterdir())
    assert committed == generated, "run `python -m autograder release`"
    for fname in generated:
        a = json.loads((LESSONS / name / fname).read_text())
        b = json.loads((course["root"] / "release" / name / fname).read_text())
        assert a == b, f"lessons/{name}/{fname} is stale: run `python -m autograder release`"


@pytest.mark.parametrize("name", LESSON_NAMES)
def test_no_solution_or_hidden_test_leaks(name):
    source = _source(name)
    secret = set()
    for cell in source.cells:
        for block in re.findall(
            r"### BEGIN (?:SOLUTION|HIDDEN TESTS)(.*?)### END", cell.source, flags=re.S
        ):
            secret |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 20}
    assert secret, "the source notebook has no solution or hidden test blocks"
    # lines that the source also shows outside those blocks (e.g. a loop header in a given
    # helper) are not secrets
    public = re.sub(
        r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1",
        "",
        "\n".join(c.source for c in source.cells),
        flags=re.S,
    )
    secret = {s for s in secret if s not in public}
    for path in (LESSONS / name).rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for marker in (
                "BEGIN SOLUTION",
                "BEGIN HIDDEN TESTS",
                "autograder.checks",
                "autograder.judge",
            ):
                assert marker not in text, f"{path}: {marker}"
            code = (
                "\n".join(
                    json.loads(json.dumps(c.source))
                    for c in nbformat.read(path, as_version=4).cells
                )
                if path.suffix == ".ipynb"
                else text
            )
            leaked = [s for s in secret if s in code]
            assert not leaked, f"{path} contains solution lines: {leaked[:3]}"
    release_nb = nbformat.read(LESSONS / name / f"{name}.ipynb", as_version=4)
    stubs = [c for c in release_nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs and all("raise NotImplementedError" in c.source for c in stubs)
    assert _points(release_nb) == _points(source) > 0


@pytest.mark.parametrize("name", LESSON_NAMES)
def test_markdown_twin_in_sync(name):
    md = SOLUTIONS / name / f"{name}.md"
    nb = _source(name)
    assert normalise(md_to_notebook(md)) == normalise(nb), (
        f"{name}.ipynb and {name}.md differ: edit the .md, then run "
        f"`python -m autograder release` (or `python -m autograder.sources solutions/{name}`)"
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "strip the outputs"


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.parametrize("name", LESSON_NAMES)
def test_source_scores_full_marks(name, course):
    assert ("solution", name) in course["scores"], course["proc"].stderr[-3000:]
    score, max_score = course["scores"][("solution", name)]
    assert max_score == _points(_source(name)) > 0
    assert score == max_score, course["proc"].stderr[-3000:]


@pytest.mark.slow
@pytest.mark.nbgrader
@pytest.mark.parametrize("name", LESSON_NAMES)
def test_unmodified_release_scores_zero(name, course):
    assert course["proc"].returncode == 0, course["proc"].stderr[-3000:]
    score, max_score = course["scores"][("release", name)]
    assert score == 0 and max_score > 0


@pytest.mark.slow
def test_source_notebooks_run_under_nbval():
    """nbval (lax: every cell must run; outputs are not compared) over all source notebooks."""
    paths = [str(SOLUTIONS / n / f"{n}.ipynb") for n in LESSON_NAMES]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(REPO),
            *paths,
        ],
        cwd=REPO,
        # the "Check my work" cells print a line instead of grading (tests/test_selfcheck.py
        # runs one in a kernel)
        env={**os.environ, GRADING_ENV: "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
