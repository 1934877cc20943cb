"""The network: its configuration, parameters, batched forward/backward and loss.

Shapes: N names in a batch, T steps (longest name + 1), V vocabulary size, K countries,
Dc/Dk character/country embedding sizes, H hidden. The parameter names are listed in the
package docstring (:mod:`rnnref.charlm`).
"""

import math
from dataclasses import dataclass

import numpy as np

from rnnref import layers, lstm
from rnnref.names.vocab import END_ID, PAD_ID, START_ID


@dataclass(frozen=True)
class ModelConfig:
    """Architecture. ``dropout`` only acts while training. ``country_bias``: the output
    layer has a bias per country (``B_out``, added to ``b_out``), so that which letters and
    endings a country uses need not pass through the recurrent state. The defaults are the
    shipped model's (``rnnref/names/pretrained.npz``)."""

    char_dim: int = 48
    country_dim: int = 24
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.3
    max_len: int = 30
    country_bias: bool = False


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
    if c.country_bias:
        p["B_out"] = np.zeros((n_countries, vocab_size))
    return p


def n_layers(params):
    """The number of stacked LSTM layers of a parameter dict."""
    return sum(1 for k in params if k.startswith("Wx_"))


def dropout_forward(a, rate, rng):
    """Inverted dropout: ``(a * keep, keep)`` with ``keep`` 0 or ``1/(1-rate)`` per entry;
    ``(a, None)`` when off (no rate or no Generator)."""
    if not rate or rng is None:
        return a, None
    keep = (rng.random(a.shape) >= rate) / (1.0 - rate)
    return a * keep, keep


def conditional_forward(params, x, countries, dropout=0.0, rng=None):
    """Scores of the next character at every step.

    Args:
        params: the parameter dict (package docstring).
        x: ``(N, T)`` input ids (``<s>`` then the characters, padded with ``<pad>``).
        countries: ``(N,)`` country ids.
        dropout, rng: inverted dropout rate and the Generator drawing its masks; no dropout
            unless both are given (evaluation).

    Returns:
        ``scores (N, T, V)`` and a cache for :func:`conditional_backward`: the embedding
        caches, ``Dc``, per layer ``(keep mask, H0 cache, LSTM cache)``, the top dropout
        mask and the output layer's caches (affine, and country bias or ``None``).
    """
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
    for lay in range(n_layers(params)):
        inp, keep = dropout_forward(inp, dropout, rng)
        h0, c_h0 = layers.embedding_forward(countries[:, None], params[f"H0_{lay}"])
        h, c_lstm = lstm.lstm_forward(
            inp, h0[:, 0], params[f"Wx_{lay}"], params[f"Wh_{lay}"], params[f"b_{lay}"]
        )
        stack.append((keep, c_h0, c_lstm))
        inp = h
    inp, keep_top = dropout_forward(inp, dropout, rng)
    scores, c_out = layers.temporal_affine_forward(inp, params["W_out"], params["b_out"])
    c_bias = None
    if "B_out" in params:
        bias, c_bias = layers.embedding_forward(countries[:, None], params["B_out"])
        scores = scores + bias  # (N, 1, V): the same row at every step
    return scores, (c_char, c_cty, Dc, stack, keep_top, (c_out, c_bias))


def conditional_backward(dscores, cache):
    """Backward of :func:`conditional_forward`: a dict of gradients, one per parameter."""
    c_char, c_cty, Dc, stack, keep_top, (c_out, c_bias) = cache
    grads = {}
    if c_bias is not None:
        grads["B_out"] = layers.embedding_backward(dscores.sum(axis=1, keepdims=True), c_bias)
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
