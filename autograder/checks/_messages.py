"""Failure messages that every recurrent lesson shares, so they read the same everywhere.

A lesson module adds its own (gate orders, derivatives) next to these.
"""

MEAN = (
    "mean instead of sum over the batch: the loss is a sum of per-example terms, so parameter "
    "gradients are sums over the N rows (e.g. `da.sum(axis=0)`, not `.mean`), with no 1/N."
)
BPTT_REVERSED = "time order reversed: backpropagation through time runs from t = T-1 down to 0."

# Matched against the text of an exception the student's code raised.
GENERIC_ERRORS = [
    ("shapes", "mismatched shapes: check which side each weight multiplies from (x @ Wx)."),
    (
        "not defined",
        "a name is not defined: does your function use a variable from another cell "
        "or an earlier step?",
    ),
]


def sequence_forward_mistakes(variant):
    """The time-loop mistakes of a sequence forward, for ``variant(k, **how) -> outputs``
    where ``how`` is one of ``reverse=True``, ``zero_h0=True``, ``use_h0_always=True``."""
    return [
        (
            "time order reversed: step t = 0 comes first and feeds step 1.",
            lambda **k: variant(k, reverse=True),
        ),
        (
            "h0 is ignored: the first step's previous state is h0 (zeros only when h0 is).",
            lambda **k: variant(k, zero_h0=True),
        ),
        (
            "the previous state is never updated: step t must use h[:, t-1], not h0.",
            lambda **k: variant(k, use_h0_always=True),
        ),
    ]
