"""The "Check my work" cell of every lesson, on the kernel's side (stdlib only; bound into the
grading sandbox, where it does nothing).

:func:`check_my_work` runs ``python -m autograder check`` (:mod:`autograder.selfcheck`) in a
fresh process, so nothing the kernel holds (rebound names, a patched NumPy) reaches the
verdict, and shows its printout in the notebook.
"""

import os
import subprocess
import sys
from pathlib import Path

# Set in every grading kernel (autograder.grading.child.set_environment): a "Check my work"
# call that runs there would grade the notebook again, inside its own grading.
GRADING_ENV = "RNN_GRADING"


def check_my_work(notebook: str) -> None:
    """The "Check my work" cell: ``python -m autograder check notebook`` in a fresh process
    (so nothing this kernel holds affects the verdict), its printout shown in the notebook.
    Checks the file as last saved: save the notebook first."""
    if os.environ.get(GRADING_ENV) == "1":
        print("Check my work: skipped while the notebook is being graded")
        return
    path = Path(notebook).absolute()
    if not path.is_file():
        print(f"Check my work: {path} not found; run this cell from the notebook's folder")
        return
    print(f"Checking {path.name} as last saved (save the notebook first) ...", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    print(proc.stdout.rstrip())
    if proc.returncode not in (0, 1):
        print(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "check failed")
