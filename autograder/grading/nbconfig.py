"""The course's nbgrader configuration, built in one function for every command that calls
nbgrader in code (the release's generate step, the grading child's autograde), and the
generate step itself for a source folder the course's release does not make."""

from __future__ import annotations

from pathlib import Path

from autograder.grading.kernel import kernel_config
from autograder.limits import Limits
from autograder.settings import COURSE_ID, Settings

# nbgrader copies an assignment's other files along with its notebooks (into the release, and
# as "master versions" into every autograded folder): its default ignore list, plus the
# lesson's MyST source, which holds every answer in plain text
IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md")
AUTOGRADE_PREPROCESSORS = [
    "autograder.limited_execute.LimitedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]


def nbgrader_config(
    root: Path,
    source: Path | str,
    db_url: str,
    *,
    release: Path | None = None,
    limits: Limits | None = None,
    skip_sources: list[str] | None = None,
    runtime: Path | None = None,
):
    """nbgrader's ``Config`` for the course folder ``root``.

    With ``release``: where ``generate_assignment`` writes. With ``limits``: the autograde
    set-up (the limited executor, its time and output limits, the demo cells it leaves out,
    an immediate kernel kill after the last cell) and the kernel's launch in ``runtime``.
    """
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = str(source)
    c.CourseDirectory.db_url = db_url
    c.CourseDirectory.ignore = list(IGNORE)
    if release is not None:
        c.CourseDirectory.release_directory = str(release)
    if limits is not None:
        c.Autograde.autograde_preprocessors = list(AUTOGRADE_PREPROCESSORS)
        c.Execute.timeout = limits.cell_timeout
        c.LimitedExecute.timeout = limits.cell_timeout
        c.LimitedExecute.notebook_timeout = limits.notebook_timeout
        c.LimitedExecute.max_output_chars = limits.max_output_chars
        c.LimitedExecute.skip_sources = list(skip_sources or [])
        # the kernel is killed once the last cell has run (a polite shutdown waits ~0.4 s)
        c.LimitedExecute.shutdown_kernel = "immediate"
    if runtime is not None:
        kernel_config(c, runtime)
    return c


def generate_assignments(settings: Settings, assignments: list[str], dest: Path) -> None:
    """nbgrader's generate_assignment for ``assignments`` into ``dest`` (gradebook updated);
    SystemExit with nbgrader's error for one that fails."""
    from nbgrader.apps import NbGraderAPI

    config = nbgrader_config(settings.course, settings.source, settings.db_url, release=dest)
    api = NbGraderAPI(config=config)
    for a in assignments:
        out = api.generate_assignment(a, force=True, create=True)
        if not out.get("success"):
            raise SystemExit(f"release of {a} failed:\n{out.get('error') or out.get('log')}")
