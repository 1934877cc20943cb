"""The layers of the import graph (contracts in ``pyproject.toml``, checked by import-linter):
the command line over the grading pipeline over the judge over the sandbox over the checks
over the reference; ``rnnref`` imports nothing of ``autograder``; what a student's kernel
imports reaches no gradebook."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_course_keeps_its_layers():
    proc = _lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


def test_an_import_against_the_layers_is_caught(tmp_path):
    """A copy of the code with two planted imports: the checks reaching up into the grading
    pipeline, and the kernel's helper reaching the gradebook."""
    skip = shutil.ignore_patterns("__pycache__", "course", "*.npz", "*.pt", "data")
    for package in ("autograder", "rnnref"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=skip)
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with open(tmp_path / "autograder" / "checks" / "spec.py", "a") as f:
        f.write("\nfrom autograder.grading import run  # noqa\n")
    with open(tmp_path / "autograder" / "mywork.py", "a") as f:
        f.write("\nfrom autograder import gradebook  # noqa\n")
    proc = _lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 kept, 2 broken" in proc.stdout, proc.stdout
    assert "autograder.checks.spec -> autograder.grading.run" in proc.stdout
    assert "autograder.mywork -> autograder.gradebook" in proc.stdout
