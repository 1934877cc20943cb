"""The capstone's quality figures for a model, and the table that prints them.

- **NLL/char**: held-out negative log-likelihood per predicted character on the test split,
  in nats, the end marker counted (a name of n letters is n + 1 predictions).
- **Coherence**: for every country, its five most frequent first letters in the train split,
  ``samples`` names each (temperature 0.8 by default, one seeded Generator for the run);
  the share that an independent judge assigns to the intended country. Two judges, both on
  the character 1- to 4-grams of ``^name$`` and trained on the train split: the naive Bayes
  classifier (:mod:`rnnref.names.classifier`) and the class-balanced logistic regression
  (:mod:`rnnref.names.logreg`), the stronger by macro accuracy (not by plain accuracy).
  Chance is 1/18.
- **Judge on real names**: each judge's accuracy and macro accuracy (the recall of each
  country, averaged over countries, as the protocol weighs countries equally) on the real
  names of the split. It is a reference, not a ceiling: a model sampling typical names at a
  low temperature is judged right more often than real names are.
- **Novelty**: share of generated names that are not a training name (of any country).
- **Starts**: share of generated names that start with the requested letter (must be 1).
- **ms/name**: wall (and CPU) time of the generation divided by the number of names.
"""

import time

import numpy as np

from rnnref import names as _names
from rnnref.charlm import first_letters
from rnnref.names.classifier import default_classifier
from rnnref.names.logreg import default_logreg

# The protocol's temperatures: the one names are generated at, and "near-greedy" (close to
# the argmax, yet the 10 samples of a letter are not all the same name).
TEMPERATURE = 0.8
NEAR_GREEDY = 0.1

# The judges by short name: the one built first, and the stronger one the targets refer to.
JUDGES = {"nb": default_classifier, "logreg": default_logreg}
JUDGE_TITLES = {"nb": "naive Bayes", "logreg": "logistic regression"}


def generate(model, initials, letters, samples, temperature, rng):
    """``[(country, letter, name)]``: ``samples`` names for each of the first ``letters``
    letters of every country, in the order of ``model.countries``; and the wall and CPU
    seconds the sampling took."""
    out = []
    start, cpu = time.perf_counter(), time.process_time()
    for country in model.countries:
        for letter in initials.get(country, [])[:letters]:
            for _ in range(samples):
                out.append((country, letter, model.sample(country, letter, temperature, rng)))
    return out, time.perf_counter() - start, time.process_time() - cpu


def evaluate(model, samples=10, letters=5, temperature=TEMPERATURE, seed=0, split="test"):
    """All the metrics of the module docstring, as a dict (``rows``: one per country;
    ``judges``: per judge its ``coherence`` and its ``accuracy``/``macro_recall`` on the
    real names of ``split``)."""
    test = _names.load_split(split)
    train = _names.load_split("train")
    train_names = {n for n, _ in train}
    generated, gen_seconds, gen_cpu = generate(
        model, first_letters(train), letters, samples, temperature, np.random.default_rng(seed)
    )
    names = [g for _, _, g in generated]
    judges = {}
    predicted = {}
    for key, make in JUDGES.items():
        judge = make()
        predicted[key] = judge.predict(names)
        judges[key] = {
            **judge.evaluate(test),
            "coherence": _share(
                p == c for (c, _, _), p in zip(generated, predicted[key], strict=True)
            ),
        }
    total_nll, total_tok = model.nll(test)
    rows = [
        _country_row(model, country, test, generated, predicted, judges, train_names, samples)
        for country in model.countries
    ]
    n = len(generated)
    return {
        "split": split,
        "nll_per_char": total_nll / total_tok,
        "n_generated": n,
        "judges": judges,
        "chance": 1 / len(model.countries),
        "novelty": _share(g not in train_names for g in names),
        "starts": _share(g.casefold().startswith(ch.casefold()) for _, ch, g in generated),
        "ms_per_name": 1000 * gen_seconds / max(1, n),
        "cpu_ms_per_name": 1000 * gen_cpu / max(1, n),
        "temperature": temperature,
        "samples": samples,
        "letters": letters,
        "seed": seed,
        "rows": rows,
    }


def _country_row(model, country, test, generated, predicted, judges, train_names, samples):
    pairs = [p for p in test if p[1] == country]
    nll, tok = model.nll(pairs) if pairs else (float("nan"), 1)
    mine = [i for i, (c, _, _) in enumerate(generated) if c == country]
    names = [generated[i][2] for i in mine]
    return {
        "country": country,
        "n_test": len(pairs),
        "nll_per_char": nll / tok,
        "real": {k: j["recall"].get(country, float("nan")) for k, j in judges.items()},
        "coherence": {k: _share(p[i] == country for i in mine) for k, p in predicted.items()},
        "novelty": _share(n not in train_names for n in names),
        "starts": _share(
            generated[i][2].casefold().startswith(generated[i][1].casefold()) for i in mine
        ),
        "examples": names[::samples][:3],
    }


def headline(model, temperatures=(TEMPERATURE, NEAR_GREEDY), split="test", seed=0):
    """The figures the targets are stated in, one :func:`evaluate` per temperature:
    ``{"nll_per_char", "judges": {key: {"accuracy", "macro_recall"}}, "by_temperature":
    {T: {"coherence": {key: share}, "novelty"}}, "train": the checkpoint's timings}``."""
    runs = {t: evaluate(model, temperature=t, seed=seed, split=split) for t in temperatures}
    first = runs[temperatures[0]]
    meta = model.meta or {}
    return {
        "split": split,
        "nll_per_char": first["nll_per_char"],
        "n_generated": first["n_generated"],
        "judges": {
            k: {"accuracy": j["accuracy"], "macro_recall": j["macro_recall"]}
            for k, j in first["judges"].items()
        },
        "by_temperature": {
            t: {
                "coherence": {k: j["coherence"] for k, j in r["judges"].items()},
                "novelty": r["novelty"],
            }
            for t, r in runs.items()
        },
        "train": {k: meta.get(k) for k in ("command", "train_seconds", "cpu_seconds")},
        "runs": runs,
    }


def _share(flags):
    flags = list(flags)
    return sum(map(bool, flags)) / len(flags) if flags else float("nan")


def format_table(result):
    """The per-country table and the totals, as text: for each judge (NB, LR) the share of
    real names it gets right (``real``) and of generated names it assigns to the country."""
    r = result
    lines = [
        f"{'country':<11} {'n_test':>6} {'NLL/char':>8} {'real NB':>7} {'gen NB':>6} "
        f"{'real LR':>7} {'gen LR':>6} {'novel':>6} {'starts':>6}  examples",
    ]
    for row in r["rows"]:
        lines.append(
            f"{row['country']:<11} {row['n_test']:>6} {row['nll_per_char']:>8.3f} "
            f"{row['real']['nb']:>7.1%} {row['coherence']['nb']:>6.1%} "
            f"{row['real']['logreg']:>7.1%} {row['coherence']['logreg']:>6.1%} "
            f"{row['novelty']:>6.1%} {row['starts']:>6.0%}  {', '.join(row['examples'])}"
        )
    n_test = sum(row["n_test"] for row in r["rows"])
    nb, lr = r["judges"]["nb"], r["judges"]["logreg"]
    lines.append(
        f"{'all':<11} {n_test:>6} {r['nll_per_char']:>8.3f} {nb['macro_recall']:>7.1%} "
        f"{nb['coherence']:>6.1%} {lr['macro_recall']:>7.1%} {lr['coherence']:>6.1%} "
        f"{r['novelty']:>6.1%} {r['starts']:>6.0%}"
    )
    lines.append("")
    lines.append(
        f"{r['split']} NLL per character (nats, end marker included): {r['nll_per_char']:.4f}"
    )
    lines.append(
        f"generated: {r['n_generated']} names (each country x its {r['letters']} most "
        f"frequent first letters x {r['samples']}, temperature {r['temperature']:g}, seed "
        f"{r['seed']}); chance {r['chance']:.1%}"
    )
    for key, j in r["judges"].items():
        lines.append(
            f"country coherence under the {JUDGE_TITLES[key]} judge: {j['coherence']:.1%} "
            f"(the judge on real {r['split']} names: {j['accuracy']:.1%} accuracy, "
            f"{j['macro_recall']:.1%} macro accuracy)"
        )
    lines.append(
        f"novelty {r['novelty']:.1%}; start with the requested letter {r['starts']:.1%}; "
        f"{r['ms_per_name']:.2f} ms per generated name ({r['cpu_ms_per_name']:.2f} ms CPU)"
    )
    return "\n".join(lines)
