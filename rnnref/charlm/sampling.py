"""Generation one character at a time: the incremental form of the network and the sampler.

States are per-layer lists of ``(1, H)`` arrays; V is the vocabulary size.
"""

import numpy as np

from rnnref import lstm
from rnnref.charlm.model import n_layers
from rnnref.names.vocab import END_ID, PAD_ID, START_ID


def log_softmax(s):
    """``log softmax`` over the last axis, shifted by the max so that it never overflows."""
    s = s - s.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def initial_state(params, k):
    """The state before ``<s>`` for country id ``k``: per layer ``h = H0_l[k]``, ``c = 0``,
    as lists of ``(1, H)`` arrays."""
    hs = [params[f"H0_{lay}"][k][None, :] for lay in range(n_layers(params))]
    return hs, [np.zeros_like(h) for h in hs]


def step_scores(params, token, k, hs, cs):
    """One step of the model on one token: the incremental form of
    :func:`rnnref.charlm.model.conditional_forward` (equal scores, checked in the tests).

    Args:
        token: the input id at this step; k: the country id; hs, cs: per-layer states
            ``(1, H)`` (from :func:`initial_state` or the previous step; not modified).

    Returns:
        ``scores (V,)`` of the next character, and the new ``hs, cs`` lists.
    """
    inp = np.concatenate([params["E_char"][token][None, :], params["E_country"][k][None, :]], 1)
    new_h, new_c = [], []
    for lay in range(len(hs)):
        h, c, _ = lstm.lstm_step_forward(
            inp, hs[lay], cs[lay], params[f"Wx_{lay}"], params[f"Wh_{lay}"], params[f"b_{lay}"]
        )
        new_h.append(h)
        new_c.append(c)
        inp = h
    scores = (inp @ params["W_out"] + params["b_out"])[0]
    if "B_out" in params:
        scores = scores + params["B_out"][k]
    return scores, new_h, new_c


def _check_sampling_args(temperature, max_len):
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if not temperature >= 0:
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if int(max_len) < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")


def pick(scores, temperature, rng):
    """The next id from ``scores (V,)``: the argmax at ``temperature == 0``, otherwise one
    ``u = rng.random()`` and the first id whose cumulative probability under
    ``softmax(scores / temperature)`` exceeds ``u`` (inverse-CDF sampling: the same law as
    ``rng.choice(V, p=probs)``, one random number per character)."""
    if temperature == 0:
        return int(np.argmax(scores))
    cdf = np.cumsum(np.exp(log_softmax(scores / temperature)))
    token = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(token, len(cdf) - 1)


def sample_ids(params, k, first_id, temperature=1.0, rng=None, max_len=30):
    """Draw the character ids of one name of country ``k`` that starts with ``first_id``.

    Feeds ``<s>`` then ``first_id``; then repeatedly takes the scores of the next character,
    never ``<pad>``/``<s>``, and picks one (:func:`pick`). Stops at ``</s>`` (not included)
    or when the name has ``max_len`` characters.

    Args:
        rng: a ``np.random.Generator``, a seed or ``None``.

    Returns:
        A list of character ids, ``first_id`` first.
    """
    _check_sampling_args(temperature, max_len)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    hs, cs = initial_state(params, k)
    _, hs, cs = step_scores(params, START_ID, k, hs, cs)
    out = [int(first_id)]
    while len(out) < max_len:
        scores, hs, cs = step_scores(params, out[-1], k, hs, cs)
        # Markers other than the end are never targets; never emit them.
        scores[PAD_ID] = scores[START_ID] = -np.inf
        token = pick(scores, temperature, rng)
        if token == END_ID:
            break
        out.append(token)
    return out
