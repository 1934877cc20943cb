"""nbgrader configuration of the course, for running plain ``nbgrader`` commands (formgrader,
``nbgrader release_feedback``, the exchange) from this folder.

``python -m autograder`` does not read this file: it builds the same settings in code (see
``autograder/settings.py``) and adds what nbgrader lacks (parallel grading, per-notebook time
and memory limits, the out-of-kernel judge, feedback without hidden tests).

Sources live in ``solutions/`` and the release in ``lessons/`` at the repository root; class
data (submitted/, autograded/, feedback/, gradebook.db) in ``autograder/course/`` (or
``$RNN_COURSE_DIR``), which git ignores. ``$RNN_GRADEBOOK_URL`` selects another gradebook
(any SQLAlchemy URL, e.g. ``postgresql://grader@db.example.org/rnn``).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from autograder.grading.limits import Limits  # noqa: E402
from autograder.grading.nbconfig import nbgrader_config  # noqa: E402
from autograder.settings import Settings  # noqa: E402

settings = Settings.resolve()
c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

# The same configuration and limits as ``python -m autograder autograde`` (except memory,
# which needs its child process): a cell time limit, a per-notebook time budget, output
# capped while it runs.
c.merge(
    nbgrader_config(
        settings.course,
        settings.source,
        settings.db_url,
        release=settings.release,
        limits=Limits(),
    )
)
# Kernels talk over IPC sockets, not TCP ports: no port race between parallel graders.
c.KernelManager.transport = "ipc"
# nbgrader's own generate_feedback shows hidden tests and tracebacks: strip them (``python -m
# autograder feedback`` does the same and adds the judge's messages and the reasons).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "autograder.feedback.HideHiddenTests",
]
# Every HTML page nbgrader renders from a submission (generate_feedback, formgrader's views)
# gets the student's markup made inert first: see autograder/sanitize.py.
c.HTMLExporter.preprocessors = ["autograder.sanitize.SanitizeNotebook"]
