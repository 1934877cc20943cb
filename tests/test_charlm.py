"""The conditional character model: gradients, batching, likelihood, sampler, checkpoints."""

import json
import zipfile

import numpy as np
import pytest

import rnnref.names as rn
from rnnref import charlm
from rnnref.charlm import CharLM, CheckpointError, ModelConfig, TrainConfig
from rnnref.gradcheck import eval_numerical_gradient, rel_error
from rnnref.names.vocab import END_ID, PAD_ID, START_ID, Vocab

TINY = ModelConfig(char_dim=4, country_dim=3, hidden=6, layers=1, max_len=12)


@pytest.fixture(scope="module")
def tiny():
    """A tiny model trained for a few hundred steps: fast, but no longer uniform."""
    train = rn.load_split("train")[::12]
    val = rn.load_split("val")[::20]
    model, history = charlm.train(
        train,
        val,
        rn.vocab(),
        rn.countries(),
        ModelConfig(char_dim=8, country_dim=4, hidden=16, country_bias=True),
        TrainConfig(epochs=3, batch_size=32, lr=1e-2, seed=0),
        progress=False,
        log=lambda *_: None,
    )
    return model, history


def _copy(model):
    """A model with copies of ``model``'s parameters (calibration rescales them in place)."""
    params = {k: v.copy() for k, v in model.params.items()}
    return CharLM(params, model.vocab, model.countries, model.config, model.initials)


# ----------------------------------------------------------------------------- gradients


@pytest.mark.parametrize(
    ("layers", "dropout", "country_bias"), [(1, 0.0, False), (2, 0.3, False), (2, 0.3, True)]
)
def test_gradient_check_of_the_whole_model(layers, dropout, country_bias):
    vocab = Vocab("abO'")
    rng = np.random.default_rng(layers)
    cfg = ModelConfig(char_dim=3, country_dim=2, hidden=3, layers=layers, country_bias=country_bias)
    params = charlm.init_params(len(vocab), 3, cfg, rng)
    params = {k: v + rng.normal(0, 0.1, v.shape) for k, v in params.items()}
    x, y, mask, k = charlm.make_batch(["ab", "O'ab", "b"], [2, 0, 2], vocab)

    def loss(p):
        return charlm.conditional_loss(p, x, y, mask, k, dropout, np.random.default_rng(7))

    _, grads = loss(params)
    assert set(grads) == set(params)
    for name in params:

        def f(z, name=name):
            return loss({**params, name: z})[0]

        num = eval_numerical_gradient(f, params[name].copy())
        assert rel_error(grads[name], num) < 1e-4, name


def test_forward_does_not_mutate_and_loss_matches_layers():
    vocab = rn.vocab()
    model = CharLM.new(vocab, rn.countries(), TINY, seed=1)
    before = {k: v.copy() for k, v in model.params.items()}
    x, y, mask, k = charlm.make_batch(["Abel", "Ng"], [3, 17], vocab)
    scores, _ = charlm.conditional_forward(model.params, x, k)
    assert scores.shape == (2, 5, len(vocab))
    loss, _ = charlm.conditional_loss(model.params, x, y, mask, k)
    assert all(np.array_equal(before[n], model.params[n]) for n in before)
    logp = scores - np.log(np.exp(scores).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(logp, y[..., None], axis=2)[..., 0]
    assert np.isclose(loss, -(picked * mask).sum() / 2)


def test_make_batch_layout():
    vocab = Vocab("abc")
    x, y, mask, k = charlm.make_batch(["ab", "c"], [1, 0], vocab)
    a, b, c = vocab.encode("abc")
    assert x.tolist() == [[START_ID, a, b], [START_ID, c, PAD_ID]]
    assert y.tolist() == [[a, b, END_ID], [c, END_ID, PAD_ID]]
    assert mask.tolist() == [[True, True, True], [True, True, False]]
    assert k.tolist() == [1, 0]


# ----------------------------------------------------------------------------- training


def test_training_lowers_the_validation_loss(tiny):
    model, history = tiny
    assert len(history) == 3
    uniform = np.log(len(model.vocab))
    assert history[-1]["val"] < history[0]["val"] < uniform
    assert model.meta["best_epoch"] == min(history, key=lambda h: h["val"])["epoch"]
    assert model.initials["Irish"][0] in "MOC"


def test_training_writes_the_best_checkpoint(tmp_path):
    out = tmp_path / "m.npz"
    model, history = charlm.train(
        rn.load_split("train")[::50],
        rn.load_split("val")[::50],
        rn.vocab(),
        rn.countries(),
        TINY,
        TrainConfig(epochs=2, batch_size=64, seed=3),
        out=out,
        progress=False,
        log=lambda *_: None,
        extra_meta={"command": "test"},
    )
    loaded = CharLM.load(out)
    assert loaded.meta["command"] == "test"
    # Calibration of the output layer can only lower the best validation NLL.
    assert loaded.meta["best_val_nll"] <= min(h["val"] for h in history) + 1e-12
    assert "output_scale" in loaded.meta
    assert not list(tmp_path.glob("*.tmp"))


def test_calibration_never_worsens_the_validation_nll(tiny):
    model, _ = tiny
    val = rn.load_split("val")[::20]
    copy = _copy(model)
    before = copy.nll_per_char(val)
    scale, after = charlm.calibrate_output(copy, val, iters=6)
    assert after <= before and after == pytest.approx(copy.nll_per_char(val))
    assert np.allclose(copy.params["W_out"], model.params["W_out"] * scale)


def test_training_is_reproducible_with_a_seed():
    def run(seed):
        model, _ = charlm.train(
            rn.load_split("train")[::60],
            rn.load_split("val")[::60],
            rn.vocab(),
            rn.countries(),
            ModelConfig(char_dim=4, country_dim=3, hidden=6, dropout=0.2),
            TrainConfig(epochs=2, seed=seed, ema=0.9),
            progress=False,
            log=lambda *_: None,
        )
        return model.params

    a, b, c = run(1), run(1), run(2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["Wh_0"], c["Wh_0"])


# ----------------------------------------------------------------------------- likelihood


def test_log_likelihood_is_the_sum_of_step_log_probs(tiny):
    model, _ = tiny
    name, country = "O'Neill", "Irish"
    k = model.country_id(country)
    hs, cs = charlm.initial_state(model.params, k)
    total = 0.0
    ids = model.vocab.encode(name)
    for prev, nxt in zip([START_ID, *ids], [*ids, END_ID], strict=True):
        s, hs, cs = charlm.step_scores(model.params, prev, k, hs, cs)
        total += s[nxt] - np.log(np.exp(s - s.max()).sum()) - s.max()
    assert model.log_likelihood(name, country) == pytest.approx(total, rel=1e-10)
    assert model.log_likelihood(name, country) < 0


def test_log_likelihood_errors(tiny):
    model, _ = tiny
    with pytest.raises(ValueError, match="known countries: Arabic, Chinese"):
        model.log_likelihood("Smith", "Atlantis")
    with pytest.raises(ValueError, match="'Ж'"):
        model.log_likelihood("Жуков", "Russian")
    with pytest.raises(ValueError, match="non-empty"):
        model.log_likelihood("", "Russian")


def test_nll_per_char_counts_the_end_marker(tiny):
    model, _ = tiny
    pairs = [("Abel", "French"), ("Ng", "Vietnamese")]
    total, count = model.nll(pairs)
    assert count == 5 + 3
    assert -total == pytest.approx(sum(model.log_likelihood(n, c) for n, c in pairs))


# ----------------------------------------------------------------------------- sampler


def test_samples_start_with_the_letter_and_stop(tiny):
    model, _ = tiny
    rng = np.random.default_rng(0)
    for country in model.countries:
        for letter in ("a", "K", "o"):
            name = model.sample(country, letter, 1.0, rng)
            assert name[0] == letter.upper()
            assert 1 <= len(name) <= model.config.max_len
            assert all(ch in model.vocab for ch in name)
    assert len(model.sample("Russian", "K", 5.0, rng, max_len=3)) <= 3
    assert model.sample("Russian", "K", 1.0, rng, max_len=1) == "K"


def test_sampling_is_reproducible(tiny):
    model, _ = tiny
    a = [model.sample("Irish", "O", 1.0, rng=5) for _ in range(3)]
    assert a == [model.sample("Irish", "O", 1.0, rng=5) for _ in range(3)]
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    assert [model.sample("Greek", "P", 1.2, g1) for _ in range(5)] == [
        model.sample("Greek", "P", 1.2, g2) for _ in range(5)
    ]


def test_sample_ids_is_the_functional_sampler(tiny):
    model, _ = tiny
    k, first = model.country_id("Irish"), model.vocab.id("O")
    ids = charlm.sample_ids(model.params, k, first, 1.0, np.random.default_rng(4), 30)
    assert model.vocab.decode(ids) == model.sample("Irish", "O", 1.0, np.random.default_rng(4))
    assert ids[0] == first and END_ID not in ids


def test_low_temperature_approaches_greedy(tiny):
    model, _ = tiny
    greedy = model.sample("Italian", "B", temperature=0)
    assert greedy == model.sample("Italian", "B", temperature=0, rng=1)
    assert all(model.sample("Italian", "B", 1e-3, rng=s) == greedy for s in range(10))
    hot = {model.sample("Italian", "B", 2.0, rng=s) for s in range(10)}
    assert len(hot) > 1


def test_sampler_errors_name_the_problem(tiny):
    model, _ = tiny
    with pytest.raises(ValueError, match="known countries: .*Irish"):
        model.sample("Klingon", "K")
    for bad in ("1", "Ж", "ab", "", None):
        with pytest.raises(ValueError, match="Irish names start with: .*O"):
            model.sample("Irish", bad)
    with pytest.raises(ValueError, match="temperature"):
        model.sample("Irish", "O", temperature=-1)


def test_first_char_matches_case_insensitively():
    model = CharLM.new(rn.vocab(), rn.countries(), TINY, initials={"Polish": ["Ś", "K"]})
    assert model.first_char("Polish", "ś") == "Ś"
    assert model.first_char("Irish", "o") == "O"


# ----------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip(tiny, tmp_path):
    model, _ = tiny
    pairs = rn.load_split("test")[:40]
    exact = CharLM.load(model.save(tmp_path / "a.npz", dtype=np.float64))
    assert [exact.log_likelihood(n, c) for n, c in pairs] == [
        model.log_likelihood(n, c) for n, c in pairs
    ]
    assert exact.vocab == model.vocab and exact.countries == model.countries
    assert exact.config == model.config and exact.initials == model.initials
    assert exact.meta == json.loads(json.dumps(model.meta))
    small = CharLM.load(model.save(tmp_path / "b.npz"))  # float32 storage
    again = CharLM.load(small.save(tmp_path / "c.npz"))
    for n, c in pairs:
        assert small.log_likelihood(n, c) == pytest.approx(model.log_likelihood(n, c), rel=1e-5)
        assert again.log_likelihood(n, c) == small.log_likelihood(n, c)
    assert small.sample("Irish", "O", rng=3) == again.sample("Irish", "O", rng=3)


def test_corrupt_and_foreign_files_give_clear_errors(tiny, tmp_path):
    model, _ = tiny
    good = model.save(tmp_path / "good.npz")
    with pytest.raises(FileNotFoundError):
        CharLM.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match="not a readable .npz"):
        CharLM.load(junk)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError):
        CharLM.load(cut)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an rnnref.charlm checkpoint"):
        CharLM.load(foreign)
    with pytest.raises(CheckpointError, match="another vocabulary"):
        CharLM.load(good, vocab=Vocab("abc"))
    with pytest.raises(CheckpointError, match="other countries"):
        CharLM.load(good, countries=["Irish"])
    # A checkpoint whose arrays do not match its own vocabulary.
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["param_E_char"] = arrays["param_E_char"][:-1]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(CheckpointError, match="E_char has shape"):
        CharLM.load(bad)
    assert zipfile.is_zipfile(good)


def test_country_bias_is_in_the_step_form_and_the_scores():
    """With ``country_bias`` the incremental sampler step and the batched forward agree, and
    the bias row of the country (only it) moves the scores."""
    cfg = ModelConfig(char_dim=4, country_dim=3, hidden=5, layers=2, country_bias=True)
    model = CharLM.new(rn.vocab(), rn.countries(), cfg, seed=2)
    rng = np.random.default_rng(0)
    model.params["B_out"] = rng.normal(0, 1, model.params["B_out"].shape)
    k = model.country_id("Irish")
    x, _, _, ks = charlm.make_batch(["O'Neill"], [k], model.vocab)
    batched = charlm.conditional_forward(model.params, x, ks)[0][0]
    hs, cs = charlm.initial_state(model.params, k)
    for t, token in enumerate(x[0]):
        step, hs, cs = charlm.step_scores(model.params, token, k, hs, cs)
        assert np.allclose(step, batched[t])
    other = {**model.params, "B_out": model.params["B_out"].copy()}
    other["B_out"][k + 1] += 5.0
    assert np.array_equal(charlm.conditional_forward(other, x, ks)[0][0], batched)
    other["B_out"][k] += 1.0
    assert np.allclose(charlm.conditional_forward(other, x, ks)[0][0], batched + 1.0)


def test_checkpoints_from_before_the_country_bias_still_load(tmp_path):
    cfg = ModelConfig(char_dim=4, country_dim=3, hidden=5, layers=1, country_bias=False)
    model = CharLM.new(rn.vocab(), rn.countries(), cfg, seed=2)
    path = model.save(tmp_path / "old.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["config"]["country_bias"]  # as written by the first version of the format
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    old = CharLM.load(path)
    assert old.config.country_bias is False and "B_out" not in old.params
    assert old.log_likelihood("Abel", "French") == pytest.approx(
        model.log_likelihood("Abel", "French"), rel=1e-5
    )


def test_calibration_scales_the_country_bias_too(tiny):
    model, _ = tiny
    val = rn.load_split("val")[::40]
    copy = _copy(model)
    assert "B_out" in copy.params
    copy.params["B_out"] += 0.5
    before = copy.params["B_out"].copy()
    scale, _ = charlm.calibrate_output(copy, val, iters=4)
    assert np.allclose(copy.params["B_out"], before * scale)
