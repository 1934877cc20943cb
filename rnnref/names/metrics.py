"""The capstone's quality figures for a model, and the table that prints them.

- **NLL/char**: held-out negative log-likelihood per predicted character on the test split,
  in nats, the end marker counted (a name of n letters is n + 1 predictions).
- **Coherence**: for every country, its five most frequent first letters in the train split,
  ``samples`` names each (temperature 1 by default, one seeded Generator for the whole run);
  the share that the independent n-gram classifier (:mod:`rnnref.names.classifier`)
  assigns to the intended country. Its **ceiling** is the same classifier's recall on the
  real test names of that country (macro-averaged over countries for the total, as the
  protocol weighs countries equally). Chance is 1/18.
- **Novelty**: share of generated names that are not a training name (of any country).
- **Starts**: share of generated names that start with the requested letter (must be 1).
- **ms/name**: wall (and CPU) time of the generation divided by the number of names.
"""

import time

import numpy as np

from rnnref import names as _names
from rnnref.charlm import first_letters
from rnnref.names.classifier import default_classifier


def evaluate(model, samples=10, letters=5, temperature=1.0, seed=0, split="test"):
    """All the metrics of the module docstring, as a dict (``rows``: one per country)."""
    test = _names.load_split(split)
    train = _names.load_split("train")
    train_names = {n for n, _ in train}
    clf = default_classifier()
    ceiling = clf.evaluate(test)
    initials = first_letters(train)
    rng = np.random.default_rng(seed)

    total_nll, total_tok = model.nll(test)
    rows = []
    all_gen = []
    gen_seconds = gen_cpu = 0.0
    for country in model.countries:
        pairs = [p for p in test if p[1] == country]
        nll, tok = model.nll(pairs) if pairs else (float("nan"), 1)
        generated = []
        start, cpu = time.perf_counter(), time.process_time()
        for letter in initials.get(country, [])[:letters]:
            for _ in range(samples):
                generated.append((letter, model.sample(country, letter, temperature, rng)))
        gen_seconds += time.perf_counter() - start
        gen_cpu += time.process_time() - cpu
        names = [g for _, g in generated]
        predicted = clf.predict(names) if names else []
        rows.append(
            {
                "country": country,
                "n_test": len(pairs),
                "nll_per_char": nll / tok,
                "ceiling": ceiling["recall"].get(country, float("nan")),
                "coherence": _share(p == country for p in predicted),
                "novelty": _share(n not in train_names for n in names),
                "starts": _share(g.casefold().startswith(ch.casefold()) for ch, g in generated),
                "examples": names[::samples][:3],
            }
        )
        all_gen.extend((country, ch, g, p) for (ch, g), p in zip(generated, predicted, strict=True))
    return {
        "split": split,
        "nll_per_char": total_nll / total_tok,
        "n_generated": len(all_gen),
        "coherence": _share(p == c for c, _, _, p in all_gen),
        "ceiling_macro": ceiling["macro_recall"],
        "ceiling_accuracy": ceiling["accuracy"],
        "chance": 1 / len(model.countries),
        "novelty": _share(g not in train_names for _, _, g, _ in all_gen),
        "starts": _share(g.casefold().startswith(ch.casefold()) for _, ch, g, _ in all_gen),
        "ms_per_name": 1000 * gen_seconds / max(1, len(all_gen)),
        "cpu_ms_per_name": 1000 * gen_cpu / max(1, len(all_gen)),
        "temperature": temperature,
        "samples": samples,
        "letters": letters,
        "seed": seed,
        "rows": rows,
    }


def _share(flags):
    flags = list(flags)
    return sum(map(bool, flags)) / len(flags) if flags else float("nan")


def format_table(result):
    """The per-country table and the totals, as text."""
    r = result
    lines = [
        f"{'country':<11} {'n_test':>6} {'NLL/char':>8} {'ceiling':>7} {'coherent':>8} "
        f"{'novel':>6} {'starts':>6}  examples",
    ]
    for row in r["rows"]:
        lines.append(
            f"{row['country']:<11} {row['n_test']:>6} {row['nll_per_char']:>8.3f} "
            f"{row['ceiling']:>7.1%} {row['coherence']:>8.1%} {row['novelty']:>6.1%} "
            f"{row['starts']:>6.0%}  {', '.join(row['examples'])}"
        )
    n_test = sum(row["n_test"] for row in r["rows"])
    lines.append(
        f"{'all':<11} {n_test:>6} {r['nll_per_char']:>8.3f} {r['ceiling_macro']:>7.1%} "
        f"{r['coherence']:>8.1%} {r['novelty']:>6.1%} {r['starts']:>6.0%}"
    )
    lines.append("")
    lines.append(
        f"{r['split']} NLL per character (nats, end marker included): {r['nll_per_char']:.4f}"
    )
    lines.append(
        f"country coherence: {r['coherence']:.1%} of {r['n_generated']} generated names "
        f"(each country x its {r['letters']} most frequent first letters x {r['samples']}, "
        f"temperature {r['temperature']:g}, seed {r['seed']}); classifier ceiling on real "
        f"{r['split']} names {r['ceiling_macro']:.1%} macro recall "
        f"({r['ceiling_accuracy']:.1%} accuracy); chance {r['chance']:.1%}"
    )
    lines.append(
        f"novelty {r['novelty']:.1%}; start with the requested letter {r['starts']:.1%}; "
        f"{r['ms_per_name']:.2f} ms per generated name ({r['cpu_ms_per_name']:.2f} ms CPU)"
    )
    return "\n".join(lines)
