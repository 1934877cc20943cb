"""Capstone figures of a names model (default: the shipped one).

Prints how the model was trained (command, wall and CPU time, from the checkpoint), the test
NLL per character, country coherence next to the classifier's ceiling, novelty, the share of
names starting with the requested letter, the time to generate one name, and the
per-country table.

    python benchmarks/bench_names.py [--model model.npz] [--samples 10] [--seed 0]
"""

import argparse
import time

import numpy as np

from rnnref import names as rn
from rnnref.charlm import CharLM
from rnnref.names.metrics import evaluate, format_table


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="checkpoint (default: the shipped one)")
    p.add_argument("--samples", type=int, default=10, help="names per country and letter")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    path = rn.PRETRAINED_PATH if args.model is None else args.model
    t0 = time.perf_counter()
    model = CharLM.load(path, vocab=rn.vocab(), countries=rn.countries())
    load_ms = 1000 * (time.perf_counter() - t0)
    meta = model.meta
    c = model.config
    print(f"model: {path}  (loaded in {load_ms:.0f} ms)")
    print(
        f"  LSTM layers={c.layers} hidden={c.hidden} char_dim={c.char_dim} "
        f"country_dim={c.country_dim} dropout={c.dropout}; "
        f"{sum(v.size for v in model.params.values()):,} parameters"
    )
    if meta:
        print(f"  trained by: {meta.get('command', '?')}")
        print(
            f"  training: {meta.get('train_seconds', float('nan')):.0f} s wall, "
            f"{meta.get('cpu_seconds', float('nan')):.0f} s CPU, "
            f"{meta.get('epochs_run')} epochs, best epoch {meta.get('best_epoch')}, "
            f"validation NLL {meta.get('best_val_nll', float('nan')):.4f} nats/char"
        )

    # Generation speed on its own: one name at a time, the way the API is called.
    rng = np.random.default_rng(args.seed)
    model.sample("Irish", "O", rng=rng)  # warm up
    n = 300
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        country = model.countries[i % len(model.countries)]
        model.sample(country, model.initials[country][0], 1.0, rng)
    wall = 1000 * (time.perf_counter() - t0) / n
    cpu = 1000 * (time.process_time() - c0) / n
    print(f"generation: {wall:.2f} ms per name wall, {cpu:.2f} ms CPU (target < 10)")
    print(f"validation NLL per character: {model.nll_per_char(rn.load_split('val')):.4f}")
    print()
    print(format_table(evaluate(model, samples=args.samples, seed=args.seed)))


if __name__ == "__main__":
    main()
