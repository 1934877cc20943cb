"""Hidden checks of lesson 03 (gradient clipping): ``clip_by_value``, ``clip_by_global_norm``
and ``clip_norm_range``.

Dictionaries in and out: the specs send the three gradient arrays ``Wx, Wh, b`` (and the
thresholds as 0-d arrays) through the adapters of :mod:`autograder.checks.adapters.clipping`,
which also refuse results that share the input dict or arrays. (Arrays modified in place are
caught by the engine's snapshot.)

The keys are the same for every case (``Wx``, ``Wh``, ``b``), so outputs are named
``clipped['Wx']`` etc.; shapes, scales and thresholds vary.
"""

import numpy as np

from autograder.checks.adapters.clipping import KEYS, global_adapter, range_adapter, value_adapter
from autograder.checks.spec import Spec
from rnnref import clipping

BLOCKED = ("rnnref.clipping",)  # the answer key of this lesson; unavailable inside the worker


# ----- inputs -------------------------------------------------------------------------------
def _grads(rng, D, H, scale):
    shapes = {"Wx": (D, H), "Wh": (H, H), "b": (H,)}
    return {k: scale * rng.standard_normal(shapes[k]) for k in KEYS}


def value_inputs(rng, D, H, scale, c, edge=None):
    grads = _grads(rng, D, H, scale)
    if edge == "entries at +-c":
        for g in grads.values():
            g.flat[0], g.flat[-1] = c, -c
    return {**grads, "clip_value": np.array(c, dtype=np.float64)}


def global_inputs(rng, D, H, scale, max_norm=None, edge=None):
    grads = _grads(rng, D, H, scale)
    if edge == "max_norm equals the norm":
        max_norm = clipping.global_norm(grads)
    return {**grads, "max_norm": np.array(max_norm, dtype=np.float64)}


def range_inputs(rng, shape, scale, low, high, edge=None):
    g = scale * rng.standard_normal(shape)
    if edge in ("norm equals low", "norm equals high"):
        target = low if edge == "norm equals low" else high
        g = g * (target / np.sqrt(np.sum(g * g)))
    return {"g": g, "low": np.array(float(low)), "high": np.array(float(high))}


VALUE_CASES = [
    dict(D=4, H=5, scale=2.0, c=1.0),
    dict(D=1, H=1, scale=3.0, c=0.5),
    dict(D=3, H=2, scale=0.1, c=5.0, edge="nothing to clip"),
    dict(D=2, H=3, scale=1.0, c=0.3, edge="entries at +-c"),
    dict(D=3, H=3, scale=1.0, c=0.0, edge="clip_value 0"),
]
GLOBAL_CASES = [
    dict(D=4, H=5, scale=1.0, max_norm=1.0),
    dict(D=3, H=2, scale=0.05, max_norm=10.0, edge="below the threshold"),
    dict(D=1, H=1, scale=50.0, max_norm=2.5),
    dict(D=3, H=4, scale=1.0, edge="max_norm equals the norm"),
    dict(D=2, H=3, scale=0.0, max_norm=1.0, edge="all-zero gradients"),
    dict(D=2, H=2, scale=0.0, max_norm=0.0, edge="all-zero gradients and max_norm 0"),
    dict(D=3, H=3, scale=1.0, max_norm=0.0, edge="max_norm 0"),
]
RANGE_CASES = [
    dict(shape=(4, 5), scale=1.0, low=0.5, high=2.0),
    dict(shape=(7,), scale=1e-3, low=0.5, high=2.0, edge="below low: scaled UP"),
    dict(shape=(3, 2, 2), scale=0.3, low=0.5, high=2.0, edge="inside the range"),
    dict(shape=(6,), scale=0.0, low=0.5, high=2.0, edge="all-zero g: no direction, stays zero"),
    dict(shape=(2, 3), scale=1.0, low=1.5, high=1.5, edge="low == high"),
    dict(shape=(5,), scale=1.0, low=0.5, high=2.0, edge="norm equals low"),
    dict(shape=(3, 3), scale=1.0, low=0.5, high=2.0, edge="norm equals high"),
    dict(shape=(1,), scale=5.0, low=0.0, high=1.0, edge="low 0"),
]


# ----- references (judge side) -------------------------------------------------------------
def _named(d):
    return {f"clipped[{k!r}]": np.asarray(d[k]) for k in KEYS}


VALUE_OUT = tuple(_named(dict.fromkeys(KEYS, 0)))


def _grads_of(kw):
    return {k: kw[k] for k in KEYS}


def ref_value(**kw):
    return _named(clipping.clip_by_value(_grads_of(kw), float(kw["clip_value"])))


def ref_global(**kw):
    clipped, total = clipping.clip_by_global_norm(_grads_of(kw), float(kw["max_norm"]))
    return {**_named(clipped), "total_norm": np.asarray(total, dtype=np.float64)}


def ref_range(g, low, high, **_):
    return {"clipped": clipping.clip_norm_range(g, float(low), float(high))}


# ----- known mistakes -----------------------------------------------------------------------
def _norm(a):
    return float(np.sqrt(np.sum(a * a)))


def _global_variant(
    kw, per_array=False, always=False, after=False, squared=False, sum_of_norms=False
):
    grads, max_norm = _grads_of(kw), float(kw["max_norm"])
    total = (
        sum(_norm(g) for g in grads.values())
        if sum_of_norms
        else float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    )
    clipped = {}
    for k, g in grads.items():
        n = _norm(g) if per_array else total
        clipped[k] = g * (max_norm / n) if (always or n > max_norm) and n > 0 else g.copy()
    if after:
        total = float(np.sqrt(sum(np.sum(g * g) for g in clipped.values())))
    if squared:
        total = total**2
    return {**_named(clipped), "total_norm": np.asarray(total)}


def _range_variant(kw, no_up=False, up_to_high=False, by_value=False):
    g, low, high = kw["g"], float(kw["low"]), float(kw["high"])
    if by_value:
        return {"clipped": np.clip(g, low, high)}
    n = _norm(g)
    if n == 0:
        return {"clipped": g.copy()}
    if n > high:
        return {"clipped": g * (high / n)}
    if n < low and not no_up:
        return {"clipped": g * ((high if up_to_high else low) / n)}
    return {"clipped": g.copy()}


SPECS = {
    "clip_by_value": Spec(
        name="clip_by_value",
        args=(*KEYS, "clip_value"),
        adapter=value_adapter,
        outputs=VALUE_OUT,
        make_inputs=value_inputs,
        cases=VALUE_CASES,
        reference=ref_value,
        mistakes=[
            (
                "only the upper bound is applied: clip every entry into [-clip_value, "
                "clip_value], e.g. np.clip(g, -c, c).",
                lambda **kw: _named(
                    {k: np.minimum(g, kw["clip_value"]) for k, g in _grads_of(kw).items()}
                ),
            ),
            (
                "clipped into [0, clip_value]: negative entries must stay negative, down to "
                "-clip_value.",
                lambda **kw: _named(
                    {k: np.clip(g, 0, kw["clip_value"]) for k, g in _grads_of(kw).items()}
                ),
            ),
            (
                "each array was rescaled by its norm: clip_by_value clips the ENTRIES one by "
                "one, np.clip(g, -c, c).",
                lambda **kw: _named(
                    {
                        k: g * (kw["clip_value"] / _norm(g)) if _norm(g) > kw["clip_value"] else g
                        for k, g in _grads_of(kw).items()
                    }
                ),
            ),
        ],
    ),
    "clip_by_global_norm": Spec(
        name="clip_by_global_norm",
        args=(*KEYS, "max_norm"),
        adapter=global_adapter,
        outputs=(*VALUE_OUT, "total_norm"),
        make_inputs=global_inputs,
        cases=GLOBAL_CASES,
        reference=ref_global,
        mistakes=[
            (
                "each array was clipped by its OWN norm: the global rule treats all arrays as "
                "one vector, computes one norm sqrt(sum of all squares) and scales every "
                "array by the same factor max_norm / total_norm.",
                lambda **kw: _global_variant(kw, per_array=True),
            ),
            (
                "the gradients were rescaled although their norm is below max_norm: scale only "
                "when total_norm > max_norm (norm clipping caps, it never scales up).",
                lambda **kw: _global_variant(kw, always=True),
            ),
            (
                "total_norm is the norm AFTER clipping: return the global norm of the input "
                "gradients (what you log to see how often clipping acts).",
                lambda **kw: _global_variant(kw, after=True),
            ),
            (
                "total_norm is squared: take the square root of the sum of squares.",
                lambda **kw: _global_variant(kw, squared=True),
            ),
            (
                "total_norm is the sum of the arrays' norms: the global norm is "
                "sqrt(sum over arrays of the sum of squares), one norm of one long vector.",
                lambda **kw: _global_variant(kw, sum_of_norms=True),
            ),
        ],
        errors=[
            (
                "ZeroDivisionError",
                "0 / 0 for all-zero gradients: only rescale when total_norm > max_norm "
                "(strictly); a zero gradient is then returned as a zero copy.",
            ),
        ],
    ),
    "clip_norm_range": Spec(
        name="clip_norm_range",
        args=("g", "low", "high"),
        adapter=range_adapter,
        outputs=("clipped",),
        make_inputs=range_inputs,
        cases=RANGE_CASES,
        reference=ref_range,
        mistakes=[
            (
                "a gradient with norm below low was left alone: the two-sided rule scales it "
                "UP to norm low (g * low / ||g||).",
                lambda **kw: _range_variant(kw, no_up=True),
            ),
            (
                "a gradient with norm below low was scaled to norm high: below the range it "
                "goes to the LOWER end, g * low / ||g||.",
                lambda **kw: _range_variant(kw, up_to_high=True),
            ),
            (
                "the entries were clipped into [low, high]: the rule rescales the whole "
                "array so that its NORM lies in [low, high], keeping its direction.",
                lambda **kw: _range_variant(kw, by_value=True),
            ),
        ],
        errors=[
            (
                "ZeroDivisionError",
                "0 / 0 for an all-zero g: it has no direction to rescale, return a zero copy.",
            ),
        ],
    ),
}
