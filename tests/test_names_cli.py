"""Smoke runs of ``python -m rnnref.names`` and the shipped model."""

import subprocess
import sys

import numpy as np
import pytest

import rnnref.names as rn
from rnnref.charlm import CharLM


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "rnnref.names", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture(scope="module")
def pretrained():
    return rn.load_pretrained()


def test_shipped_model_matches_the_data(pretrained):
    assert pretrained.vocab == rn.vocab()
    assert pretrained.countries == rn.countries()
    assert rn.PRETRAINED_PATH.stat().st_size < 4_000_000
    assert "command" in pretrained.meta and pretrained.meta["cpu_seconds"] < 600


@pytest.mark.slow
def test_shipped_model_quality_on_validation(pretrained):
    # The quality bar the lesson's graded cell also uses (validation split, nats/char).
    assert pretrained.nll_per_char(rn.load_split("val")) < 1.9


def test_shipped_model_api(pretrained):
    rng = np.random.default_rng(0)
    names = [pretrained.sample("Irish", "o", 0.8, rng) for _ in range(20)]
    assert all(n.startswith("O") for n in names)
    assert pretrained.log_likelihood("O'Neill", "Irish") > pretrained.log_likelihood(
        "O'Neill", "Japanese"
    )


def test_generate(pretrained):
    out = run("generate", "--country", "Irish", "--letter", "O", "-n", "4", "--seed", "1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 4 and all(n.startswith("O") for n in lines)
    rng = np.random.default_rng(1)
    assert lines == [pretrained.sample("Irish", "O", 1.0, rng) for _ in range(4)]
    again = run("generate", "--country", "Irish", "--letter", "O", "-n", "4", "--seed", "1")
    assert again.stdout == out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "Atlantis", "--letter", "A"], "known countries: Arabic"),
        (["--country", "Irish", "--letter", "7"], "Irish names start with"),
        (["--country", "Irish", "--letter", "O", "--temperature", "-1"], "temperature"),
        (["--country", "Irish", "--letter", "O", "--model", "nope.npz"], "no checkpoint"),
    ],
)
def test_generate_errors(args, message):
    out = run("generate", *args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_bad_arguments_exit_2():
    assert run("generate", "--country", "Irish").returncode == 2
    assert run("generate", "--country", "Irish", "--letter", "O", "-n", "0").returncode == 2
    assert run("fly").returncode == 2


def test_train_evaluate_and_no_overwrite(tmp_path):
    out = tmp_path / "tiny.npz"
    args = ["--out", str(out), "--epochs", "1", "--hidden", "4", "--char-dim", "3"]
    args += ["--country-dim", "2", "--subsample", "20", "--quiet"]
    first = run("train", *args)
    assert first.returncode == 0, first.stderr
    assert "saved" in first.stdout
    model = CharLM.load(out)
    assert model.config.hidden == 4
    assert model.meta["command"].startswith("python -m rnnref.names train --out")
    stamp = out.stat().st_mtime_ns
    second = run("train", *args)
    assert second.returncode == 2 and "--force" in second.stderr
    assert out.stat().st_mtime_ns == stamp
    evaluated = run("evaluate", "--model", str(out), "--samples", "1", "--letters", "1")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "NLL per character" in evaluated.stdout and "Vietnamese" in evaluated.stdout
    assert "logistic regression judge" in evaluated.stdout


def test_judge_command_fits_saves_and_never_overwrites(tmp_path):
    from rnnref.names import logreg

    out = tmp_path / "judge.npz"
    args = ["--out", str(out), "--steps", "3", "--l2", "0.01", "0.1"]
    first = run("judge", *args)
    assert first.returncode == 0, first.stderr
    assert "l2 0.01: validation macro accuracy" in first.stdout and "*best" in first.stdout
    judge = logreg.load(out, rn.countries())
    assert judge.l2 in (0.01, 0.1) and judge.meta["steps"] == 3
    stamp = out.stat().st_mtime_ns
    second = run("judge", *args)
    assert second.returncode == 2 and "--force" in second.stderr
    assert out.stat().st_mtime_ns == stamp


def test_evaluate_rejects_a_foreign_file(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W=np.zeros(2))
    out = run("evaluate", "--model", str(foreign))
    assert out.returncode == 2 and "not an rnnref.charlm checkpoint" in out.stderr


def test_data_report():
    out = run("data")
    assert out.returncode == 0
    assert "Czech.txt:361: unexpected character" in out.stdout
    assert "test: 1776 pairs" in out.stdout
