"""Hidden checks of lesson 05 (GRU), the documents' form, gate order **z, r, n**::

    z = sigmoid(x_t Wx_z + h_{t-1} Wh_z + b_z)
    r = sigmoid(x_t Wx_r + h_{t-1} Wh_r + b_r)
    n = tanh(x_t Wx_n + (r * h_{t-1}) Wh_n + b_n)      reset before the recurrent product
    h_t = (1 - z) * h_{t-1} + z * n

Each spec names the reference (:mod:`rnnref.gru`, ``variant="documents"``), the seeded input
shapes (N = 1, T = 1 and D != H included) and the known mistakes as ``(message, knobs)``
tables of the wrong variants of :mod:`autograder.checks.variants.gru` (computed in the
judge); the PyTorch/cuDNN conventions (z swapped, reset after the product, r, z, n layout)
are among them.
"""

from autograder.checks._inputs import (
    SEQ_ARGS,
    SEQ_CASES,
    STEP_ARGS,
    STEP_CASES,
    seq_inputs_for,
    step_inputs_for,
)
from autograder.checks._messages import (
    BPTT_REVERSED,
    GENERIC_ERRORS,
    MEAN,
    OVERWRITTEN,
    RECURRENT,
    SEQUENCE_FORWARD,
)
from autograder.checks._references import backward_reference, forward_reference
from autograder.checks.spec import Spec, gradients, mistakes, unpacked
from autograder.checks.variants import gru as wrong
from rnnref import gru

BLOCKED = ("rnnref.gru",)  # the answer key of this lesson; unavailable inside the worker

STEP_GRADS, SEQ_GRADS = gradients(STEP_ARGS), gradients(SEQ_ARGS)
step_inputs = step_inputs_for(3)
seq_inputs = seq_inputs_for(3)


# ----- messages -----------------------------------------------------------------------------
PYTORCH_FORM = (
    "this is PyTorch's/cuDNN's GRU (reset applied after the recurrent product, and "
    "h = (1 - z) * n + z * prev_h). The course grades the documents' form: "
    "n = tanh(x @ Wx_n + (r * prev_h) @ Wh_n + b_n) and next_h = (1 - z) * prev_h + z * n."
)
SWAP_Z = (
    "(1 - z) and z are swapped (PyTorch's and Keras's convention, where z = 1 keeps the old "
    "state): in the documents' form next_h = (1 - z) * prev_h + z * n, so z = 1 takes the "
    "candidate."
)
RESET_AFTER = (
    "the reset gate is applied after the recurrent product, r * (prev_h @ Wh_n) (the "
    "PyTorch/cuDNN form): in the documents' form it is applied before, (r * prev_h) @ Wh_n."
)
GATE_ORDER = (
    "gate order r, z, n (PyTorch's weight layout): the course fuses the gates as z, r, n, so "
    "z comes from the first block of columns (a[:, :H]) and r from the second (a[:, H:2H])."
)
SHAPE_ERRORS = [
    (
        "matmul",
        "a product has mismatched shapes: batch-major arrays multiply weights from the right, "
        "x @ Wx with Wx (D, 3H), prev_h @ Wh with Wh (H, 3H); the candidate uses only the last "
        "block, (r * prev_h) @ Wh[:, 2*H:].",
    ),
    (
        "broadcast",
        "shapes do not broadcast: each gate is one block of H columns, e.g. a[:, :H] for z, "
        "a[:, H:2*H] for r; check that you split with H = prev_h.shape[1].",
    ),
    *GENERIC_ERRORS,
]


FORWARD_MISTAKES = [
    (PYTORCH_FORM, dict(swap_z=True, reset="after")),
    (SWAP_Z, dict(swap_z=True)),
    (RESET_AFTER, dict(reset="after")),
    (GATE_ORDER, dict(order="rzn")),
    (
        "the reset gate is missing: the candidate reads r * prev_h, "
        "n = tanh(x @ Wx_n + (r * prev_h) @ Wh_n + b_n).",
        dict(reset="none"),
    ),
]
STEP_BACKWARD_MISTAKES = [
    (
        "the direct path is missing from dprev_h: next_h = (1 - z) * prev_h + ..., so "
        "dprev_h gets dnext_h * (1 - z) besides the paths through the gates and r.",
        dict(direct=False),
    ),
    (
        "the path through the candidate is missing from dprev_h: n reads r * prev_h, "
        "so dprev_h gets (da_n @ Wh_n.T) * r, da_n being the gradient of n's "
        "pre-activation.",
        dict(through_reset=False),
    ),
    (
        "the paths through the gates are missing from dprev_h: z and r read prev_h, "
        "so dprev_h gets [da_z, da_r] @ Wh[:, :2H].T (the gates' pre-activation "
        "gradients).",
        dict(through_gates=False),
    ),
    (
        "dWh's candidate block uses prev_h: the candidate multiplies Wh_n by "
        "r * prev_h, so dWh[:, 2H:] = (r * prev_h).T @ da_n.",
        dict(dWhn_input="h"),
    ),
    (
        "the sign of dz is flipped: next_h = prev_h + z * (n - prev_h), so "
        "dz = dnext_h * (n - prev_h) (the PyTorch convention gives the opposite sign).",
        dict(dz_sign=-1.0),
    ),
    (MEAN, dict(mean=True)),
]
BACKWARD_MISTAKES = [
    (RECURRENT + ".", dict(carry=False)),
    ("the direct path is missing from dprev_h: it gets dnext_h * (1 - z).", dict(direct=False)),
    (
        "the path through the candidate is missing from dprev_h: it gets (da_n @ Wh_n.T) * r.",
        dict(through_reset=False),
    ),
    (
        "the paths through the gates are missing from dprev_h: it gets "
        "[da_z, da_r] @ Wh[:, :2H].T.",
        dict(through_gates=False),
    ),
    (
        "dWh's candidate block uses prev_h: it is (r * prev_h).T @ da_n, summed over time.",
        dict(dWhn_input="h"),
    ),
    (
        "the sign of dz is flipped: dz = dnext_h * (n - prev_h) in the documents' form.",
        dict(dz_sign=-1.0),
    ),
    (MEAN, dict(mean=True)),
    (BPTT_REVERSED, dict(forward_time=True)),
    (OVERWRITTEN, dict(accumulate=False)),
]


SPECS = {
    "gru_step_forward": Spec(
        name="gru_step_forward",
        args=STEP_ARGS,
        outputs=("next_h", None),
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=forward_reference(gru.gru_step_forward, STEP_ARGS, ("next_h", None)),
        mistakes=mistakes(unpacked(wrong.step_forward), FORWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "gru_step_backward": Spec(
        name="gru_step_backward",
        args=("dnext_h", "cache"),
        outputs=STEP_GRADS,
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=backward_reference(
            gru.gru_step_forward, gru.gru_step_backward, STEP_ARGS, ("dnext_h",), STEP_GRADS
        ),
        forward="gru_step_forward",
        forward_args=STEP_ARGS,
        upstream="dnext_h",
        mistakes=mistakes(unpacked(wrong.step_backward), STEP_BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "gru_forward": Spec(
        name="gru_forward",
        args=SEQ_ARGS,
        outputs=("h", None),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=forward_reference(gru.gru_forward, SEQ_ARGS, ("h", None)),
        mistakes=mistakes(unpacked(wrong.forward), FORWARD_MISTAKES + SEQUENCE_FORWARD),
        errors=SHAPE_ERRORS,
    ),
    "gru_backward": Spec(
        name="gru_backward",
        args=("dh", "cache"),
        outputs=SEQ_GRADS,
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=backward_reference(
            gru.gru_forward, gru.gru_backward, SEQ_ARGS, ("dh",), SEQ_GRADS
        ),
        forward="gru_forward",
        forward_args=SEQ_ARGS,
        upstream="dh",
        mistakes=mistakes(unpacked(wrong.backward), BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
}
