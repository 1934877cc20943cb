"""The one dispatch table over ``cell`` names, shared by :mod:`rnnref.stacked` and
:mod:`rnnref.bidirectional`: each entry is ``(forward, backward, G)`` with G fused gates."""

from rnnref import _validate as v
from rnnref.gru import gru_backward, gru_forward
from rnnref.lstm import lstm_backward, lstm_forward
from rnnref.rnn import rnn_backward, rnn_forward

CELLS = {
    "rnn": (rnn_forward, rnn_backward, 1),
    "lstm": (lstm_forward, lstm_backward, 4),
    "gru": (gru_forward, gru_backward, 3),
}


def cell_functions(cell):
    """``(forward, backward, G)`` of ``cell`` (``"rnn"``, ``"lstm"`` or ``"gru"``)."""
    return CELLS[v.cell_name(cell, tuple(CELLS))]


def check_layer_params(name, params):
    """Check that ``params`` is a ``(Wx, Wh, b)`` tuple (or list) and return it as a tuple."""
    if not isinstance(params, tuple | list) or len(params) != 3:
        raise ValueError(
            f"{name} must be a (Wx, Wh, b) tuple, got {type(params).__name__}"
            + (f" of length {len(params)}" if isinstance(params, tuple | list) else "")
        )
    return tuple(params)
