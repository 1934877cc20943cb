"""Failure messages that several lessons share, so they read the same everywhere.

A lesson module adds its own (gate orders, derivatives) next to these. Tables of
``(message, knobs)`` rows are mistakes as data (see :func:`autograder.checks.spec.mistakes`).
"""

MEAN = (
    "mean instead of sum over the batch: the loss is a sum of per-example terms, so parameter "
    "gradients are sums over the N rows (e.g. `da.sum(axis=0)`, not `.mean`), with no 1/N."
)
BPTT_REVERSED = "time order reversed: backpropagation through time runs from t = T-1 down to 0."
TIME_REVERSED = "time order reversed: step t = 0 comes first and feeds step 1."
OVERWRITTEN = (
    "the weight gradients are overwritten at each step: accumulate them over time "
    "(dWx += ..., dWh += ..., db += ...)."
)
# lesson 01 ends it with where the sum goes ("before the tanh derivative."), the gated cells
# with a full stop
RECURRENT = (
    "missing recurrent gradient: at each step add the gradient flowing back from step t+1 "
    "(dprev_h) to dh[:, t]"
)
NOT_DEFINED = "a name is not defined: does your function use a variable of another cell?"
CELL_NAME = (
    "cell is one of 'rnn', 'lstm', 'gru': look the layer functions up in CELLS[cell] "
    "and keep cell in the cache for the backward pass."
)

# Matched against the text of an exception the student's code raised.
GENERIC_ERRORS = [
    ("shapes", "mismatched shapes: check which side each weight multiplies from (x @ Wx)."),
    (
        "not defined",
        "a name is not defined: does your function use a variable from another cell "
        "or an earlier step?",
    ),
]

# The time-loop mistakes of a sequence forward whose variant takes these knobs.
SEQUENCE_FORWARD = [
    (TIME_REVERSED, dict(reverse=True)),
    (
        "h0 is ignored: the first step's previous state is h0 (zeros only when h0 is).",
        dict(zero_h0=True),
    ),
    (
        "the previous state is never updated: step t must use h[:, t-1], not h0.",
        dict(use_h0_always=True),
    ),
]
