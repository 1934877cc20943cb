"""Where the course's folders are. Everything else imports these instead of guessing."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"  # nbgrader source notebooks (instructor)
LESSONS = REPO / "lessons"  # student release, generated from SOLUTIONS
# Class data (submissions, autograded copies, feedback, the gradebook) never goes into git.
COURSE = Path(os.environ.get("RNN_COURSE_DIR", REPO / "autograder" / "course")).resolve()
