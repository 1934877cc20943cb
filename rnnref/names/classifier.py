"""An independent country classifier: multinomial naive Bayes over character n-grams.

It judges the generated names (the "country coherence" metric), so it must not share
anything with the generator: no recurrent network, no learned embeddings, only counts of the
character 1- to 4-grams of the case-folded name framed by ``^`` and ``$`` (``"Ng"`` gives
``^ n g $ ^n ng g$ ^ng ng$ ^ng$``), counted per country on the train split.

- Smoothing: add-``alpha`` (Lidstone) over the n-grams seen in training; unseen n-grams are
  ignored (they carry no evidence for any country).
- Prior: **uniform**. The question is "which country does this name look like", asked the
  same number of times for every country by the coherence protocol, so the 52% of Russian
  names in the data must not tilt the answer. The classifier's own score on real names is
  therefore reported as the macro-averaged recall ("macro accuracy": every country weighs
  the same), next to the plain accuracy. It is a reference, not a ceiling: generated names
  can be more typical of their country than real ones, and score above it.

A judge stronger by macro accuracy (though not by plain accuracy) with the same features, a
class-balanced logistic regression, is in :mod:`rnnref.names.logreg`.

Training is a pass of counting (well under a second), fully deterministic, so the package
ships the code and the train split and rebuilds the classifier when needed
(:func:`default_classifier`) rather than a parameter file.
"""

import functools

import numpy as np

NGRAM_ORDERS = (1, 2, 3, 4)
ALPHA = 0.03


def ngrams(name, orders=NGRAM_ORDERS):
    """The character n-grams of ``"^" + name.casefold() + "$"`` for every order."""
    s = "^" + name.casefold() + "$"
    return [s[i : i + n] for n in orders for i in range(len(s) - n + 1)]


class NgramNaiveBayes:
    """Multinomial naive Bayes with a uniform prior.

    Attributes: ``countries`` (list), ``index`` (n-gram -> column), ``log_probs (K, F)``.
    """

    def __init__(self, countries, index, log_probs, orders=NGRAM_ORDERS):
        self.countries = list(countries)
        self.index = index
        self.log_probs = log_probs
        self.orders = tuple(orders)

    @classmethod
    def fit(cls, pairs, countries=None, alpha=ALPHA, orders=NGRAM_ORDERS):
        """Count the n-grams of ``(name, country)`` pairs; ``countries`` fixes the order."""
        countries = sorted({c for _, c in pairs}) if countries is None else list(countries)
        k_of = {c: i for i, c in enumerate(countries)}
        index = {}
        rows, cols = [], []
        for name, country in pairs:
            for g in ngrams(name, orders):
                rows.append(k_of[country])
                cols.append(index.setdefault(g, len(index)))
        counts = np.zeros((len(countries), len(index)))
        np.add.at(counts, (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)), 1.0)
        smoothed = counts + alpha
        log_probs = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
        return cls(countries, index, log_probs, orders)

    def scores(self, names):
        """Log-likelihood of every name under every country, ``(len(names), K)``."""
        out = np.zeros((len(names), len(self.countries)))
        for r, name in enumerate(names):
            cols = [self.index[g] for g in ngrams(name, self.orders) if g in self.index]
            if cols:
                out[r] = self.log_probs[:, cols].sum(axis=1)
        return out

    def predict(self, names):
        """The most likely country of every name (ties: the first in ``countries``)."""
        return [self.countries[i] for i in np.argmax(self.scores(names), axis=1)]

    def evaluate(self, pairs):
        """``accuracy``, ``macro_recall`` and ``recall`` (country -> share right) on pairs."""
        return evaluate_predictions(pairs, self.predict([n for n, _ in pairs]))


def evaluate_predictions(pairs, predicted):
    """``accuracy``, ``macro_recall`` (the mean over countries of the share right, also
    called macro accuracy) and ``recall`` (country -> share right) of predicted countries
    for ``(name, country)`` pairs."""
    right = {}
    total = {}
    for (_, c), p in zip(pairs, predicted, strict=True):
        total[c] = total.get(c, 0) + 1
        right[c] = right.get(c, 0) + (p == c)
    recall = {c: right[c] / total[c] for c in total}
    return {
        "accuracy": sum(right.values()) / max(1, len(pairs)),
        "macro_recall": float(np.mean(list(recall.values()))) if recall else 0.0,
        "recall": recall,
    }


@functools.cache
def default_classifier():
    """The classifier trained on the shipped train split (rebuilt deterministically)."""
    from rnnref import names

    return NgramNaiveBayes.fit(names.load_split("train"), names.countries())
