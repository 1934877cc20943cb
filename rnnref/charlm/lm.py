"""The model object: parameters with their vocabulary and countries, scoring, sampling and
checkpoints (the functions behind it are in :mod:`~rnnref.charlm.model`,
:mod:`~rnnref.charlm.sampling` and :mod:`~rnnref.charlm.checkpoint`)."""

import numpy as np

from rnnref import layers
from rnnref.charlm import checkpoint, model, sampling


class CharLM:
    """A trained (or initialised) conditional character model with its vocabulary.

    Attributes: ``params`` (dict of float64 arrays), ``vocab`` (:class:`Vocab`),
    ``countries`` (list of str, ids are indexes), ``config`` (:class:`ModelConfig`),
    ``initials`` (country -> first letters of its training names, most frequent first),
    ``meta`` (training record: seed, epochs, time, command, ...).
    """

    def __init__(self, params, vocab, countries, config, initials=None, meta=None):
        self.params = params
        self.vocab = vocab
        self.countries = list(countries)
        self.config = config
        self.initials = {k: list(v) for k, v in (initials or {}).items()}
        self.meta = dict(meta or {})
        self._country_index = {c: i for i, c in enumerate(self.countries)}

    @classmethod
    def new(cls, vocab, countries, config=None, seed=0, initials=None):
        """A freshly initialised model (``config`` default: :class:`ModelConfig()`)."""
        config = model.ModelConfig() if config is None else config
        params = model.init_params(len(vocab), len(countries), config, np.random.default_rng(seed))
        return cls(params, vocab, countries, config, initials)

    # -- lookups -----------------------------------------------------------------------

    def country_id(self, country):
        """The id of ``country``; ``ValueError`` listing the known ones."""
        try:
            return self._country_index[country]
        except (KeyError, TypeError):
            raise ValueError(
                f"unknown country {country!r}; known countries: {', '.join(self.countries)}"
            ) from None

    def first_char(self, country, letter):
        """The vocabulary character that starts a name for ``letter``.

        Matched case-insensitively and returned as names are written (capitalised): ``"o"``
        gives ``"O"``. Any letter of the vocabulary is accepted; one that is not (or not a
        single letter) raises ``ValueError`` listing the first letters of the country's
        training names.
        """
        k = self.country_id(country)
        if isinstance(letter, str) and len(letter) == 1 and letter.isalpha():
            matches = [ch for ch in self.vocab.chars if ch.casefold() == letter.casefold()]
            if matches:
                # Prefer the form training names of this country start with, then upper case.
                usual = self.initials.get(self.countries[k], [])
                matches.sort(key=lambda ch: (ch not in usual, not ch.isupper(), ch))
                return matches[0]
        usual = self.initials.get(self.countries[k]) or sorted(
            {ch.upper() for ch in self.vocab.chars if ch.isalpha()}
        )
        raise ValueError(
            f"first letter {letter!r} is not a letter of the vocabulary; {self.countries[k]} "
            f"names start with: {' '.join(sorted(usual))}"
        )

    # -- scoring -----------------------------------------------------------------------

    def nll(self, pairs, batch_size=512):
        """Total negative log-likelihood (nats) of ``(name, country)`` pairs and the number
        of predicted tokens (characters + one end marker per name)."""
        total, count = 0.0, 0
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i : i + batch_size]
            x, y, mask, k = model.make_batch(
                [n for n, _ in chunk], [self.country_id(c) for _, c in chunk], self.vocab
            )
            loss, _ = layers.temporal_softmax_loss(
                model.conditional_forward(self.params, x, k)[0], y, mask
            )
            total += loss * len(chunk)
            count += int(mask.sum())
        return total, count

    def nll_per_char(self, pairs):
        """Mean NLL per predicted character in nats (end marker included)."""
        total, count = self.nll(pairs)
        return total / count

    def log_likelihood(self, name, country):
        """``log p(name | country)``, natural log, the first character and the end marker
        included. ``ValueError`` for an unknown country or a character outside the
        vocabulary."""
        k = self.country_id(country)
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        total, _ = self.nll([(name, self.countries[k])])
        return -total

    # -- sampling ----------------------------------------------------------------------

    def sample(self, country, first_letter, temperature=1.0, rng=None, max_len=None):
        """Generate one surname of ``country`` starting with ``first_letter``.

        The first character is forced (see :meth:`first_char`); each next one is drawn from
        ``softmax(scores / temperature)`` (``temperature=0``: the most likely one) until the
        end marker or ``max_len`` characters (default ``config.max_len``); see
        :func:`sample_ids`. The state is carried step by step, so a name costs one LSTM step
        per character.

        Args:
            rng: a ``np.random.Generator``, a seed, or ``None`` (fresh entropy).
        """
        k = self.country_id(country)
        first = self.first_char(country, first_letter)
        max_len = self.config.max_len if max_len is None else max_len
        ids = sampling.sample_ids(self.params, k, self.vocab.id(first), temperature, rng, max_len)
        return "".join(self.vocab.tokens[i] for i in ids)

    # -- checkpoints -------------------------------------------------------------------

    def save(self, path, dtype=np.float32):
        """Write the model to ``path`` (see :func:`rnnref.charlm.checkpoint.save`)."""
        return checkpoint.save(
            path,
            self.params,
            self.vocab,
            self.countries,
            self.config,
            self.initials,
            self.meta,
            dtype,
        )

    @classmethod
    def load(cls, path, vocab=None, countries=None):
        """Read a checkpoint written by :meth:`save`.

        Raises ``FileNotFoundError`` for a missing file and
        :class:`~rnnref.charlm.checkpoint.CheckpointError` (a ``ValueError``) for a file that
        is not such a checkpoint, is damaged, or whose vocabulary / countries differ from
        ``vocab`` / ``countries`` when they are given.
        """
        c = checkpoint.load(path, vocab, countries)
        return cls(c.params, c.vocab, c.countries, c.config, c.initials, c.meta)
