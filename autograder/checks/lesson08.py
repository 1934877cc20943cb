"""Hidden checks of lesson 08 (capstone: surnames by country and first letter).

Graded functions (the student's signatures; the engine reaches them through the worker-side
adapters of :mod:`autograder.checks.adapters.capstone`, parameters as the arrays of ``PARAM_KEYS``):

* ``conditional_forward(params, x, countries) -> (scores, cache)``: equal to
  :func:`rnnref.charlm.conditional_forward` (one LSTM layer, no dropout);
* ``conditional_loss(params, x, y, mask, countries) -> (loss, grads)``: the loss and every
  gradient equal to :func:`rnnref.charlm.conditional_loss`, and the gradients also checked
  against central differences of the student's own loss;
* ``sample_name(params, vocab, country_id, first_letter, temperature, rng, max_len) -> str``:
  the sampling protocol of :func:`rnnref.charlm.sample_ids` (one ``rng.random()`` per drawn
  character through the inverse CDF, which is what ``rng.choice(V, p=p)`` does), so that
  names drawn with the same seed are identical; ``temperature=0`` is greedy decoding;
* ``trained_params() -> params``: the quality bar. The judge evaluates the student's trained
  parameters with the reference :meth:`rnnref.charlm.CharLM.nll_per_char` on the validation
  split, never with the student's code.

The quality bar is a :class:`~autograder.checks.spec.MetricSpec`: the worker hands over the
student's trained parameters and the judge scores them with the reference.
"""

import numpy as np

from autograder.checks._messages import NOT_DEFINED
from autograder.checks.adapters import capstone
from autograder.checks.adapters.capstone import BAD_CHAR, GRAD_NAMES, NO_CHAR, PARAM_KEYS
from autograder.checks.spec import MetricSpec, Spec
from rnnref import charlm, layers, lstm
from rnnref.names.vocab import END_ID, PAD_ID, START_ID, Vocab

BLOCKED = ("rnnref.charlm",)  # the answer key; rnnref.layers / lstm / gru are building blocks
# Graded functions whose answer in the answer key has another name (what a student bundle
# takes out, autograder.answers): the sampler is sample_name's answer.
ANSWER_NAMES = {"sample_name": "sample_ids"}

BAR = 2.6  # validation NLL per character (nats) the trained model must beat (untrained: ~4.5)

# ----- inputs --------------------------------------------------------------------------------


def _params(rng, V, K, Dc, Dk, H):
    d = Dc + Dk
    return {
        "E_char": rng.standard_normal((V, Dc)),
        "E_country": rng.standard_normal((K, Dk)),
        "H0_0": 0.5 * rng.standard_normal((K, H)),
        "Wx_0": rng.standard_normal((d, 4 * H)) / np.sqrt(d),
        "Wh_0": 0.8 * rng.standard_normal((H, 4 * H)) / np.sqrt(H),
        "b_0": 0.3 * rng.standard_normal(4 * H),
        "W_out": rng.standard_normal((H, V)) / np.sqrt(H),
        "b_out": 0.3 * rng.standard_normal(V),
    }


def seq_inputs(rng, N, T, V, K, Dc, Dk, H):
    """A padded batch as ``make_batch`` builds it: ``<s>`` then characters; targets shifted by
    one with ``</s>``; the longest row fills T; other rows padded."""
    lengths = rng.integers(0, T, size=N)  # characters per name; name n has lengths[n]+1 steps
    lengths[rng.integers(N)] = T - 1
    chars = rng.integers(3, V, size=(N, T))
    x = np.full((N, T), PAD_ID)
    y = np.full((N, T), PAD_ID)
    mask = np.zeros((N, T))
    for n, L in enumerate(lengths):
        x[n, 0] = START_ID
        x[n, 1 : L + 1] = chars[n, :L]
        y[n, :L] = chars[n, :L]
        y[n, L] = END_ID
        mask[n, : L + 1] = 1.0
    return {
        **_params(rng, V, K, Dc, Dk, H),
        "x": x.astype(np.float64),
        "y": y.astype(np.float64),
        "mask": mask,
        "countries": rng.integers(0, K, size=N).astype(np.float64),
        "dloss": np.array(1.0),
    }


SEQ_CASES = [
    dict(N=3, T=4, V=8, K=3, Dc=3, Dk=2, H=4),
    dict(N=1, T=1, V=6, K=2, Dc=2, Dk=3, H=3),
    dict(N=4, T=5, V=7, K=4, Dc=4, Dk=2, H=3),
    dict(N=2, T=6, V=9, K=2, Dc=2, Dk=2, H=5),
]

# a small alphabet: the letters a name may start with are upper case
CHARS = "ABCOaeilnorsu"


def sample_inputs(rng, K, H, temperature, max_len, samples=12):
    vocab = Vocab(CHARS)
    V = len(vocab)
    p = _params(rng, V, K, 4, 3, H)
    p["W_out"] = 2.0 * p["W_out"]
    p["b_out"] = p["b_out"] + np.where(np.arange(V) == END_ID, 1.0, 0.0)  # names end sometimes
    first = vocab.id("ABCO"[int(rng.integers(4))])
    return {
        **p,
        "chars": np.array([ord(c) for c in vocab.chars], dtype=np.float64),
        "country": np.array(float(rng.integers(K))),
        "first": np.array(float(first)),
        "temperature": np.array(float(temperature)),
        "seed": np.array(float(rng.integers(1000))),
        "max_len": np.array(float(max_len)),
        "samples": np.array(float(samples)),
    }


SAMPLE_CASES = [
    dict(K=3, H=5, temperature=1.0, max_len=12),
    dict(K=2, H=4, temperature=0.0, max_len=10),
    dict(K=4, H=6, temperature=0.5, max_len=8),
    dict(K=2, H=3, temperature=2.0, max_len=3),
    dict(K=3, H=4, temperature=1.0, max_len=1),
]

# ----- references (judge side) ------------------------------------------------------------------


def _unpack(k):
    return (
        {p: k[p] for p in PARAM_KEYS},
        k["x"].astype(np.int64),
        k["countries"].astype(np.int64),
    )


def ref_forward(**k):
    params, x, countries = _unpack(k)
    return {"scores": charlm.conditional_forward(params, x, countries)[0]}


def ref_loss(**k):
    params, x, countries = _unpack(k)
    loss, grads = charlm.conditional_loss(
        params, x, k["y"].astype(np.int64), k["mask"] != 0, countries
    )
    return {"loss": np.asarray(loss), **{"d" + p: grads[p] for p in PARAM_KEYS}}


def _rows(names_ids, max_len):
    rows = np.full((len(names_ids), max_len + 2), NO_CHAR)
    for s, ids in enumerate(names_ids):
        ids = ids[: max_len + 2]
        rows[s, : len(ids)] = ids
    return {
        "the first character of each name": rows[:, 0].copy(),
        "the length of each name": (rows != NO_CHAR).sum(axis=1).astype(np.float64),
        "the characters of each name": rows,
    }


def _sample_args(k):
    return (
        {p: k[p] for p in PARAM_KEYS},
        int(k["country"]),
        int(k["first"]),
        float(k["temperature"]),
        int(k["seed"]),
        int(k["max_len"]),
        int(k["samples"]),
    )


def ref_sample(**k):
    params, country, first, temperature, seed, max_len, samples = _sample_args(k)
    names = [
        charlm.sample_ids(
            params, country, first, temperature, np.random.default_rng(seed + s), max_len
        )
        for s in range(samples)
    ]
    return _rows(names, max_len)


# ----- known mistakes -------------------------------------------------------------------------


def _gate_perm(H, order):
    """Columns of a fused (.., 4H) matrix reordered: ``order`` lists the reference blocks."""
    return np.concatenate([np.arange(g * H, (g + 1) * H) for g in order])


def _forward_variant(
    params, x, countries, swap_concat=False, no_h0=False, country_first_only=False, gates=None
):
    """The model with one known mistake; returns ``scores, cache pieces`` via the layers."""
    N, T = x.shape
    e_char = params["E_char"][x]
    e_cty = np.repeat(params["E_country"][countries][:, None], T, axis=1)
    if country_first_only:
        e_cty = e_cty.copy()
        e_cty[:, 1:] = 0.0
    Wx, Wh, b = params["Wx_0"], params["Wh_0"], params["b_0"]
    H = Wh.shape[0]
    if gates is not None:
        cols = _gate_perm(H, gates)
        Wx, Wh, b = Wx[:, cols], Wh[:, cols], b[cols]
    inp = np.concatenate([e_cty, e_char] if swap_concat else [e_char, e_cty], axis=2)
    h0 = np.zeros((N, H)) if no_h0 else params["H0_0"][countries]
    h, _ = lstm.lstm_forward(inp, h0, Wx, Wh, b)
    scores, _ = layers.temporal_affine_forward(h, params["W_out"], params["b_out"])
    return scores


def _fwd_mistake(**kw):
    return lambda **k: {"scores": _forward_variant(*_unpack(k), **kw)}


def _loss_variant(k, how):
    params, x, countries = _unpack(k)
    y, mask = k["y"].astype(np.int64), k["mask"] != 0
    N = x.shape[0]
    if how == "no_mask":
        mask = np.ones_like(mask)
    loss, grads = charlm.conditional_loss(params, x, y, mask, countries)
    scale = {"per_char": N / max(mask.sum(), 1), "per_step": 1.0 / x.shape[1]}.get(how, 1.0)
    out = {"loss": np.asarray(loss * scale), **{"d" + p: grads[p] * scale for p in PARAM_KEYS}}
    if how == "no_dh0":
        out = {"dH0_0": np.zeros_like(params["H0_0"])}
    return out


def _sample_variant(k, how):
    """Names drawn with one known mistake, the reference's steps otherwise."""
    params, country, first, temperature, seed, max_len, samples = _sample_args(k)
    names = []
    for s in range(samples):
        rng = np.random.default_rng(seed + s)
        hs, cs = charlm.initial_state(params, country)
        if how != "no_start":
            _, hs, cs = charlm.step_scores(params, START_ID, country, hs, cs)
        out = [first]
        limit = max_len + 1 if how == "max_len_plus" else max_len
        while len(out) < limit:
            scores, hs, cs = charlm.step_scores(params, out[-1], country, hs, cs)
            scores[PAD_ID] = scores[START_ID] = -np.inf
            if how == "times_t":
                scaled = scores * temperature
            elif how == "no_temp":
                scaled = scores
            else:
                scaled = scores / temperature if temperature else scores
            if temperature == 0 or how == "greedy":
                token = int(np.argmax(scores))
            else:
                p = np.exp(scaled - scaled.max())
                cdf = np.cumsum(p)
                token = min(
                    int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1
                )
            if token == END_ID and how != "no_stop":
                break
            out.append(token)  # no_stop: the end marker joins the name, which goes on
        names.append(out)
    return _rows(names, max_len)


def _smp_mistake(how):
    return lambda **k: _sample_variant(k, how)


CONCAT = (
    "the step input is concatenated in the wrong order: it is [E_char[x_t], E_country[k]] "
    "(character embedding first), matching the rows of Wx_0."
)
NO_H0 = (
    "the initial state ignores the country: h_0 = H0_0[countries] (one learned row per "
    "country), c_0 = 0; not zeros."
)
FIRST_ONLY = (
    "the country is given at the first step only: the model is conditioned on it at EVERY "
    "step, the input of step t is [E_char[x_t], E_country[k]] for every t."
)
GATES = (
    "gate order: the fused LSTM columns are i, f, o, g (input, forget, output, candidate), "
    "as in lesson 04; use rnnref.lstm.lstm_forward or slice a[:, :H], a[:, H:2H], ..."
)
ERRORS = [
    (
        "KeyError",
        "params is the dict of the lesson (E_char, E_country, H0_0, Wx_0, Wh_0, b_0, W_out, "
        "b_out) and grads must have the same keys.",
    ),
    (
        "matmul",
        "a product has mismatched shapes: the LSTM input is (N, T, Dc + Dk), the character "
        "and the country embeddings concatenated on the last axis; Wx_0 is (Dc + Dk, 4H).",
    ),
    (
        "index",
        "ids index rows of an embedding (E_char[x], E_country[countries], H0_0[countries]); "
        "x is (N, T) and countries is (N,).",
    ),
    ("not defined", NOT_DEFINED),
]
SAMPLE_ERRORS = [
    (
        "probabilities do not sum to 1",
        "rng.choice needs p summing to 1: p = exp(s - s.max()); p /= p.sum() (in float64).",
    ),
    (
        "'NoneType' object has no attribute",
        "rng may be None: start with `rng = np.random.default_rng() if rng is None else rng`.",
    ),
    *ERRORS,
]

_PARAMS_ARGS = tuple(PARAM_KEYS)
_LOSS_ARGS = (*_PARAMS_ARGS, "x", "y", "mask", "countries")
_SAMPLE_ARGS = (
    *_PARAMS_ARGS,
    "chars",
    "country",
    "first",
    "temperature",
    "seed",
    "max_len",
    "samples",
)
_SAMPLE_OUTS = (
    "the first character of each name",
    "the length of each name",
    "the characters of each name",
)


def evaluate_trained(got):
    """The validation NLL per character of the student's parameters, by the reference."""
    from rnnref.names import countries, load_split, vocab

    V, K = len(vocab()), len(countries())
    p = {k: got[k] for k in PARAM_KEYS}
    Dc, Dk, H = p["E_char"].shape[-1], p["E_country"].shape[-1], p["Wh_0"].shape[0]
    want = {
        "E_char": (V, Dc),
        "E_country": (K, Dk),
        "H0_0": (K, H),
        "Wx_0": (Dc + Dk, 4 * H),
        "Wh_0": (H, 4 * H),
        "b_0": (4 * H,),
        "W_out": (H, V),
        "b_out": (V,),
    }
    bad = [f"{k} {p[k].shape} (expected {s})" for k, s in want.items() if p[k].shape != s]
    if bad:
        return False, (
            f"trained_params: the parameters do not fit the names data ({V} tokens, {K} "
            f"countries, one LSTM layer): {'; '.join(bad)}."
        )
    if not all(np.isfinite(v).all() for v in p.values()):
        return False, "trained_params: the parameters hold NaN or inf (did training diverge?)."
    config = charlm.ModelConfig(char_dim=Dc, country_dim=Dk, hidden=H, layers=1, dropout=0.0)
    nll = charlm.CharLM(p, vocab(), countries(), config).nll_per_char(load_split("val"))
    if not nll < BAR:
        return False, (
            f"trained_params: validation NLL {nll:.3f} nats per character (computed by the "
            f"grader with the reference model on your parameters); the bar is {BAR}. An "
            f"untrained model scores about {np.log(V):.2f}. Train longer (run the training "
            "cells again), or check that your gradients pass their tests."
        )
    return True, (
        f"trained_params: validation NLL {nll:.3f} nats per character (reference evaluation "
        f"of your parameters), below the bar {BAR}"
    )


SPECS = {
    "conditional_forward": Spec(
        name="conditional_forward",
        args=(*_PARAMS_ARGS, "x", "countries"),
        outputs=("scores", None),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=ref_forward,
        adapter=capstone.conditional_forward,
        mistakes=[
            (CONCAT, _fwd_mistake(swap_concat=True)),
            (NO_H0, _fwd_mistake(no_h0=True)),
            (FIRST_ONLY, _fwd_mistake(country_first_only=True)),
            (GATES + " (yours: i, f, g, o)", _fwd_mistake(gates=(0, 1, 3, 2))),
            (GATES + " (yours: f, i, o, g)", _fwd_mistake(gates=(1, 0, 2, 3))),
        ],
        errors=ERRORS,
    ),
    "conditional_loss": Spec(
        name="conditional_loss",
        args=_LOSS_ARGS,
        outputs=("loss", None, *GRAD_NAMES),
        make_inputs=seq_inputs,
        cases=SEQ_CASES,
        reference=ref_loss,
        adapter=capstone.conditional_loss,
        # the loss is its own "forward": central differences of the student's loss value
        forward="conditional_loss",
        forward_args=_LOSS_ARGS,
        forward_out=0,
        upstream="dloss",
        wrt=dict(zip(GRAD_NAMES, PARAM_KEYS, strict=True)),
        mistakes=[
            (
                "the mask is ignored: padded steps (mask False) must not count in the loss; "
                "pass mask to temporal_softmax_loss.",
                lambda **k: _loss_variant(k, "no_mask"),
            ),
            (
                "loss averaged over the characters: the course's loss is summed over the "
                "unmasked steps and averaged over the batch N only (temporal_softmax_loss); "
                "divide by mask.sum() / N only when you report nats per character.",
                lambda **k: _loss_variant(k, "per_char"),
            ),
            (
                "loss averaged over time steps: sum over the steps, average over N only.",
                lambda **k: _loss_variant(k, "per_step"),
            ),
            (
                "dH0_0 is zero: lstm_backward returns dh0, the gradient of the initial state "
                "H0_0[countries]; scatter it back to the rows of H0_0 (embedding_backward or "
                "np.add.at, several names may share a country).",
                lambda **k: _loss_variant(k, "no_dh0"),
            ),
        ],
        errors=ERRORS,
        gradcheck_cases=2,
    ),
    "sample_name": Spec(
        name="sample_name",
        args=_SAMPLE_ARGS,
        outputs=_SAMPLE_OUTS,
        make_inputs=sample_inputs,
        cases=SAMPLE_CASES,
        reference=ref_sample,
        adapter=capstone.sample_name,
        mistakes=[
            (
                "<s> was not fed: the state before the forced first letter is the one after "
                "reading <s> (feed START_ID, discard its scores, then feed the first letter).",
                _smp_mistake("no_start"),
            ),
            (
                "the scores are multiplied by the temperature: divide, softmax(s / temperature) "
                "(a low temperature sharpens the distribution).",
                _smp_mistake("times_t"),
            ),
            (
                "the temperature is ignored: draw from softmax(scores / temperature).",
                _smp_mistake("no_temp"),
            ),
            (
                "greedy decoding at a temperature > 0: draw from softmax(s / temperature) with "
                "rng (argmax only when temperature == 0).",
                _smp_mistake("greedy"),
            ),
            (
                "names are one character too long: max_len counts every character of the "
                "name, the forced first letter included (stop when len(name) == max_len).",
                _smp_mistake("max_len_plus"),
            ),
            (
                "the end marker does not stop the name: stop as soon as </s> (END_ID) is drawn, "
                "and do not add it to the name.",
                _smp_mistake("no_stop"),
            ),
        ],
        errors=SAMPLE_ERRORS,
        tol=0.0,
    ),
    "trained_params": MetricSpec(
        name="trained_params",
        outputs=tuple(PARAM_KEYS),
        adapter=capstone.trained_params,
        evaluate=lambda got: evaluate_trained(got),
        errors=ERRORS,
    ),
}

__all__ = ["SPECS", "BLOCKED", "BAR", "BAD_CHAR"]
