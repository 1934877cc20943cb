"""Which ``demo`` cells grading leaves out (``autograder.checks.demo.skipped``)."""

import json

import pytest
from lesson_tools import SOLUTIONS

from autograder.checks import demo_sources
from autograder.checks.demo import cell_names, skipped
from autograder.sources import lesson_names

SETUP = "import numpy as np\nrng = np.random.default_rng(0)"
SOLUTION = "def f(x):\n    return np.tanh(x)"
DEMO_A = "xs = np.linspace(-3, 3, 7)\nys = f(xs)"
DEMO_B = "print(ys.max())"
DEMOS = [DEMO_A, DEMO_B]


def test_unchanged_demos_that_nothing_reads_are_left_out():
    assert skipped([SETUP, SOLUTION, DEMO_A, DEMO_B], DEMOS) == {2, 3}


def test_no_demo_sources_means_everything_runs():
    assert skipped([SETUP, SOLUTION, DEMO_A, DEMO_B], []) == set()


def test_a_student_cell_reading_a_demo_pulls_it_in():
    plot = "import matplotlib.pyplot as plt\nplt.plot(xs, ys)"
    assert skipped([SETUP, SOLUTION, DEMO_A, DEMO_B, plot], DEMOS) == {3}


def test_a_changed_demo_runs_and_pulls_in_what_it_reads():
    changed = DEMO_B + "\nprint(ys.min())"
    assert skipped([SETUP, SOLUTION, DEMO_A, changed], DEMOS) == set()


def test_whitespace_changes_do_not_count_as_changes():
    assert skipped([SETUP, SOLUTION, DEMO_A + "   \n\n", DEMO_B], DEMOS) == {2, 3}


def test_a_function_reading_a_demo_global_pulls_it_in():
    # called later by the tests or the judge, so the demo before it must have run
    uses_global = "def g(x):\n    return x * ys.sum()"
    assert skipped([SETUP, DEMO_A, uses_global, DEMO_B], DEMOS) == {3}


def test_a_cell_that_rebinds_a_name_first_does_not_need_the_demo():
    rebinds = "ys = np.zeros(3)\nprint(ys)"
    assert skipped([SETUP, SOLUTION, DEMO_A, rebinds], DEMOS) == {2}


def test_a_conditional_binding_does_not_hide_a_read():
    maybe = "if rng.random() > 2:\n    ys = 0\nprint(ys)"
    assert skipped([SETUP, SOLUTION, DEMO_A, maybe], DEMOS) == set()


@pytest.mark.parametrize(
    "opaque",
    [
        "print(globals()['ys'])",
        "print(eval('ys'))",
        "get_ipython().user_ns['ys']",
        "def broken(:\n    pass",
    ],
)
def test_cells_whose_reads_cannot_be_known_need_every_demo_before_them(opaque):
    assert skipped([SETUP, SOLUTION, DEMO_A, DEMO_B, opaque], DEMOS) == set()


def test_names_of_loops_comprehensions_and_closures():
    source = (
        "total = 0\n"
        "for k in range(3):\n"
        "    total += k\n"
        "squares = [j * j for j in range(k)]\n"
        "def outer(a):\n"
        "    def inner():\n"
        "        return a + offset\n"
        "    return inner\n"
    )
    binds, reads, kills = cell_names(source)
    assert {"total", "k", "squares", "outer"} <= binds
    # inside the loop k is bound; after it, only maybe (an empty range); j is the
    # comprehension's own; a is inner's closure; offset is a global the closure reads
    assert reads == {"range", "k", "offset"}
    assert kills == {"total", "squares", "outer"}


@pytest.mark.parametrize("magic", ["%time ys = f(xs)", "!ls", "%%capture\nprint(ys)"])
def test_magics_are_opaque(magic):
    assert cell_names(magic)[1] is None
    assert skipped([SETUP, SOLUTION, DEMO_A, DEMO_B, magic], DEMOS) == set()


@pytest.mark.parametrize("name", lesson_names())
def test_every_tagged_demo_of_a_lesson_source_is_left_out(name):
    """Tagging keeps paying off: a demo that a graded or provided cell reads would run."""
    path = SOLUTIONS / name / f"{name}.ipynb"
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    tagged = {i for i, c in enumerate(cells) if "demo" in c["metadata"].get("tags", [])}
    assert tagged, f"{name} has no demo cells"
    assert skipped(["".join(c["source"]) for c in cells], demo_sources(path)) == tagged
