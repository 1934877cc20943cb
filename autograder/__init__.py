"""The course's nbgrader setup: release, collect, autograde, feedback and grades.

``autograder.judge`` is the grading engine that the lessons' hidden tests call (``check``);
``autograder.checks`` holds what it checks, lesson by lesson, as data.
"""

import sys

if "ipykernel" not in sys.modules:  # the grader's own processes, never a student's kernel
    # nbgrader imports jupyter_server, whose event schemas make jsonschema import
    # rfc3987_syntax when it is installed; that module builds a parser at import time (2.2 s
    # in every grader process) for IRI format checks that grading never uses. Seen as
    # missing, it is skipped by jsonschema, which then does not check that one format.
    sys.modules.setdefault("rfc3987_syntax", None)
