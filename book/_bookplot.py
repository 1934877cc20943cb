"""Figure style of the course book, imported by the chapters' hidden code cells, and
:func:`glue`, which hands a computed number to the page's prose.

Only presentation lives here: every number drawn or quoted comes from ``rnnref``.
"""

import numbers

import matplotlib as mpl
import myst_nb
from matplotlib_inline.backend_inline import set_matplotlib_formats

BLUE, ORANGE, GREEN, RED, PURPLE, GREY = (
    "#3a6ea5",
    "#d9822b",
    "#2a9d8f",
    "#c0392b",
    "#7b5ea7",
    "#7f7f7f",
)

set_matplotlib_formats("svg")
mpl.rcParams.update(
    {
        "figure.figsize": (7.0, 3.4),
        "figure.dpi": 100,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "legend.frameon": False,
        "font.size": 10,
        "axes.prop_cycle": mpl.cycler(color=[BLUE, ORANGE, GREEN, RED, PURPLE, GREY]),
        "svg.hashsalt": "rnn-from-scratch",
    }
)


def glue(name, value):
    """Store ``value`` (a number) under ``name`` for the page's ``{glue:text}`name:fmt``` roles.

    NumPy scalars become Python ``int``/``float`` first: the role formats the stored repr, and
    ``np.float64(0.5)`` is not a literal it can read. A key the prose uses but no cell glued
    is a build warning, hence an error (the book builds with ``-W``).
    """
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real):
        value = float(value)
    else:
        raise TypeError(f"glue({name!r}, ...) takes a number, not {type(value).__name__}")
    myst_nb.glue(name, value, display=False)
