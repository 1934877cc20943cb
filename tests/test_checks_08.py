"""Hidden checks of lesson 08 (capstone): the conditional forward, loss and sampler are
compared with :mod:`rnnref.charlm` through the worker-side adapters
(:mod:`autograder.checks.adapters.capstone`); the quality bar is evaluated in the judge by the
reference model on the student's trained parameters (``MetricSpec``).

Student functions are built from source in a namespace named ``__main__``, as in a kernel.
"""

import textwrap

import numpy as np
import pytest

from autograder.judge import check

SOLUTION = """
import numpy as np
from rnnref.layers import (embedding_backward, embedding_forward, temporal_affine_backward,
    temporal_affine_forward, temporal_softmax_loss)
from rnnref.lstm import lstm_backward, lstm_forward, lstm_step_forward
PAD_ID, START_ID, END_ID = 0, 1, 2

def conditional_forward(params, x, countries):
    N, T = x.shape
    e_char, c_char = embedding_forward(x, params["E_char"])
    e_cty, c_cty = embedding_forward(np.repeat(countries[:, None], T, 1), params["E_country"])
    inp = np.concatenate([e_char, e_cty], axis=2)
    h, c_lstm = lstm_forward(inp, params["H0_0"][countries], params["Wx_0"], params["Wh_0"],
                             params["b_0"])
    scores, c_out = temporal_affine_forward(h, params["W_out"], params["b_out"])
    return scores, (c_char, c_cty, c_lstm, c_out, countries, params["H0_0"].shape,
                    e_char.shape[2])

def conditional_loss(params, x, y, mask, countries):
    scores, cache = conditional_forward(params, x, countries)
    loss, dscores = temporal_softmax_loss(scores, y, mask)
    c_char, c_cty, c_lstm, c_out, countries, h0_shape, Dc = cache
    g = {}
    dh, g["W_out"], g["b_out"] = temporal_affine_backward(dscores, c_out)
    dinp, dh0, g["Wx_0"], g["Wh_0"], g["b_0"] = lstm_backward(dh, c_lstm)
    g["H0_0"] = np.zeros(h0_shape)
    np.add.at(g["H0_0"], countries, dh0)
    g["E_char"] = embedding_backward(dinp[:, :, :Dc], c_char)
    g["E_country"] = embedding_backward(dinp[:, :, Dc:], c_cty)
    return loss, g

def sample_name(params, vocab, country_id, first_letter, temperature=1.0, rng=None,
                max_len=20):
    rng = np.random.default_rng() if rng is None else rng
    e_k = params["E_country"][[country_id]]
    h = params["H0_0"][[country_id]]
    c = np.zeros_like(h)
    def step(token, h, c):
        u = np.concatenate([params["E_char"][[token]], e_k], axis=1)
        h, c, _ = lstm_step_forward(u, h, c, params["Wx_0"], params["Wh_0"], params["b_0"])
        return (h @ params["W_out"] + params["b_out"])[0], h, c
    _, h, c = step(START_ID, h, c)
    ids = [vocab.id(first_letter)]
    while len(ids) < max_len:
        scores, h, c = step(ids[-1], h, c)
        scores[[PAD_ID, START_ID]] = -np.inf
        if temperature == 0:
            token = int(np.argmax(scores))
        else:
            s = scores / temperature
            p = np.exp(s - s.max())
            token = int(rng.choice(len(p), p=p / p.sum()))
        if token == END_ID:
            break
        ids.append(token)
    return "".join(vocab.tokens[i] for i in ids)
"""


def run(name, extra="", **glob):
    ns = {"__name__": "__main__", **glob}
    exec(compile(SOLUTION + textwrap.dedent(extra), "<cell>", "exec"), ns)
    return check(name, ns[name])


def failure(name, extra="", **glob):
    with pytest.raises(AssertionError) as info:
        run(name, extra, **glob)
    return str(info.value)


@pytest.mark.parametrize(
    "name, cases", [("conditional_forward", 4), ("conditional_loss", 4), ("sample_name", 5)]
)
def test_correct_functions_pass(name, cases, capsys):
    run(name)
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: passed {cases} cases"), out
    if name == "conditional_loss":
        assert "gradient check" in out


GATES_IFGO = """
_fwd = conditional_forward
def conditional_forward(params, x, countries):
    p = dict(params)
    H = p["Wh_0"].shape[0]
    cols = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
    p["Wx_0"], p["Wh_0"], p["b_0"] = p["Wx_0"][:, cols], p["Wh_0"][:, cols], p["b_0"][cols]
    return _fwd(p, x, countries)
"""


@pytest.mark.parametrize(
    "name, extra, expected",
    [
        ("conditional_forward", GATES_IFGO, "gate order"),
        (
            "conditional_forward",
            """
            _fwd = conditional_forward
            def conditional_forward(params, x, countries):
                return _fwd({**params, "H0_0": 0 * params["H0_0"]}, x, countries)
            """,
            "the initial state ignores the country",
        ),
        (
            "conditional_loss",
            """
            _loss = conditional_loss
            def conditional_loss(params, x, y, mask, countries):
                return _loss(params, x, y, np.ones_like(mask), countries)
            """,
            "the mask is ignored",
        ),
        (
            "conditional_loss",
            """
            _loss = conditional_loss
            def conditional_loss(params, x, y, mask, countries):
                loss, g = _loss(params, x, y, mask, countries)
                s = x.shape[0] / mask.sum()
                return loss * s, {k: v * s for k, v in g.items()}
            """,
            "loss averaged over the characters",
        ),
        (
            "conditional_loss",
            """
            _loss = conditional_loss
            def conditional_loss(params, x, y, mask, countries):
                loss, g = _loss(params, x, y, mask, countries)
                return loss, {**g, "H0_0": 0 * g["H0_0"]}
            """,
            "dH0_0 is zero",
        ),
        (
            "conditional_loss",
            """
            _loss = conditional_loss
            def conditional_loss(params, x, y, mask, countries):
                loss, g = _loss(params, x, y, mask, countries)
                return loss, {**g, "Wh_0": 2 * g["Wh_0"]}
            """,
            "Numerical check against your own forward: dWh_0",
        ),
        (
            "sample_name",
            """
            _sample = sample_name
            def sample_name(params, vocab, k, first, temperature=1.0, rng=None, max_len=20):
                t = 1 / temperature if temperature else 0
                return _sample(params, vocab, k, first, t, rng, max_len)
            """,
            "multiplied by the temperature",
        ),
        (
            "sample_name",
            """
            _sample = sample_name
            def sample_name(params, vocab, k, first, temperature=1.0, rng=None, max_len=20):
                return _sample(params, vocab, k, first, temperature, rng, max_len + 1)
            """,
            "one character too long",
        ),
        (
            "sample_name",
            """
            _sample = sample_name
            def sample_name(params, vocab, k, first, temperature=1.0, rng=None, max_len=20):
                return _sample(params, vocab, k, first, 0, rng, max_len)
            """,
            "greedy decoding at a temperature > 0",
        ),
    ],
)
def test_known_mistakes_get_targeted_messages(name, extra, expected):
    message = failure(name, extra)
    assert expected in message, message


def test_answer_key_is_blocked():
    message = failure(
        "conditional_forward",
        """
        def conditional_forward(params, x, countries):
            from rnnref.charlm import conditional_forward as ref
            return ref(params, x, countries)
        """,
    )
    assert "rnnref.charlm" in message, message


def _params(H=8, seed=0):
    from rnnref.names import countries, vocab

    rng = np.random.default_rng(seed)
    V, K = len(vocab()), len(countries())
    return {
        "E_char": rng.standard_normal((V, 4)),
        "E_country": rng.standard_normal((K, 2)),
        "H0_0": np.zeros((K, H)),
        "Wx_0": rng.standard_normal((6, 4 * H)),
        "Wh_0": rng.standard_normal((H, 4 * H)),
        "b_0": np.zeros(4 * H),
        "W_out": rng.standard_normal((H, V)),
        "b_out": np.zeros(V),
    }


def _check_params(params):
    ns = {"__name__": "__main__", "params": params}
    exec("def trained_params():\n    return params\n", ns)
    return check("trained_params", ns["trained_params"])


def test_quality_bar_is_computed_by_the_judge():
    with pytest.raises(AssertionError, match=r"validation NLL \d\.\d+ .*the bar is 2\.6"):
        _check_params(_params())
    bad = _params()
    bad["W_out"] = bad["W_out"][:, :5]
    with pytest.raises(AssertionError, match="do not fit the names data"):
        _check_params(bad)


@pytest.mark.slow
def test_quality_bar_passes_for_a_trained_model(capsys):
    """A model with the lesson's keys (one layer, no country bias), trained for a few hundred
    steps by the reference, clears the bar (the shipped model has more layers)."""
    import rnnref.names as rn
    from rnnref import charlm

    model, _ = charlm.train(
        rn.load_split("train")[::2],
        rn.load_split("val")[::10],
        rn.vocab(),
        rn.countries(),
        charlm.ModelConfig(char_dim=16, country_dim=8, hidden=32, dropout=0.0),
        charlm.TrainConfig(epochs=2, lr=1e-2, ema=0.0, calibrate=False),
        progress=False,
        log=lambda *_: None,
    )
    _check_params(model.params)
    assert "below the bar" in capsys.readouterr().out
