"""The judge stronger by macro accuracy (not by plain accuracy): class-balanced multinomial
logistic regression on character n-grams.

Same features as the naive Bayes judge (:mod:`rnnref.names.classifier`): the character 1- to
4-grams of ``"^" + name.casefold() + "$"``, here as presence indicators ``x (F,)`` over the
n-grams of the train split (unseen ones are dropped). Scores ``s = x @ W + b`` with
``W (F, K)``, ``b (K,)``; the loss is the softmax cross-entropy with every name weighted by
``1 / (K * n_k)`` (``n_k`` the training names of its country, so every country weighs the
same, like the uniform prior of the naive Bayes judge) plus ``l2 / 2 * ||W||^2``. It is
fitted by full-batch Adam from zeros for a fixed number of steps (deterministic). The
fit takes minutes of CPU, so the package ships the fitted judge (``judge_logreg.npz``,
:func:`default_logreg`), made by ``python -m rnnref.names judge --out
rnnref/names/judge_logreg.npz --force``: ``l2`` picked on the validation split by macro
accuracy (:func:`select_l2`), each candidate fitted on the train split.

A design matrix with 14,000 rows and ~60,000 columns would be mostly zeros, so names are kept
as the lists of their feature columns (``rows``, ``cols``, sorted by row) and the products
are sums of gathered rows (``np.add.reduceat``).
"""

import functools
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnref.names.classifier import NGRAM_ORDERS, evaluate_predictions, ngrams

JUDGE_PATH = Path(__file__).resolve().parent / "judge_logreg.npz"
FORMAT = "rnnref.names.logreg"
L2 = 1e-3
MIN_COUNT = 2
# Fewer steps than full convergence: on validation, macro accuracy peaks early (the steps
# act as a second regulariser next to l2), and every step is a pass over the data.
STEPS = 100
LR = 0.05
L2_GRID = (3e-4, 1e-3, 3e-3)


@dataclass(frozen=True)
class Features:
    """Names as sparse presence rows: name ``r`` has the columns ``cols[starts[r]:
    starts[r+1]]`` (``rows`` repeats ``r`` that many times); ``n`` names."""

    rows: np.ndarray
    cols: np.ndarray
    starts: np.ndarray
    n: int


def featurize(names, index, orders=NGRAM_ORDERS):
    """:class:`Features` of ``names`` over the n-gram ``index`` (n-gram -> column).

    ``^`` and ``$`` are in every index built from real names, so no row is empty."""
    rows, cols = [], []
    for r, name in enumerate(names):
        found = sorted({index[g] for g in ngrams(name, orders) if g in index})
        if not found:
            raise ValueError(f"name {name!r} has no n-gram known to the classifier")
        rows.extend([r] * len(found))
        cols.extend(found)
    rows = np.array(rows, dtype=np.int64)
    starts = np.searchsorted(rows, np.arange(len(names)))
    return Features(rows, np.array(cols, dtype=np.int64), starts, len(names))


def scores_of(feats, W, b):
    """``X @ W + b`` for sparse ``feats``: ``(n, K)``."""
    return np.add.reduceat(W[feats.cols], feats.starts, axis=0) + b


def softmax_grad(S, y, weights):
    """Weighted softmax cross-entropy of scores ``S (n, K)`` against labels ``y (n,)``:
    ``(loss, dS)`` with ``loss = sum_i w_i * -log p_i[y_i]`` (``weights`` sum to 1)."""
    S = S - S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P /= P.sum(axis=1, keepdims=True)
    idx = np.arange(len(y))
    loss = -(weights * np.log(P[idx, y])).sum()
    P[idx, y] -= 1.0
    return loss, P * weights[:, None]


class NgramLogReg:
    """A fitted judge. Attributes: ``countries`` (list), ``index`` (n-gram -> column),
    ``W (F, K)``, ``b (K,)``, ``l2``, ``meta`` (how a shipped judge was made)."""

    def __init__(self, countries, index, W, b, l2, orders=NGRAM_ORDERS):
        self.countries = list(countries)
        self.index = index
        self.W, self.b = W, b
        self.l2 = l2
        self.orders = tuple(orders)
        self.meta = {}

    @classmethod
    def fit(
        cls,
        pairs,
        countries=None,
        l2=L2,
        steps=STEPS,
        lr=LR,
        min_count=MIN_COUNT,
        orders=NGRAM_ORDERS,
    ):
        """Fit on ``(name, country)`` pairs; ``countries`` fixes the order of the columns.
        The features are the n-grams found in at least ``min_count`` of the names (rarer
        ones would be learnt by heart)."""
        countries = sorted({c for _, c in pairs}) if countries is None else list(countries)
        k_of = {c: i for i, c in enumerate(countries)}
        seen = {}
        for name, _ in pairs:
            for g in set(ngrams(name, orders)):
                seen[g] = seen.get(g, 0) + 1
        index = {g: i for i, g in enumerate(sorted(g for g, n in seen.items() if n >= min_count))}
        feats = featurize([n for n, _ in pairs], index, orders)
        y = np.array([k_of[c] for _, c in pairs], dtype=np.int64)
        counts = np.bincount(y, minlength=len(countries))
        present = np.count_nonzero(counts)
        weights = 1.0 / (present * counts[y])
        W, b = _adam_fit(feats, y, weights, len(index), len(countries), l2, steps, lr)
        return cls(countries, index, W, b, l2, orders)

    def scores(self, names):
        """Scores of every name for every country, ``(len(names), K)``."""
        if not names:
            return np.zeros((0, len(self.countries)))
        return scores_of(featurize(names, self.index, self.orders), self.W, self.b)

    def predict(self, names):
        """The highest-scoring country of every name (ties: the first in ``countries``)."""
        return [self.countries[i] for i in np.argmax(self.scores(names), axis=1)]

    def evaluate(self, pairs):
        """``accuracy``, ``macro_recall`` and ``recall`` (country -> share right) on pairs."""
        return evaluate_predictions(pairs, self.predict([n for n, _ in pairs]))


def _adam_fit(feats, y, weights, F, K, l2, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Full-batch Adam on the weighted loss from ``W = 0, b = 0``; returns ``(W, b)``."""
    # X^T G is a sum over the names of each column: gather the names by column once.
    by_col = np.argsort(feats.cols, kind="stable")
    col_rows = feats.rows[by_col]
    col_starts = np.searchsorted(feats.cols[by_col], np.arange(F))
    W, b = np.zeros((F, K)), np.zeros(K)
    mW, vW, mb, vb = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)
    for t in range(1, steps + 1):
        _, dS = softmax_grad(scores_of(feats, W, b), y, weights)
        dW = np.add.reduceat(dS[col_rows], col_starts, axis=0) + l2 * W
        db = dS.sum(axis=0)
        for p, g, m, v in ((W, dW, mW, vW), (b, db, mb, vb)):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return W, b


def select_l2(train_pairs, val_pairs, countries=None, grid=L2_GRID, **fit_kw):
    """Fit one judge per ``l2`` of ``grid`` on ``train_pairs``; return ``(best judge,
    {l2: val macro accuracy})``, the best by macro accuracy (macro-averaged recall) on
    ``val_pairs`` (ties: the larger ``l2``)."""
    judges, table = {}, {}
    for l2 in grid:
        judges[l2] = NgramLogReg.fit(train_pairs, countries, l2=l2, **fit_kw)
        table[l2] = judges[l2].evaluate(val_pairs)["macro_recall"]
    return judges[max(table, key=lambda l2: (table[l2], l2))], table


def save(judge, path, meta=None):
    """Write ``judge`` as a compressed ``.npz`` (a temporary file, then a rename)."""
    path = Path(path)
    header = {"format": FORMAT, "l2": judge.l2, "orders": judge.orders, **(meta or {})}
    grams = sorted(judge.index, key=judge.index.get)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(
            f,
            meta=np.array(json.dumps(header)),
            countries=np.array(judge.countries),
            ngrams=np.array(grams),
            W=judge.W.astype(np.float32),
            b=judge.b.astype(np.float32),
        )
    os.replace(tmp, path)
    return path


def load(path, countries=None):
    """Read a judge written by :func:`save`; ``ValueError`` naming what is wrong with a file
    that is not one, is damaged, or was fitted for other ``countries``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no judge at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["meta"]))
            file_countries = [str(c) for c in z["countries"]]
            grams = [str(g) for g in z["ngrams"]]
            W, b = z["W"].astype(np.float64), z["b"].astype(np.float64)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise ValueError(f"{path} is not a readable judge file ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} file (wrong 'meta')")
    if W.shape != (len(grams), len(file_countries)) or b.shape != (len(file_countries),):
        raise ValueError(f"{path}: W {W.shape} and b {b.shape} do not fit its n-grams/countries")
    if countries is not None and file_countries != list(countries):
        raise ValueError(f"{path} was fitted for other countries: {', '.join(file_countries)}")
    index = {g: i for i, g in enumerate(grams)}
    judge = NgramLogReg(file_countries, index, W, b, header["l2"], header["orders"])
    judge.meta = header
    return judge


@functools.cache
def default_logreg():
    """The shipped judge (``judge_logreg.npz``), fitted on the shipped train split."""
    from rnnref import names

    return load(JUDGE_PATH, names.countries())
