"""The logistic-regression judge: sparse products, gradient, class balance, files, and the
shipped judge; the evaluation that reports both judges."""

import numpy as np
import pytest

import rnnref.names as rn
from rnnref.gradcheck import eval_numerical_gradient, rel_error
from rnnref.names import logreg, metrics
from rnnref.names.classifier import default_classifier

PAIRS = [("Abe", "x"), ("Abel", "x"), ("Bob", "y"), ("Bobby", "y"), ("Ng", "z"), ("Nga", "z")]


def _dense(feats, F):
    X = np.zeros((feats.n, F))
    X[feats.rows, feats.cols] = 1.0
    return X


def test_sparse_scores_equal_the_dense_product():
    index = {g: i for i, g in enumerate(sorted({g for n, _ in PAIRS for g in logreg.ngrams(n)}))}
    feats = logreg.featurize([n for n, _ in PAIRS] + ["Abby"], index)
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(len(index), 3)), rng.normal(size=3)
    assert np.allclose(logreg.scores_of(feats, W, b), _dense(feats, len(index)) @ W + b)


def test_weighted_softmax_gradient_is_numerically_right():
    rng = np.random.default_rng(1)
    S, y = rng.normal(size=(5, 4)), np.array([0, 3, 3, 1, 2])
    w = rng.random(5)
    w /= w.sum()
    _, dS = logreg.softmax_grad(S, y, w)
    num = eval_numerical_gradient(lambda z: logreg.softmax_grad(z, y, w)[0], S.copy())
    assert rel_error(dS, num) < 1e-7


def test_fit_learns_the_toy_classes_and_is_deterministic():
    a = logreg.NgramLogReg.fit(PAIRS, l2=1e-4, steps=100, lr=0.1, min_count=1)
    b = logreg.NgramLogReg.fit(PAIRS, l2=1e-4, steps=100, lr=0.1, min_count=1)
    assert a.predict(["Abe", "Bobby", "Nga"]) == ["x", "y", "z"]
    assert np.array_equal(a.W, b.W)


def test_class_balance_lifts_the_small_countries():
    """With 52% Russian names in training, the balanced loss does not just answer Russian:
    far above chance on every country on average, and Russian is predicted for less than
    60% of the validation names."""
    train = rn.load_split("train")[::5]
    val = rn.load_split("val")
    judge = logreg.NgramLogReg.fit(train, rn.countries(), steps=80)
    result = judge.evaluate(val)
    assert result["macro_recall"] > 0.4 > 1 / 18
    predicted = judge.predict([n for n, _ in val])
    assert predicted.count("Russian") / len(predicted) < 0.6


def test_unknown_ngrams_only_raise_a_clear_error():
    judge = logreg.NgramLogReg.fit(PAIRS, steps=5, min_count=1)
    assert judge.predict(["Zzz"]) in (["x"], ["y"], ["z"])  # ^ and $ are always known
    empty = logreg.NgramLogReg(["x"], {"ab": 0}, np.zeros((1, 1)), np.zeros(1), 0.0)
    with pytest.raises(ValueError, match="no n-gram known"):
        empty.predict(["Q"])


def test_judge_file_round_trip_and_bad_files(tmp_path):
    judge = logreg.NgramLogReg.fit(PAIRS, steps=20, min_count=1)
    path = logreg.save(judge, tmp_path / "j.npz", {"note": "test"})
    back = logreg.load(path, ["x", "y", "z"])
    names = ["Abe", "Bobby", "Ng", "Abba"]
    assert back.predict(names) == judge.predict(names) and back.meta["note"] == "test"
    with pytest.raises(ValueError, match="other countries"):
        logreg.load(path, ["x", "y"])
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable judge file"):
        logreg.load(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        logreg.load(tmp_path / "missing.npz")


def test_select_l2_returns_the_best_on_validation():
    train, val = rn.load_split("train")[::10], rn.load_split("val")[::2]
    best, table = logreg.select_l2(train, val, rn.countries(), grid=(1e-4, 1e-1), steps=40)
    assert set(table) == {1e-4, 1e-1} and table[best.l2] == max(table.values())
    assert best.evaluate(val)["macro_recall"] == table[best.l2]


def test_shipped_judge_was_picked_on_validation_and_is_stronger():
    judge = logreg.default_logreg()
    table = judge.meta["val_macro_accuracy"]
    assert f"{judge.l2:g}" == max(table, key=table.get)
    test = rn.load_split("test")
    mine, nb = judge.evaluate(test), default_classifier().evaluate(test)
    assert mine["macro_recall"] > nb["macro_recall"]
    assert mine["accuracy"] > 0.7


def test_evaluate_reports_both_judges():
    model = rn.load_pretrained()
    result = metrics.evaluate(model, samples=2, letters=1, temperature=0.8)
    assert set(result["judges"]) == {"nb", "logreg"}
    for j in result["judges"].values():
        assert 1 / 18 < j["macro_recall"] <= 1 and 1 / 18 < j["accuracy"] <= 1
        assert 0 <= j["coherence"] <= 1
    table = metrics.format_table(result)
    assert "logistic regression judge" in table and "macro accuracy" in table
    assert "ceiling" not in table
