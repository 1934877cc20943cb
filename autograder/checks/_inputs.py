"""Seeded inputs of the hidden checks of the cells with one state, ``h`` (lessons 01 and 05),
and the argument names every recurrent lesson shares.

``G`` is the number of gates fused in the weight matrices (1 for the vanilla RNN, 3 for the
GRU); the draws come in the same order whatever ``G``, so a case's inputs depend only on its
seed and shape.
"""

STEP_CASES = [dict(N=3, D=4, H=5), dict(N=1, D=2, H=3), dict(N=2, D=6, H=4), dict(N=4, D=3, H=3)]
SEQ_CASES = [dict(N=2, T=3, D=4, H=5), dict(N=1, T=1, D=3, H=2), dict(N=3, T=5, D=2, H=4)]


def fused_params(rng, D, H, G):
    return {
        "Wx": 0.5 * rng.standard_normal((D, G * H)),
        "Wh": 0.4 * rng.standard_normal((H, G * H)),
        "b": 0.2 * rng.standard_normal(G * H),
    }


def step_inputs_for(G):
    """``make_inputs`` of a step function: ``x, prev_h``, the parameters, ``dnext_h``."""

    def step_inputs(rng, N, D, H):
        return {
            "x": rng.standard_normal((N, D)),
            "prev_h": 0.6 * rng.standard_normal((N, H)),
            **fused_params(rng, D, H, G),
            "dnext_h": rng.standard_normal((N, H)),
        }

    return step_inputs


def seq_inputs_for(G):
    """``make_inputs`` of a sequence function: ``x, h0``, the parameters, ``dh``."""

    def seq_inputs(rng, N, T, D, H):
        return {
            "x": rng.standard_normal((N, T, D)),
            "h0": 0.6 * rng.standard_normal((N, H)),
            **fused_params(rng, D, H, G),
            "dh": rng.standard_normal((N, T, H)),
        }

    return seq_inputs


STEP_ARGS = ("x", "prev_h", "Wx", "Wh", "b")  # a step's inputs, cells with one state
SEQ_ARGS = ("x", "h0", "Wx", "Wh", "b")  # a sequence's inputs, every cell
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # blocks of H columns fused in Wx, Wh, b
