"""The course's nbgrader setup: release, collect, autograde, feedback and grades.

``autograder.checks`` holds the grading engine that the lessons' hidden tests call.
"""
