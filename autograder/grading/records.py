"""What crosses processes while a class is graded, made here and nowhere else.

A :class:`Task` goes from the main process to a pool process (pickled by the pool), a
:class:`Result` comes back from the grading child (as JSON in a file: the child's folder is
writable by the student's kernel, so nothing read back from it may run code) and then from
the pool process to the main process (pickled). A :class:`CellResult` is one test cell's
share of a result. All are plain dataclasses of strings, numbers, lists and dicts: picklable
and free of open files, so they can travel to other machines' workers as they are.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from autograder.limits import Limits

# {assignment: {notebook: {grade_id: max points}}}, as in the class gradebook
Structure = dict[str, dict[str, dict[str, float]]]
# Between a failing cell's own message and the judge's diagnosis, in the gradebook's message
# and in the feedback (which shows the part after it as the diagnosis).
DIAGNOSIS = "\nGrader's diagnosis: "


@dataclass(frozen=True)
class Task:
    """One submission to grade, and everything the grading child needs to grade it.

    Paths are strings on the grading machine: ``submitted`` (the student's folder),
    ``template`` (the gradebook template of this run), ``source`` (the instructor's source
    notebooks) and ``workdir`` (the run's scratch folder).
    """

    student: str
    assignment: str
    submitted: str
    files_hash: str
    timestamp: str | None
    notes: list[str]  # collect's notes on the hand-in, shown first among the reasons
    template: str
    structure: Structure
    test_sources: dict[str, str]  # {grade_id: released source of its locked cells}
    demo_sources: list[str]  # normalized sources of this assignment's demo cells
    source: str
    workdir: str
    limits: Limits
    judged: bool  # whether the judge re-grades this assignment after nbgrader
    sandbox: dict | None = None  # autograder.sandbox.Policy as a dict; None: no sandbox
    keep: tuple[str, ...] = ()  # globs of the files, besides the notebooks, kept when graded

    @property
    def expected(self) -> dict[str, dict[str, float]]:
        """``{notebook: {grade_id: max points}}`` of the task's assignment."""
        return self.structure[self.assignment]


@dataclass
class CellResult:
    """One test cell's grade. ``score`` is what counts: ``auto_score`` unless overridden."""

    notebook: str
    max_score: float
    auto_score: float = 0.0
    passed: bool = False
    message: str | None = None
    needs_manual_grade: bool | None = None  # set once nbgrader's grade is read
    judge: dict | None = None  # the judge's verdict {"passed", "message"}, when it ran
    override: bool = False  # nbgrader passed it, the judge did not: 0 points
    score: float = 0.0

    def add_diagnosis(self, diagnosis: str | None) -> None:
        """Put the judge's ``diagnosis`` after the cell's own message (once)."""
        if not diagnosis or diagnosis in (self.message or ""):
            return
        self.message = f"{self.message}{DIAGNOSIS}{diagnosis}" if self.message else diagnosis

    def settle(self) -> None:
        """Fix ``score`` from the auto score and the judge's override."""
        self.score = 0.0 if self.override else self.auto_score

    def to_dict(self) -> dict:
        """The gradebook's JSON form: the optional keys only when they were set."""
        out = asdict(self)
        for key in ("needs_manual_grade", "judge"):
            if out[key] is None:
                del out[key]
        if not self.override:
            del out["override"]
        return out


@dataclass
class Result:
    """One graded submission. ``status``: ``graded``, ``error`` (nbgrader could not grade
    it: 0 points), ``killed`` (a limit stopped the grading child) or ``infra`` (the
    grader's own fault: not stored, graded again by the next run)."""

    student: str
    assignment: str
    files_hash: str
    timestamp: str | None
    status: str
    cells: dict[str, CellResult]
    comments: list = field(default_factory=list)  # [notebook, cell, auto comment]
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds in nbgrader, the judge
    workdir: str = ""  # the grading child's folder, holding its autograded notebooks

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    def to_dict(self) -> dict:
        """The form :func:`autograder.gradebook.store_result` stores."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["cells"] = {gid: c.to_dict() for gid, c in self.cells.items()}
        out.update(score=self.score, max_score=self.max_score)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Result:
        """Parse what :meth:`to_json` wrote; unknown keys are refused, not kept."""
        data = json.loads(text)
        data.pop("score"), data.pop("max_score")
        cells = {gid: CellResult(**c) for gid, c in data.pop("cells").items()}
        return cls(cells=cells, **data)


def new_cells(task: Task, message: str | None = None) -> dict[str, CellResult]:
    """A zero-point :class:`CellResult` for every test cell of the task's assignment."""
    return {
        gid: CellResult(notebook=nb, max_score=mx, message=message)
        for nb, gids in task.expected.items()
        for gid, mx in gids.items()
    }


def new_result(task: Task, status: str, cells: dict[str, CellResult], **kw) -> Result:
    """The :class:`Result` of ``task``, with the submission's identity copied from it."""
    return Result(
        student=task.student,
        assignment=task.assignment,
        files_hash=task.files_hash,
        timestamp=task.timestamp,
        status=status,
        cells=cells,
        **kw,
    )


def failure(task: Task, why: str, seconds: float, status: str = "killed") -> Result:
    """The result of a submission whose grading child did not finish: 0 points, ``why``."""
    cells = new_cells(task, message=why)
    for cell in cells.values():
        cell.settle()
    reasons = [f"{why}: 0 points for this assignment"]
    return new_result(task, status, cells, reasons=reasons, seconds=seconds)
