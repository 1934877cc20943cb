"""Generate the student release (``lessons/``) from the lesson sources (``solutions/``).

``release()`` first builds each lesson's nbgrader notebook from its MyST source
(:func:`autograder.sources.build`: ``NN_topic.md`` -> ``NN_topic.ipynb``), then runs
nbgrader's ``generate_assignment`` (one process for all lessons, the course config of
``autograder/nbgrader_config.py``), forcing overwrites, into ``dest``; the assignments are
recorded in the gradebook (``db_url``, default the course's). It then normalises every
released notebook so that the same sources always give the same bytes: outputs and execution
counts cleared, the jupytext pairing metadata dropped (students get the notebook only; the
``.md`` sources never leave ``solutions/``), JSON written by nbformat (sorted keys, one-space
indent). The command line exposes it as
``python -m autograder release``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.grading.nbconfig import IGNORE
from autograder.paths import COURSE, LESSONS, REPO, SOLUTIONS
from autograder.sources import build, lesson_names


def normalise_release(path):
    """Rewrite one released notebook in its reproducible form."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def release(assignments=None, dest=LESSONS, db_url=None):
    """Build the notebooks of ``assignments`` (default: every lesson) from their ``.md`` and
    generate them into ``dest``, replacing what is there.

    Returns the list of released notebook paths. Raises :class:`autograder.sources.SourceError`
    when a source is missing or its notebook was edited by hand, RuntimeError with nbgrader's
    output when generation fails.
    """
    names = list(assignments) if assignments else lesson_names()
    for name in names:
        build(SOLUTIONS / name)
    dest = Path(dest).resolve()
    # nbgrader changes into the course root before anything else, even with another db_url
    COURSE.mkdir(parents=True, exist_ok=True)
    # nbgrader takes one assignment name or a glob: several names are generated with "*" into
    # a scratch folder, and only the requested lessons replace their folders in ``dest``, so
    # releasing some lessons never touches the others.
    pattern = names[0] if len(names) == 1 else "*"
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        _generate(pattern, Path(scratch), db_url)
        out = []
        for name in sorted(names):
            src = Path(scratch) / name
            if not src.is_dir():
                raise RuntimeError(f"nbgrader generated nothing for {name!r}")
            shutil.rmtree(dest / name, ignore_errors=True)
            shutil.copytree(src, dest / name)
            for nb_path in sorted((dest / name).glob("*.ipynb")):
                normalise_release(nb_path)
                out.append(nb_path)
    return out


def _generate(pattern, dest, db_url):
    args = [
        sys.executable,
        "-m",
        "nbgrader",
        "generate_assignment",
        pattern,
        "--force",
        f"--CourseDirectory.release_directory={dest}",
        f"--CourseDirectory.ignore={list(IGNORE)!r}",
    ]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    # nbgrader runs `alembic` from PATH to create the gradebook: use this environment's
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    proc = subprocess.run(args, cwd=REPO / "autograder", env=env, capture_output=True, text=True)
    if proc.returncode != 0 or "ERROR" in proc.stderr:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{proc.stderr[-4000:]}")


if __name__ == "__main__":
    for p in release(sys.argv[1:] or None):
        print("released", p.relative_to(REPO) if p.is_relative_to(REPO) else p)
