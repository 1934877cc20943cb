"""Adapters of lesson 08 (the names capstone); the convention is the package's.

The capstone's graded functions take a parameter dict, integer ids, a vocabulary and a random
Generator, and return a dict of gradients or a string. Besides NumPy these adapters import
only the (unblocked) vocabulary class, never ``rnnref.charlm`` (the answer key).

Conventions shared with ``lesson08.py``:

* parameters travel as the arrays of :data:`PARAM_KEYS`, in that order (one LSTM layer);
* ids (characters, countries) travel as float arrays and are turned back into ``int64``;
* the vocabulary travels as the code points of its ordinary characters (``Vocab.chars``);
* a sampled name comes back as a row of character ids padded with :data:`NO_CHAR`, one row
  per sample; a character outside the vocabulary is :data:`BAD_CHAR`.
"""

import numpy as np

from autograder.checks.adapters import results

PARAM_KEYS = ("E_char", "E_country", "H0_0", "Wx_0", "Wh_0", "b_0", "W_out", "b_out")
GRAD_NAMES = tuple("d" + k for k in PARAM_KEYS)
NO_CHAR, BAD_CHAR = -1.0, -2.0


def params_of(flat):
    return {k: v for k, v in zip(PARAM_KEYS, flat, strict=True)}


def _ids(a):
    return np.asarray(a).astype(np.int64)


def _grads(name, grads):
    if not isinstance(grads, dict):
        raise ValueError(
            f"{name} must return grads as a dict with the keys of params "
            f"({', '.join(PARAM_KEYS)}), got a {type(grads).__name__}"
        )
    missing = [k for k in PARAM_KEYS if k not in grads]
    if missing:
        raise ValueError(f"grads has no entry for {', '.join(missing)} (KeyError)")
    return [grads[k] for k in PARAM_KEYS]


def conditional_forward(fn):
    """``(*params, x, countries)`` -> ``fn(params, x, countries)`` = ``(scores, cache)``."""

    def call(*args):
        *flat, x, countries = args
        return fn(params_of(flat), _ids(x), _ids(countries))

    return call


def conditional_loss(fn):
    """``(*params, x, y, mask, countries)`` -> ``(loss, None, dE_char, ..., db_out)``.

    The ``None`` is the opaque slot the engine needs to use this function as its own
    "forward" for the numerical gradient check of the loss.
    """

    def call(*args):
        *flat, x, y, mask, countries = args
        out = fn(params_of(flat), _ids(x), _ids(y), np.asarray(mask) != 0, _ids(countries))
        loss, grads = results("conditional_loss", out, ("loss", "grads"))
        return (np.asarray(loss, dtype=np.float64), None, *_grads("conditional_loss", grads))

    return call


def sample_name(fn):
    """``(*params, chars, country, first, temperature, seed, max_len, samples)`` ->
    ``(first ids, lengths, rows of character ids)``, one entry per sample; sample s uses
    ``np.random.default_rng(seed + s)``."""

    def call(*args):
        from rnnref.names.vocab import Vocab

        *flat, chars, country, first, temperature, seed, max_len, samples = args
        vocab = Vocab([chr(int(c)) for c in chars])
        letter = vocab.tokens[int(first)]
        max_len = int(max_len)
        rows = np.full((int(samples), max_len + 2), NO_CHAR)
        for s in range(int(samples)):
            rng = np.random.default_rng(int(seed) + s)
            name = fn(
                params_of(flat), vocab, int(country), letter, float(temperature), rng, max_len
            )
            if not isinstance(name, str):
                raise ValueError(f"sample_name must return a str, got a {type(name).__name__}")
            ids = [vocab.id(ch) if ch in vocab else BAD_CHAR for ch in name[: max_len + 2]]
            rows[s, : len(ids)] = ids
        lengths = (rows != NO_CHAR).sum(axis=1).astype(np.float64)
        return rows[:, 0].copy(), lengths, rows

    return call


def trained_params(fn):
    """``()`` -> the arrays of the student's trained parameter dict, in :data:`PARAM_KEYS`
    order (float64)."""

    def call():
        params = fn()
        if not isinstance(params, dict):
            raise ValueError(f"trained_params must return the params dict, got {type(params)}")
        missing = [k for k in PARAM_KEYS if k not in params]
        if missing:
            raise ValueError(f"the params dict has no entry for {', '.join(missing)}")
        return tuple(np.array(params[k], dtype=np.float64) for k in PARAM_KEYS)

    return call
