"""Capstone figures of a names model (default: the shipped one).

Prints how the model was trained (command, wall and CPU time, from the checkpoint), the test
NLL per character, country coherence under both judges (naive Bayes and logistic
regression) at temperature 0.8 and near-greedy, novelty, each judge's accuracy and macro
accuracy on the real test names, the time to generate one name, and the per-country table
at temperature 0.8. The issue-17 targets are printed next to the figures.

    python benchmarks/bench_names.py [--model model.npz] [--seed 0]
"""

import argparse
import time

import numpy as np

from rnnref import names as rn
from rnnref.charlm import CharLM
from rnnref.names import metrics

TARGETS = {"nll": 1.78, "coherence_logreg": 0.70, "novelty": 0.75, "train_seconds": 600}


def _generation_ms(model, seed, n=300):
    """Wall and CPU milliseconds per name, one name at a time (the way the API is called)."""
    rng = np.random.default_rng(seed)
    model.sample("Irish", "O", rng=rng)  # warm up
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        country = model.countries[i % len(model.countries)]
        model.sample(country, model.initials[country][0], 1.0, rng)
    return 1000 * (time.perf_counter() - t0) / n, 1000 * (time.process_time() - c0) / n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="checkpoint (default: the shipped one)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    path = rn.PRETRAINED_PATH if args.model is None else args.model
    t0 = time.perf_counter()
    model = CharLM.load(path, vocab=rn.vocab(), countries=rn.countries())
    load_ms = 1000 * (time.perf_counter() - t0)
    meta, c = model.meta, model.config
    print(f"model: {path}  (loaded in {load_ms:.0f} ms)")
    print(
        f"  LSTM layers={c.layers} hidden={c.hidden} char_dim={c.char_dim} "
        f"country_dim={c.country_dim} dropout={c.dropout} country_bias={c.country_bias}; "
        f"{sum(v.size for v in model.params.values()):,} parameters"
    )
    if meta:
        print(f"  trained by: {meta.get('command', '?')}")
        print(
            f"  training: {meta.get('train_seconds', float('nan')):.0f} s wall, "
            f"{meta.get('cpu_seconds', float('nan')):.0f} s CPU (target <= "
            f"{TARGETS['train_seconds']} s), {meta.get('epochs_run')} epochs, best epoch "
            f"{meta.get('best_epoch')}, validation NLL {meta.get('best_val_nll', float('nan')):.4f}"
        )
    wall, cpu = _generation_ms(model, args.seed)
    print(f"generation: {wall:.2f} ms per name wall, {cpu:.2f} ms CPU (target < 10)")

    h = metrics.headline(model, seed=args.seed)
    print(f"test NLL per character: {h['nll_per_char']:.4f} (target <= {TARGETS['nll']})")
    for key, j in h["judges"].items():
        print(
            f"{metrics.JUDGE_TITLES[key]} judge on real test names: {j['accuracy']:.1%} "
            f"accuracy, {j['macro_recall']:.1%} macro accuracy"
        )
    for t, r in h["by_temperature"].items():
        co = r["coherence"]
        print(
            f"temperature {t:g}: coherence {co['nb']:.1%} (naive Bayes), {co['logreg']:.1%} "
            f"(logistic regression), novelty {r['novelty']:.1%} of {h['n_generated']} names"
        )
    print(
        f"targets at temperature {metrics.TEMPERATURE:g}: coherence (logistic regression) >= "
        f"{TARGETS['coherence_logreg']:.0%}, novelty >= {TARGETS['novelty']:.0%}"
    )
    print()
    print(metrics.format_table(h["runs"][metrics.TEMPERATURE]))


if __name__ == "__main__":
    main()
