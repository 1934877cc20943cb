"""Capstone: surnames by country (language of origin).

Data (``data/``: 18 files, 18,005 distinct (surname, country) pairs once cleaned, with their
attribution), the deterministic split, the character vocabulary, two independent n-gram
country judges (naive Bayes, :mod:`~rnnref.names.classifier`, and logistic regression,
:mod:`~rnnref.names.logreg`, shipped as ``judge_logreg.npz``), the metrics, the shipped model
and the command line ``python -m rnnref.names``. The model itself is in
:mod:`rnnref.charlm`.

Public API::

    load_split("train" | "val" | "test")  -> list of (name, country)
    load_pretrained()                      -> rnnref.charlm.CharLM
    model.log_likelihood(name, country)    -> float (natural log, end marker included)
    model.sample(country, first_letter, temperature=1.0, rng=None) -> str

See :mod:`rnnref.names.data` for the cleaning and split rules.

The shipped model was trained by the defaults of ``python -m rnnref.names train`` (seed 0,
one LSTM layer of 256 units, dropout 0.3, 24 epochs, cosine
learning rate, parameter EMA; the checkpoint's ``meta`` records the configuration, history
and timings)::

    OPENBLAS_NUM_THREADS=1 python -m rnnref.names train --out rnnref/names/pretrained.npz --force
"""

import functools
from pathlib import Path

from rnnref.names.data import (
    DATA_DIR,
    SPLITS,
    NamesData,
    NamesDataWarning,
    Problem,
    check_split,
    load_names,
    read_names,
    split_of,
    split_pairs,
)
from rnnref.names.vocab import Vocab

PRETRAINED_PATH = Path(__file__).resolve().parent / "pretrained.npz"

__all__ = [
    "DATA_DIR",
    "PRETRAINED_PATH",
    "SPLITS",
    "NamesData",
    "NamesDataWarning",
    "Problem",
    "Vocab",
    "countries",
    "dataset",
    "load_names",
    "load_pretrained",
    "load_split",
    "read_names",
    "split_of",
    "split_pairs",
    "vocab",
]


@functools.cache
def dataset():
    """The shipped data, read once (its few known bad lines are documented, not warned)."""
    return read_names(DATA_DIR)


def countries():
    """The 18 country names, sorted; a model's country ids index this list."""
    return list(dataset().countries)


@functools.cache
def _split(split):
    return tuple(split_pairs(dataset().pairs, split))


def load_split(split):
    """The ``(name, country)`` pairs of ``"train"``, ``"val"`` or ``"test"`` (a new list)."""
    return list(_split(check_split(split)))


@functools.cache
def vocab():
    """The character vocabulary of the whole shipped data set (every split)."""
    return Vocab.from_names(n for n, _ in dataset().pairs)


def load_pretrained():
    """The model trained by this project and shipped as ``pretrained.npz``."""
    from rnnref.charlm import CharLM

    return CharLM.load(PRETRAINED_PATH, vocab=vocab(), countries=countries())
