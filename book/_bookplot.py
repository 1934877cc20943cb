"""Figure style of the course book, imported by the chapters' hidden code cells.

Only presentation lives here: every number drawn comes from ``rnnref``.
"""

import matplotlib as mpl
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
