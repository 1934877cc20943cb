"""Plain ``nbgrader autograde`` in this course: refused, with the command to use instead.

nbgrader's own autograde runs every student's notebook as the user who starts it, with no
sandbox, memory limit or out-of-kernel judge. The course's configuration
(``autograder/nbgrader_config.py``) puts this preprocessor first, so ``nbgrader autograde``
and formgrader's autograde button stop before any student code runs.
"""

from nbgrader.preprocessors import NbGraderPreprocessor

MESSAGE = (
    "nbgrader autograde is not used in this course: it would run student code as you, "
    "outside the sandbox and without the judge. Grade with `python -m autograder autograde` "
    "(it stores the scores in this gradebook: formgrader, nbgrader generate_feedback and "
    "release_feedback then work as usual)."
)


class AutogradeRefused(RuntimeError):
    pass


class RefuseAutograde(NbGraderPreprocessor):  # nbgrader's base: enabled by default
    def preprocess(self, nb, resources):
        raise AutogradeRefused(MESSAGE)
