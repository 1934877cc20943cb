"""nbgrader configuration of the course, for running plain ``nbgrader`` commands from this
folder: ``release_assignment``, ``collect`` and the rest of the exchange, ``generate_feedback``,
``release_feedback``, formgrader. Grading itself is ``python -m autograder autograde``:
``nbgrader autograde`` refuses to run (see :mod:`autograder.nbgrader_refuse`).

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
from autograder.grading.nbconfig import nbgrader_config  # noqa: E402
from autograder.settings import Settings  # noqa: E402

settings = Settings.resolve()
c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.merge(
    nbgrader_config(settings.course, settings.source, settings.db_url, release=settings.release)
)
# Plain ``nbgrader autograde`` (and formgrader's autograde button) would run student code as
# you, outside the sandbox: it stops with a message naming ``python -m autograder autograde``.
c.Autograde.autograde_preprocessors = ["autograder.nbgrader_refuse.RefuseAutograde"]
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
