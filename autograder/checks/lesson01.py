"""Hidden checks of lesson 01 (vanilla RNN): ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``.

Each spec names the reference, the seeded input shapes (N = 1, T = 1 and D != H included),
and the known mistakes as ``(message, knobs)`` tables of the wrong variants of
:mod:`autograder.checks.variants.rnn` (computed in the judge).
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
from autograder.checks.variants import rnn as wrong
from rnnref import rnn

BLOCKED = ("rnnref.rnn",)  # the answer key of this lesson; unavailable inside the worker

STEP_GRADS, SEQ_GRADS = gradients(STEP_ARGS), gradients(SEQ_ARGS)
step_inputs = step_inputs_for(1)
seq_inputs = seq_inputs_for(1)


WRONG_DERIV = (
    "derivative of the wrong quantity: tanh'(a) = 1 - tanh(a)^2 = 1 - next_h^2, so use the "
    "OUTPUT next_h from the cache, not 1 - a^2 of the pre-activation a."
)
TANH_TWICE = "tanh applied twice: the derivative is 1 - next_h**2, not 1 - tanh(next_h)**2."
NO_DERIV = "the tanh derivative is missing: multiply the upstream gradient by (1 - next_h**2)."
SHAPE_ERRORS = [
    (
        "name 't' is not defined",
        "the widely copied snippet `next_h = np.tanh(t)` uses a name that is never defined: "
        "compute the pre-activation first, `a = x @ Wx + prev_h @ Wh + b`, then `np.tanh(a)`.",
    ),
    (
        "matmul",
        "a product has mismatched shapes: batch-major arrays multiply weights from the "
        "right, x @ Wx with Wx (D, H) and prev_h @ Wh with Wh (H, H); not Wx @ x.",
    ),
    *GENERIC_ERRORS,
]

STEP_FORWARD_MISTAKES = [
    ("the tanh is missing: next_h = tanh(x @ Wx + prev_h @ Wh + b).", dict(activation="none")),
    ("the recurrent term prev_h @ Wh is missing.", dict(recurrent=False)),
    ("the bias b is missing.", dict(bias=False)),
    ("sigmoid instead of tanh.", dict(activation="sigmoid")),
]
STEP_BACKWARD_MISTAKES = [
    (MEAN, dict(mean=True)),
    (WRONG_DERIV, dict(deriv="a")),
    (TANH_TWICE, dict(deriv="tanh_h")),
    (NO_DERIV, dict(deriv="none")),
]
BACKWARD_MISTAKES = [
    (RECURRENT + " before the tanh derivative.", dict(recurrent=False)),
    (MEAN, dict(mean=True)),
    (WRONG_DERIV, dict(deriv="a")),
    (BPTT_REVERSED, dict(forward_time=True)),
    (OVERWRITTEN, dict(accumulate=False)),
]

SPECS = {
    "rnn_step_forward": Spec(
        name="rnn_step_forward",
        args=STEP_ARGS,
        outputs=("next_h", None),
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=forward_reference(rnn.rnn_step_forward, STEP_ARGS, ("next_h", None)),
        mistakes=mistakes(unpacked(wrong.step_forward), STEP_FORWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "rnn_step_backward": Spec(
        name="rnn_step_backward",
        args=("dnext_h", "cache"),
        outputs=STEP_GRADS,
        make_inputs=step_inputs,
        cases=STEP_CASES,
        reference=backward_reference(
            rnn.rnn_step_forward, rnn.rnn_step_backward, STEP_ARGS, ("dnext_h",), STEP_GRADS
        ),
        forward="rnn_step_forward",
        forward_args=STEP_ARGS,
        upstream="dnext_h",
        mistakes=mistakes(unpacked(wrong.step_backward), STEP_BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
    "rnn_forward": Spec(
        name="rnn_forward",
        args=SEQ_ARGS,
        outputs=("h", None),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=forward_reference(rnn.rnn_forward, SEQ_ARGS, ("h", None)),
        mistakes=mistakes(unpacked(wrong.forward), SEQUENCE_FORWARD),
        errors=SHAPE_ERRORS,
    ),
    "rnn_backward": Spec(
        name="rnn_backward",
        args=("dh", "cache"),
        outputs=SEQ_GRADS,
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=backward_reference(
            rnn.rnn_forward, rnn.rnn_backward, SEQ_ARGS, ("dh",), SEQ_GRADS
        ),
        forward="rnn_forward",
        forward_args=SEQ_ARGS,
        upstream="dh",
        mistakes=mistakes(unpacked(wrong.backward), BACKWARD_MISTAKES),
        errors=SHAPE_ERRORS,
    ),
}
