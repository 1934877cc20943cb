"""A character-level LSTM language model conditioned on a country (the capstone's model).

Built from the lesson layers only: :func:`rnnref.layers.embedding_forward` for characters,
countries and the initial state, :func:`rnnref.lstm.lstm_forward` for the recurrence,
:func:`rnnref.layers.temporal_affine_forward` for the scores and the masked
:func:`rnnref.layers.temporal_softmax_loss`. Shapes: N names in a batch, T steps (longest
name + 1), V vocabulary size, K countries, Dc/Dk character/country embedding sizes, H hidden.

Conditioning, at two places:

- every step's input is ``[E_char[x_t], E_country[k]]`` (the country embedding concatenated
  to the character embedding), so the country is in view at every step;
- the initial hidden state of every layer is learned per country, ``h0 = H0[k]``
  (an embedding lookup), so the first character is already country-specific.

A name ``c_1 ... c_n`` of country k is the input ``<s> c_1 ... c_n`` with the targets
``c_1 ... c_n </s>``: ``log p(name | k) = sum_t log p(target_t | inputs_<=t, k)`` counts the
first character and the end marker (n + 1 terms). Padded steps are masked out of the loss.

Parameters live in one dict (names below); ``layers`` stacked LSTMs (layer l's input is
layer l-1's states), inverted dropout on the input of every layer and on the top states
while training.

======================  ===============  ===============================================
name                    shape            role
======================  ===============  ===============================================
``E_char``              ``(V, Dc)``      character embedding
``E_country``           ``(K, Dk)``      country embedding, input of every step
``H0_l``                ``(K, H)``       initial hidden state of layer l, per country
``Wx_l, Wh_l, b_l``     lesson-04 LSTM   gate order i, f, o, g
``W_out, b_out``        ``(H, V)``       scores over the vocabulary
======================  ===============  ===============================================
"""

import dataclasses
import json
import math
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnref import layers
from rnnref.names.vocab import END_ID, PAD_ID, START_ID, Vocab

FORMAT = "rnnref.charlm"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a usable checkpoint (corrupt, foreign, or for another vocabulary)."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture. ``dropout`` only acts while training. The defaults are the shipped
    model's (``rnnref/names/pretrained.npz``)."""

    char_dim: int = 48
    country_dim: int = 24
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.3
    max_len: int = 30


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation: Adam on gradients clipped to global norm ``clip``.

    ``schedule="cosine"``: the learning rate falls from ``lr`` to ``min_lr`` along a half
    cosine over the planned ``epochs`` (step by step), the right shape for a fixed budget;
    ``"plateau"``: constant, multiplied by ``lr_decay`` after every epoch whose validation
    NLL did not improve. ``ema``: if > 0, the model evaluated and kept is the exponential
    moving average of the parameters (decay ``ema`` per step), which smooths the noise of
    the last steps. ``weight_decay`` is decoupled (AdamW-style), on weight matrices only.
    Early stopping after ``patience`` epochs without improvement, or after ``time_limit``
    seconds (checked at the end of an epoch); the best epoch is kept. ``calibrate``: then
    rescale the output layer by the factor that minimises the validation NLL
    (:func:`calibrate_output`). The defaults trained the shipped model.
    """

    epochs: int = 24
    batch_size: int = 64
    lr: float = 5e-3
    schedule: str = "cosine"
    lr_decay: float = 0.5
    min_lr: float = 5e-5
    clip: float = 5.0
    weight_decay: float = 0.0
    ema: float = 0.998
    calibrate: bool = True
    patience: int = 4
    time_limit: float | None = None
    seed: int = 0


# ----------------------------------------------------------------------------- parameters


def init_params(vocab_size, n_countries, config, rng):
    """Random parameters: embeddings N(0, 1) (inputs of unit scale), matrices
    N(0, 1/fan-in) so that pre-activations start near unit variance, forget-gate bias 1
    (remember by default), zero initial states."""
    c = config
    H = c.hidden
    p = {
        "E_char": rng.normal(0, 1, (vocab_size, c.char_dim)),
        "E_country": rng.normal(0, 1, (n_countries, c.country_dim)),
    }
    d_in = c.char_dim + c.country_dim
    for lay in range(c.layers):
        p[f"H0_{lay}"] = np.zeros((n_countries, H))
        p[f"Wx_{lay}"] = rng.normal(0, 1 / math.sqrt(d_in), (d_in, 4 * H))
        p[f"Wh_{lay}"] = rng.normal(0, 1 / math.sqrt(H), (H, 4 * H))
        b = np.zeros(4 * H)
        b[H : 2 * H] = 1.0
        p[f"b_{lay}"] = b
        d_in = H
    p["W_out"] = rng.normal(0, 1 / math.sqrt(H), (H, vocab_size))
    p["b_out"] = np.zeros(vocab_size)
    return p


def _n_layers(params):
    return sum(1 for k in params if k.startswith("Wx_"))


# ----------------------------------------------------------------------------- forward/loss


def _dropout(a, rate, rng):
    if not rate or rng is None:
        return a, None
    keep = (rng.random(a.shape) >= rate) / (1.0 - rate)
    return a * keep, keep


def conditional_forward(params, x, countries, dropout=0.0, rng=None):
    """Scores of the next character at every step.

    Args:
        params: the parameter dict (module docstring).
        x: ``(N, T)`` input ids (``<s>`` then the characters, padded with ``<pad>``).
        countries: ``(N,)`` country ids.
        dropout, rng: inverted dropout rate and the Generator drawing its masks; no dropout
            unless both are given (evaluation).

    Returns:
        ``scores (N, T, V)`` and a cache for :func:`conditional_backward`.
    """
    from rnnref import lstm

    x = np.asarray(x)
    countries = np.asarray(countries)
    N, T = x.shape
    if countries.shape != (N,):
        raise ValueError(f"countries must have shape ({N},), got {countries.shape}")
    e_char, c_char = layers.embedding_forward(x, params["E_char"])
    # The same country id at every step: the embedding layer broadcasts it over time.
    k_steps = np.repeat(countries[:, None], T, axis=1)
    e_cty, c_cty = layers.embedding_forward(k_steps, params["E_country"])
    inp = np.concatenate([e_char, e_cty], axis=2)
    Dc = e_char.shape[2]
    stack = []
    for lay in range(_n_layers(params)):
        inp, keep = _dropout(inp, dropout, rng)
        h0, c_h0 = layers.embedding_forward(countries[:, None], params[f"H0_{lay}"])
        h, c_lstm = lstm.lstm_forward(
            inp, h0[:, 0], params[f"Wx_{lay}"], params[f"Wh_{lay}"], params[f"b_{lay}"]
        )
        stack.append((keep, c_h0, c_lstm))
        inp = h
    inp, keep_top = _dropout(inp, dropout, rng)
    scores, c_out = layers.temporal_affine_forward(inp, params["W_out"], params["b_out"])
    return scores, (c_char, c_cty, Dc, stack, keep_top, c_out)


def conditional_backward(dscores, cache):
    """Backward of :func:`conditional_forward`: a dict of gradients, one per parameter."""
    from rnnref import lstm

    c_char, c_cty, Dc, stack, keep_top, c_out = cache
    grads = {}
    dinp, grads["W_out"], grads["b_out"] = layers.temporal_affine_backward(dscores, c_out)
    if keep_top is not None:
        dinp = dinp * keep_top
    for lay in reversed(range(len(stack))):
        keep, c_h0, c_lstm = stack[lay]
        dinp, dh0, dWx, dWh, db = lstm.lstm_backward(dinp, c_lstm)
        grads[f"Wx_{lay}"], grads[f"Wh_{lay}"], grads[f"b_{lay}"] = dWx, dWh, db
        grads[f"H0_{lay}"] = layers.embedding_backward(dh0[:, None, :], c_h0)
        if keep is not None:
            dinp = dinp * keep
    grads["E_char"] = layers.embedding_backward(np.ascontiguousarray(dinp[:, :, :Dc]), c_char)
    grads["E_country"] = layers.embedding_backward(np.ascontiguousarray(dinp[:, :, Dc:]), c_cty)
    return grads


def conditional_loss(params, x, y, mask, countries, dropout=0.0, rng=None):
    """Masked softmax cross-entropy of the model, with the course's convention: summed over
    the unmasked steps, averaged over the batch N (divide by ``mask.sum() / N`` for nats per
    character).

    Args:
        x, y, mask: ``(N, T)`` inputs, targets and the mask of real steps (see
            :func:`make_batch`); countries: ``(N,)`` ids.

    Returns:
        ``(loss, grads)``, ``grads`` a dict with the keys of ``params``.
    """
    scores, cache = conditional_forward(params, x, countries, dropout, rng)
    loss, dscores = layers.temporal_softmax_loss(scores, y, mask)
    return loss, conditional_backward(dscores, cache)


def make_batch(names, countries, vocab):
    """Pad a list of names into ``x, y, mask (N, T)`` and ``countries (N,)``.

    ``x[n] = <s> c_1 .. c_L <pad>...``, ``y[n] = c_1 .. c_L </s> <pad>...``,
    ``mask[n, t]`` true for the L+1 real steps; ``T`` = longest name + 1.
    """
    N = len(names)
    ids = [vocab.encode(n) for n in names]
    T = max(len(i) for i in ids) + 1
    x = np.full((N, T), PAD_ID, dtype=np.int64)
    y = np.full((N, T), PAD_ID, dtype=np.int64)
    mask = np.zeros((N, T), dtype=bool)
    for r, seq in enumerate(ids):
        L = len(seq)
        x[r, 0] = START_ID
        x[r, 1 : L + 1] = seq
        y[r, :L] = seq
        y[r, L] = END_ID
        mask[r, : L + 1] = True
    return x, y, mask, np.asarray(countries, dtype=np.int64)


def _log_softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def initial_state(params, k):
    """The state before ``<s>`` for country id ``k``: per layer ``h = H0_l[k]``, ``c = 0``,
    as lists of ``(1, H)`` arrays."""
    hs = [params[f"H0_{lay}"][k][None, :] for lay in range(_n_layers(params))]
    return hs, [np.zeros_like(h) for h in hs]


def step_scores(params, token, k, hs, cs):
    """One step of the model on one token: the incremental form of
    :func:`conditional_forward` (equal scores, checked in the tests).

    Args:
        token: the input id at this step; k: the country id; hs, cs: per-layer states
            ``(1, H)`` (from :func:`initial_state` or the previous step; not modified).

    Returns:
        ``scores (V,)`` of the next character, and the new ``hs, cs`` lists.
    """
    from rnnref import lstm

    inp = np.concatenate([params["E_char"][token][None, :], params["E_country"][k][None, :]], 1)
    new_h, new_c = [], []
    for lay in range(len(hs)):
        h, c, _ = lstm.lstm_step_forward(
            inp, hs[lay], cs[lay], params[f"Wx_{lay}"], params[f"Wh_{lay}"], params[f"b_{lay}"]
        )
        new_h.append(h)
        new_c.append(c)
        inp = h
    return (inp @ params["W_out"] + params["b_out"])[0], new_h, new_c


def sample_ids(params, k, first_id, temperature=1.0, rng=None, max_len=30):
    """Draw the character ids of one name of country ``k`` that starts with ``first_id``.

    Feeds ``<s>`` then ``first_id``; then repeatedly takes the scores of the next character,
    never ``<pad>``/``<s>``, and picks one: ``temperature == 0`` the argmax; otherwise one
    ``u = rng.random()`` and the first id whose cumulative probability under
    ``softmax(scores / temperature)`` exceeds ``u`` (inverse-CDF sampling: the same law as
    ``rng.choice(V, p=probs)``, one random number per character). Stops at ``</s>`` (not
    included) or when the name has ``max_len`` characters.

    Args:
        rng: a ``np.random.Generator``, a seed or ``None``.

    Returns:
        A list of character ids, ``first_id`` first.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if not temperature >= 0:
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if int(max_len) < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    hs, cs = initial_state(params, k)
    _, hs, cs = step_scores(params, START_ID, k, hs, cs)
    out = [int(first_id)]
    while len(out) < max_len:
        scores, hs, cs = step_scores(params, out[-1], k, hs, cs)
        # Markers other than the end are never targets; never emit them.
        scores[PAD_ID] = scores[START_ID] = -np.inf
        if temperature == 0:
            token = int(np.argmax(scores))
        else:
            cdf = np.cumsum(np.exp(_log_softmax(scores / temperature)))
            token = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
            token = min(token, len(cdf) - 1)
        if token == END_ID:
            break
        out.append(token)
    return out


# ----------------------------------------------------------------------------- the model


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
    def new(cls, vocab, countries, config=ModelConfig(), seed=0, initials=None):
        params = init_params(len(vocab), len(countries), config, np.random.default_rng(seed))
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
            x, y, mask, k = make_batch(
                [n for n, _ in chunk], [self.country_id(c) for _, c in chunk], self.vocab
            )
            loss, _ = layers.temporal_softmax_loss(
                conditional_forward(self.params, x, k)[0], y, mask
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
        ids = sample_ids(self.params, k, self.vocab.id(first), temperature, rng, max_len)
        return "".join(self.vocab.tokens[i] for i in ids)

    # -- checkpoints -------------------------------------------------------------------

    def save(self, path, dtype=np.float32):
        """Write a compressed ``.npz`` atomically (a temporary file then a rename, so an
        interrupted save never leaves half a file): parameters (stored as ``dtype``),
        vocabulary, countries, and a JSON ``meta`` entry with the format, the configuration,
        the initials and the training record."""
        path = Path(path)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "config": dataclasses.asdict(self.config),
            "initials": self.initials,
            "train": self.meta,
        }
        arrays = {f"param_{k}": v.astype(dtype) for k, v in self.params.items()}
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                meta=np.array(json.dumps(meta)),
                vocab=self.vocab.to_array(),
                countries=np.array(self.countries),
                **arrays,
            )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path, vocab=None, countries=None):
        """Read a checkpoint written by :meth:`save`.

        Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` (a
        ``ValueError``) for a file that is not such a checkpoint, is damaged, or whose
        vocabulary / countries differ from ``vocab`` / ``countries`` when they are given.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                files = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
            raise CheckpointError(f"{path} is not a readable .npz checkpoint ({exc})") from None
        if "meta" not in files:
            raise CheckpointError(f"{path} is not an {FORMAT} checkpoint (no 'meta' entry)")
        try:
            meta = json.loads(str(files["meta"]))
            ok = isinstance(meta, dict) and meta.get("format") == FORMAT
        except (json.JSONDecodeError, TypeError):
            ok = False
        if not ok:
            raise CheckpointError(f"{path} is not an {FORMAT} checkpoint (wrong 'meta')")
        if meta.get("version") != FORMAT_VERSION:
            raise CheckpointError(
                f"{path} has checkpoint version {meta.get('version')}, this code reads "
                f"version {FORMAT_VERSION}"
            )
        try:
            file_vocab = Vocab.from_array(files["vocab"])
            file_countries = [str(c) for c in files["countries"]]
            config = ModelConfig(**meta["config"])
            params = {
                k[len("param_") :]: v.astype(np.float64)
                for k, v in files.items()
                if k.startswith("param_")
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path} is an incomplete {FORMAT} checkpoint ({exc})") from None
        if vocab is not None and file_vocab != vocab:
            missing = sorted(set(vocab.chars) - set(file_vocab.chars))
            extra = sorted(set(file_vocab.chars) - set(vocab.chars))
            raise CheckpointError(
                f"{path} was trained with another vocabulary ({len(file_vocab.chars)} "
                f"characters; missing {''.join(missing)!r}, extra {''.join(extra)!r})"
            )
        if countries is not None and file_countries != list(countries):
            raise CheckpointError(
                f"{path} was trained for other countries: {', '.join(file_countries)}"
            )
        expected = init_params(
            len(file_vocab), len(file_countries), config, np.random.default_rng(0)
        )
        for k, want in expected.items():
            got = params.get(k)
            if got is None or got.shape != want.shape:
                raise CheckpointError(
                    f"{path}: parameter {k} has shape {None if got is None else got.shape}, "
                    f"expected {want.shape} for its vocabulary, countries and config"
                )
            if not np.all(np.isfinite(got)):
                raise CheckpointError(f"{path}: parameter {k} holds NaN or infinite values")
        if set(params) != set(expected):
            raise CheckpointError(
                f"{path}: unexpected parameters {sorted(set(params) - set(expected))}"
            )
        return cls(
            params, file_vocab, file_countries, config, meta.get("initials"), meta.get("train")
        )


# ----------------------------------------------------------------------------- training


def first_letters(pairs):
    """country -> the first characters of its names, most frequent first (ties by char)."""
    counts = {}
    for name, country in pairs:
        d = counts.setdefault(country, {})
        d[name[0]] = d.get(name[0], 0) + 1
    return {c: sorted(d, key=lambda ch: (-d[ch], ch)) for c, d in sorted(counts.items())}


def _batches(n_items, lengths, batch_size, rng):
    """Shuffled batches of similar lengths: shuffle, sort chunks of 20 batches by length,
    cut, shuffle the batch order. Less padding, still a different mix every epoch."""
    order = rng.permutation(n_items)
    chunk = batch_size * 20
    out = []
    for i in range(0, n_items, chunk):
        part = order[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[j : j + batch_size] for j in range(0, len(part), batch_size))
    return [out[i] for i in rng.permutation(len(out))]


def train(
    train_pairs,
    val_pairs,
    vocab,
    countries,
    config=ModelConfig(),
    tcfg=TrainConfig(),
    out=None,
    progress=True,
    log=print,
    extra_meta=None,
):
    """Train a :class:`CharLM`; return ``(model, history)`` with the best-validation params.

    Every epoch: shuffled length-bucketed mini-batches, the per-character loss (the course
    loss divided by ``mask.sum() / N``), Adam (:class:`rnnref.optim.Adam`) on gradients
    clipped to global norm ``tcfg.clip`` (:func:`rnnref.clipping.clip_by_global_norm`), a
    tqdm bar showing the running loss; then the validation NLL per character. The best
    epoch so far is kept (and written to ``out`` at once, if given, so an interrupted run
    loses nothing). See :class:`TrainConfig` for the schedule and the stopping rules.
    """
    from tqdm.auto import tqdm

    from rnnref import clipping, optim

    if tcfg.schedule not in ("cosine", "plateau"):
        raise ValueError(f"schedule must be 'cosine' or 'plateau', got {tcfg.schedule!r}")
    rng = np.random.default_rng(tcfg.seed)
    model = CharLM.new(
        vocab, countries, config, seed=tcfg.seed, initials=first_letters(train_pairs)
    )
    params = model.params
    decay = [k for k in params if k.startswith(("Wx_", "Wh_", "W_out"))]
    opt = optim.Adam(lr=tcfg.lr)
    ema = {k: v.copy() for k, v in params.items()} if tcfg.ema else None
    names = [n for n, _ in train_pairs]
    k_ids = np.array([model.country_id(c) for _, c in train_pairs])
    lengths = np.array([len(n) for n in names])
    n_batches = math.ceil(len(names) / tcfg.batch_size)
    total_steps = tcfg.epochs * n_batches
    best_val, best_params, best_epoch, bad = math.inf, None, 0, 0
    history = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    step = 0
    lr = tcfg.lr
    for epoch in range(1, tcfg.epochs + 1):
        batches = _batches(len(names), lengths, tcfg.batch_size, rng)
        bar = tqdm(batches, desc=f"epoch {epoch}", disable=not progress, leave=False)
        run_loss, run_tok = 0.0, 0
        for idx in bar:
            if tcfg.schedule == "cosine":
                lr = tcfg.min_lr + 0.5 * (tcfg.lr - tcfg.min_lr) * (
                    1 + math.cos(math.pi * step / total_steps)
                )
            opt.lr = lr
            x, y, mask, k = make_batch([names[i] for i in idx], k_ids[idx], vocab)
            loss, grads = conditional_loss(params, x, y, mask, k, config.dropout, rng)
            n_tok = int(mask.sum())
            scale = len(idx) / n_tok
            grads = {g: v * scale for g, v in grads.items()}
            grads, _ = clipping.clip_by_global_norm(grads, tcfg.clip)
            if tcfg.weight_decay:
                for g in decay:
                    params[g] *= 1.0 - lr * tcfg.weight_decay
            opt.step(params, grads)
            if ema is not None:
                # Early on the average would drag in the random start: warm its decay up.
                d = min(tcfg.ema, (1 + step) / (10 + step))
                for g, v in params.items():
                    ema[g] *= d
                    ema[g] += (1 - d) * v
            step += 1
            run_loss += loss * len(idx)
            run_tok += n_tok
            bar.set_postfix(loss=f"{run_loss / run_tok:.3f}", refresh=False)
        bar.close()
        current = ema if ema is not None else params
        model.params = current
        val = model.nll_per_char(val_pairs)
        model.params = params
        elapsed = time.perf_counter() - start
        history.append(
            {"epoch": epoch, "train": run_loss / run_tok, "val": val, "lr": lr, "time": elapsed}
        )
        improved = val < best_val - 1e-4
        if improved:
            best_val, best_epoch, bad = val, epoch, 0
            best_params = {g: v.copy() for g, v in current.items()}
        else:
            bad += 1
            if tcfg.schedule == "plateau":
                lr = max(tcfg.min_lr, lr * tcfg.lr_decay)
        log(
            f"epoch {epoch}: train {run_loss / run_tok:.4f}  val {val:.4f} nats/char"
            f"  lr {history[-1]['lr']:.2g}  {elapsed:.0f} s"
            f" (cpu {time.process_time() - cpu_start:.0f} s){'  *best' if improved else ''}"
        )
        if improved and out is not None:
            best = CharLM(best_params, vocab, countries, config, model.initials)
            best.meta = _train_meta(
                tcfg, history, best_epoch, best_val, elapsed, cpu_start, extra_meta
            )
            best.save(out)
        if bad >= tcfg.patience or (tcfg.time_limit and elapsed > tcfg.time_limit):
            break
    model.params = best_params
    extra_meta = dict(extra_meta or {})
    if tcfg.calibrate:
        scale, best_val = calibrate_output(model, val_pairs)
        extra_meta["output_scale"] = scale
        log(f"output layer rescaled by {scale:.4f}: val {best_val:.4f} nats/char")
    elapsed = time.perf_counter() - start
    model.meta = _train_meta(tcfg, history, best_epoch, best_val, elapsed, cpu_start, extra_meta)
    if out is not None:
        model.save(out)
    return model, history


def calibrate_output(model, val_pairs, low=0.5, high=1.5, iters=14):
    """Temperature calibration: multiply ``W_out`` and ``b_out`` (in place) by the factor
    ``s`` in ``[low, high]`` that minimises the validation NLL, found by golden-section
    search (the NLL is smooth and unimodal in ``s``). A model trained with dropout is often
    over-confident on held-out names (``s < 1`` softens it). Returns ``(s, val_nll)``.
    """
    W, b = model.params["W_out"].copy(), model.params["b_out"].copy()

    def nll(s):
        model.params["W_out"], model.params["b_out"] = W * s, b * s
        return model.nll_per_char(val_pairs)

    g = (math.sqrt(5) - 1) / 2
    a, d = low, high
    b1, c1 = d - g * (d - a), a + g * (d - a)
    fb, fc = nll(b1), nll(c1)
    for _ in range(iters):
        if fb <= fc:
            d, c1, fc = c1, b1, fb
            b1 = d - g * (d - a)
            fb = nll(b1)
        else:
            a, b1, fb = b1, c1, fc
            c1 = a + g * (d - a)
            fc = nll(c1)
    candidates = [(nll(1.0), 1.0), (fb, b1), (fc, c1)]
    best, s = min(candidates)
    model.params["W_out"], model.params["b_out"] = W * s, b * s
    return float(s), best


def _train_meta(tcfg, history, best_epoch, best_val, elapsed, cpu_start, extra):
    return {
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "train_config": dataclasses.asdict(tcfg),
        "best_epoch": best_epoch,
        "best_val_nll": best_val,
        "epochs_run": len(history),
        "train_seconds": round(elapsed, 1),
        "history": history,
        **(extra or {}),
    }
