"""Hidden checks of lesson 04 (LSTM), gate order **i, f, o, g** in the fused matrices::

    a = x_t Wx + h_{t-1} Wh + b;  i, f, o = sigmoid(blocks 0, 1, 2);  g = tanh(block 3)
    c_t = f * c_{t-1} + i * g;    h_t = o * tanh(c_t);    lstm_forward starts from c0 = 0

Each spec names the reference (:mod:`rnnref.lstm`), the seeded input shapes (N = 1, T = 1 and
D != H included) and the known mistakes as ``(message, knobs)`` tables of the wrong variants
of :mod:`autograder.checks.variants.lstm` (computed in the judge).

The numerical check of ``lstm_step_backward`` differentiates both outputs of the student's
forward, ``<next_h, dnext_h> + <next_c, dnext_c>``, with nonzero upstream gradients for both.
"""

from autograder.checks._inputs import SEQ_ARGS, SEQ_CASES
from autograder.checks._messages import (
    BPTT_REVERSED,
    GENERIC_ERRORS,
    MEAN,
    OVERWRITTEN,
    RECURRENT,
    TIME_REVERSED,
)
from autograder.checks._references import backward_reference, forward_reference
from autograder.checks.spec import Spec, gradients, mistakes, unpacked
from autograder.checks.variants import lstm as wrong
from rnnref import lstm

BLOCKED = ("rnnref.lstm",)  # the answer key of this lesson; unavailable inside the worker

STEP_ARGS = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")
STEP_GRADS, SEQ_GRADS = gradients(STEP_ARGS), gradients(SEQ_ARGS)


def _params(rng, D, H):
    b = 0.2 * rng.standard_normal(4 * H)
    b[H : 2 * H] += 0.5  # a forget gate leaning open, as after the usual initialisation
    return {
        "Wx": 0.5 * rng.standard_normal((D, 4 * H)),
        "Wh": 0.4 * rng.standard_normal((H, 4 * H)),
        "b": b,
    }


def step_inputs(rng, N, D, H, dnext_c=1.0):
    """``dnext_c`` scales the upstream gradient of the cell (0 in the gradient-checked cases)."""
    return {
        "x": rng.standard_normal((N, D)),
        "prev_h": 0.6 * rng.standard_normal((N, H)),
        "prev_c": rng.standard_normal((N, H)),
        **_params(rng, D, H),
        "dnext_h": rng.standard_normal((N, H)),
        "dnext_c": dnext_c * rng.standard_normal((N, H)),
    }


def seq_inputs(rng, N, T, D, H):
    return {
        "x": rng.standard_normal((N, T, D)),
        "h0": 0.6 * rng.standard_normal((N, H)),
        **_params(rng, D, H),
        "dh": rng.standard_normal((N, T, H)),
    }


STEP_CASES = [
    dict(N=3, D=4, H=5),
    dict(N=1, D=2, H=3),
    dict(N=2, D=6, H=4),
    dict(N=4, D=3, H=3),
    dict(N=1, D=3, H=2),
]


# ----- messages -----------------------------------------------------------------------------
GATE_ORDER = {
    "ifgo": "gate order i, f, g, o (PyTorch's and Keras's layout): this course fuses the gates "
    "as i, f, o, g, so the output gate is block 2 (a[:, 2H:3H]) and the candidate g block 3 "
    "(a[:, 3H:]).",
    "fiog": "gate order f, i, o, g: the input gate is block 0 (a[:, :H]) and the forget gate "
    "block 1 (a[:, H:2H]); the course's order is i, f, o, g.",
    "igfo": "gate order i, g, f, o (TensorFlow 1's LSTMCell layout i, j, f, o): the course's "
    "order is i, f, o, g: f = sigmoid(a[:, H:2H]), o = sigmoid(a[:, 2H:3H]), g = tanh(a[:, 3H:]).",
}
SQUASHED = (
    "the cell update is squashed, next_c = sigmoid(f * prev_c + i * g), as in a widely copied "
    "formula: that form is wrong. The cell update is the plain sum next_c = f * prev_c + i * g; "
    "only the read-out is squashed, next_h = o * tanh(next_c)."
)
DA_ORDER = (
    "the gate gradients are concatenated in the wrong order: da must be "
    "[di, df, do, dg] (through their activations), the same i, f, o, g layout as the forward."
)
C_NOT_TANH = (
    "derivative of the wrong quantity: next_h = o * tanh(next_c), so do = dnext_h * tanh(next_c) "
    "and the cell gets dnext_h * o * (1 - tanh(next_c)**2); use tanh(next_c), not next_c."
)
SHAPE_ERRORS = [
    (
        "matmul",
        "a product has mismatched shapes: batch-major arrays multiply weights from the right, "
        "x @ Wx with Wx (D, 4H) and prev_h @ Wh with Wh (H, 4H); the four gates are the four "
        "column blocks of width H of a = x @ Wx + prev_h @ Wh + b.",
    ),
    (
        "broadcast",
        "shapes do not broadcast: each gate is one block of H columns of a (N, 4H), e.g. "
        "a[:, :H], a[:, H:2*H], ...; check that you split with H = prev_h.shape[1].",
    ),
    *GENERIC_ERRORS,
]


GATE_ORDER_MISTAKES = [(message, dict(order=order)) for order, message in GATE_ORDER.items()]
STEP_FORWARD_MISTAKES = GATE_ORDER_MISTAKES + [
    (SQUASHED, dict(cell="squashed")),
    (
        "the tanh is missing from the read-out: next_h = o * tanh(next_c), not o * next_c.",
        dict(read="c"),
    ),
    (
        "next_h reads the OLD cell: next_h = o * tanh(next_c), with the cell just updated.",
        dict(read="prev_c"),
    ),
    (
        "the forget path is missing: next_c = f * prev_c + i * g keeps part of the old cell.",
        dict(cell="no_forget"),
    ),
    (
        "the candidate g uses a sigmoid: g = tanh(a[:, 3H:]); only i, f and o are sigmoids.",
        dict(cell="sigmoid_g"),
    ),
]
STEP_BACKWARD_MISTAKES = [
    (
        "dnext_c is ignored: the cell's total gradient is dc = dnext_c + "
        "dnext_h * o * (1 - tanh(next_c)**2); the cell reaches the loss through the "
        "next step as well as through next_h.",
        dict(use_dnext_c=False),
    ),
    (
        "the path through next_h is missing from the cell's gradient: dc = dnext_c + "
        "dnext_h * o * (1 - tanh(next_c)**2).",
        dict(h_to_c=False),
    ),
    (
        "dprev_c misses the forget gate: next_c = f * prev_c + ..., so "
        "dprev_c = dc * f (the additive highway).",
        dict(prev_c_grad="dc"),
    ),
    (
        "dprev_c uses only dnext_c: it is dc * f with dc the TOTAL cell gradient "
        "(dnext_c plus the part through next_h).",
        dict(prev_c_grad="dnext_c_f"),
    ),
    (C_NOT_TANH, dict(deriv="c")),
    (DA_ORDER, dict(da_order="ifgo")),
    (MEAN, dict(mean=True)),
]
FORWARD_MISTAKES = GATE_ORDER_MISTAKES + [
    (SQUASHED, dict(cell="squashed")),
    (
        "the tanh is missing from the read-out: h_t = o * tanh(c_t), not o * c_t.",
        dict(read="c"),
    ),
    (TIME_REVERSED, dict(reverse=True)),
    ("h0 is ignored: the first step's previous hidden state is h0.", dict(zero_h0=True)),
    (
        "the cell starts from h0: lstm_forward starts from c0 = 0 (zeros of shape "
        "(N, H)), the hidden state from h0.",
        dict(c0_is_h0=True),
    ),
    (
        "the cell state is not carried from step to step: pass next_c of step t as "
        "prev_c of step t+1.",
        dict(cell="no_forget"),
    ),
]
BACKWARD_MISTAKES = [
    (
        "the cell gradient from the next step is dropped: carry dprev_c of step t+1 "
        "into step t as its dnext_c (it starts at zero after the last step).",
        dict(carry_c=False),
    ),
    (RECURRENT + ".", dict(carry_h=False)),
    ("dprev_c misses the forget gate: dprev_c = dc * f.", dict(prev_c_grad="dc")),
    (C_NOT_TANH, dict(deriv="c")),
    (MEAN, dict(mean=True)),
    (BPTT_REVERSED, dict(forward_time=True)),
    (OVERWRITTEN, dict(accumulate=False)),
]


SPECS = {
    "lstm_step_forward": Spec(
        name="lstm_step_forward",
        args=STEP_ARGS,
        outputs=("next_h", "next_c", None),
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=forward_reference(lstm.lstm_step_forward, STEP_ARGS, ("next_h", "next_c", None)),
        mistakes=mistakes(unpacked(wrong.step_forward), STEP_FORWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "lstm_step_backward": Spec(
        name="lstm_step_backward",
        args=("dnext_h", "dnext_c", "cache"),
        outputs=STEP_GRADS,
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=backward_reference(
            lstm.lstm_step_forward,
            lstm.lstm_step_backward,
            STEP_ARGS,
            ("dnext_h", "dnext_c"),
            STEP_GRADS,
        ),
        forward="lstm_step_forward",
        forward_args=STEP_ARGS,
        forward_out=(0, 1),
        upstream=("dnext_h", "dnext_c"),
        mistakes=mistakes(unpacked(wrong.step_backward), STEP_BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "lstm_forward": Spec(
        name="lstm_forward",
        args=SEQ_ARGS,
        outputs=("h", None),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=forward_reference(lstm.lstm_forward, SEQ_ARGS, ("h", None)),
        mistakes=mistakes(unpacked(wrong.forward), FORWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "lstm_backward": Spec(
        name="lstm_backward",
        args=("dh", "cache"),
        outputs=SEQ_GRADS,
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=backward_reference(
            lstm.lstm_forward, lstm.lstm_backward, SEQ_ARGS, ("dh",), SEQ_GRADS
        ),
        forward="lstm_forward",
        forward_args=SEQ_ARGS,
        upstream="dh",
        mistakes=mistakes(unpacked(wrong.backward), BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
}
