"""nbgrader configuration of the course. Run nbgrader with this file's folder as the current
directory, or use ``python -m autograder``, which does that for you.

Sources live in ``solutions/`` and the release in ``lessons/`` at the repository root; class
data (submitted/, autograded/, feedback/, gradebook.db) in ``autograder/course/`` (or
``$RNN_COURSE_DIR``), which git ignores.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from autograder.paths import COURSE, LESSONS, SOLUTIONS  # noqa: E402

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "rnn-from-scratch"
c.CourseDirectory.root = str(COURSE)
c.CourseDirectory.source_directory = str(SOLUTIONS)
c.CourseDirectory.release_directory = str(LESSONS)
c.CourseDirectory.db_url = f"sqlite:///{COURSE / 'gradebook.db'}"
