"""Command line: ``python -m rnnref.names {generate,train,evaluate,judge,data} ...``.

Examples::

    python -m rnnref.names generate --country Irish --letter O -n 5 --temperature 0.8 --seed 1
    python -m rnnref.names train --out model.npz --seed 0
    python -m rnnref.names evaluate --model model.npz
    python -m rnnref.names judge --out judge.npz   # refit the logistic-regression judge
    python -m rnnref.names data            # the loader's report on the shipped files

Bad input (unknown country or letter, missing or foreign checkpoint, an output file that
exists without ``--force``) prints ``error: ...`` and exits with status 2.
"""

import argparse
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from rnnref import charlm
from rnnref import names as rn
from rnnref.names import metrics

_DEFAULT_MODEL = charlm.ModelConfig()
_DEFAULT_TRAIN = charlm.TrainConfig()
_LOGREG_STEPS = 100  # rnnref.names.logreg.STEPS, without importing it for every command


def _positive_int(s):
    n = int(s)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {s}")
    return n


def _load(path, check_data=False):
    if path is None:
        return charlm.CharLM.load(rn.PRETRAINED_PATH)
    if check_data:
        return charlm.CharLM.load(path, vocab=rn.vocab(), countries=rn.countries())
    return charlm.CharLM.load(path)


def cmd_generate(args):
    model = _load(args.model)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.n):
        print(model.sample(args.country, args.letter, args.temperature, rng, args.max_len))


def _output_path(args):
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists; pass --force to overwrite it")
    if not out.parent.is_dir():
        raise ValueError(f"directory {out.parent} does not exist")
    return out


def cmd_train(args):
    out = _output_path(args)
    mcfg = charlm.ModelConfig(
        char_dim=args.char_dim,
        country_dim=args.country_dim,
        hidden=args.hidden,
        layers=args.layers,
        dropout=args.dropout,
        country_bias=args.country_bias,
    )
    tcfg = charlm.TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        schedule=args.schedule,
        min_lr=args.min_lr,
        ema=args.ema,
        clip=args.clip,
        weight_decay=args.weight_decay,
        patience=args.patience,
        time_limit=args.time_limit,
        seed=args.seed,
    )
    command = "python -m rnnref.names " + " ".join(map(shlex.quote, sys.argv[1:]))
    step = args.subsample
    model, _ = charlm.train(
        rn.load_split("train")[::step],
        rn.load_split("val")[::step],
        rn.vocab(),
        rn.countries(),
        mcfg,
        tcfg,
        out=out,
        progress=not args.quiet,
        extra_meta={
            "command": command,
            "numpy": np.__version__,
            "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"),
        },
    )
    print(
        f"saved {out}: best epoch {model.meta['best_epoch']}, validation NLL "
        f"{model.meta['best_val_nll']:.4f} nats/char, {model.meta['train_seconds']:.0f} s"
    )


def cmd_evaluate(args):
    model = _load(args.model, check_data=True)
    result = metrics.evaluate(
        model, args.samples, args.letters, args.temperature, args.seed, args.split
    )
    print(metrics.format_table(result))


def cmd_judge(args):
    import time

    from rnnref.names import logreg

    out = _output_path(args)
    train, val = rn.load_split("train"), rn.load_split("val")
    start = time.process_time()
    grid = tuple(args.l2) if args.l2 else logreg.L2_GRID
    judge, table = logreg.select_l2(train, val, rn.countries(), grid, steps=args.steps)
    for l2, macro in table.items():
        best = "  *best" if l2 == judge.l2 else ""
        print(f"l2 {l2:g}: validation macro accuracy {macro:.4f}{best}")
    meta = {
        "steps": args.steps,
        "val_macro_accuracy": {f"{k:g}": v for k, v in table.items()},
        "cpu_seconds": round(time.process_time() - start, 1),
        "command": "python -m rnnref.names " + " ".join(map(shlex.quote, sys.argv[1:])),
    }
    logreg.save(judge, out, meta)
    print(
        f"saved {out}: l2 {judge.l2:g}, {len(judge.index)} n-grams, {meta['cpu_seconds']:.0f} s CPU"
    )


def cmd_data(args):
    data = rn.read_names(args.dir or rn.DATA_DIR)
    print(
        f"{len(data.pairs)} (name, country) pairs in {len(data.countries)} countries; "
        f"dropped {data.duplicates} duplicate and {data.blank} blank lines, "
        f"skipped {len(data.problems)} bad lines:"
    )
    for p in data.problems:
        print(f"  {p}")
    if args.dir is None:
        for split in rn.SPLITS:
            print(f"{split}: {len(rn.load_split(split))} pairs")


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m rnnref.names",
        description="Surnames by country: generate, train, evaluate (rnnref capstone).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate surnames for a country and first letter")
    g.add_argument("--country", required=True, help="e.g. Irish (see `data`)")
    g.add_argument("--letter", required=True, help="the first letter, any case")
    g.add_argument("-n", type=_positive_int, default=5, help="how many names (5)")
    g.add_argument("--temperature", type=float, default=1.0, help="> 0; 0 = greedy (1.0)")
    g.add_argument("--seed", type=int, default=None, help="random seed (fresh if omitted)")
    g.add_argument("--max-len", type=_positive_int, default=None, help="longest name")
    g.add_argument("--model", default=None, help="checkpoint (default: the shipped one)")
    g.set_defaults(func=cmd_generate)

    t = sub.add_parser(
        "train",
        help="train a model on the train split, keep the best on val",
        description="Train on the train split, keep the best epoch on val. The defaults "
        "are the shipped model's configuration.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    t.add_argument("--out", required=True, help="checkpoint to write (.npz)")
    t.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    t.add_argument("--seed", type=int, default=_DEFAULT_TRAIN.seed)
    t.add_argument("--epochs", type=_positive_int, default=_DEFAULT_TRAIN.epochs)
    t.add_argument("--batch-size", type=_positive_int, default=_DEFAULT_TRAIN.batch_size)
    t.add_argument("--lr", type=float, default=_DEFAULT_TRAIN.lr)
    t.add_argument("--schedule", choices=["cosine", "plateau"], default=_DEFAULT_TRAIN.schedule)
    t.add_argument("--min-lr", type=float, default=_DEFAULT_TRAIN.min_lr)
    t.add_argument("--ema", type=float, default=_DEFAULT_TRAIN.ema, help="0 = off")
    t.add_argument("--clip", type=float, default=_DEFAULT_TRAIN.clip)
    t.add_argument("--weight-decay", type=float, default=_DEFAULT_TRAIN.weight_decay)
    t.add_argument("--patience", type=_positive_int, default=_DEFAULT_TRAIN.patience)
    t.add_argument("--time-limit", type=float, default=_DEFAULT_TRAIN.time_limit)
    t.add_argument("--hidden", type=_positive_int, default=_DEFAULT_MODEL.hidden)
    t.add_argument("--char-dim", type=_positive_int, default=_DEFAULT_MODEL.char_dim)
    t.add_argument("--country-dim", type=_positive_int, default=_DEFAULT_MODEL.country_dim)
    t.add_argument("--layers", type=_positive_int, default=_DEFAULT_MODEL.layers)
    t.add_argument("--dropout", type=float, default=_DEFAULT_MODEL.dropout)
    t.add_argument(
        "--country-bias",
        action=argparse.BooleanOptionalAction,
        default=_DEFAULT_MODEL.country_bias,
        help="a per-country bias of the output scores",
    )
    t.add_argument(
        "--subsample", type=_positive_int, default=1, help="use every k-th train/val pair (1)"
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="print the metrics table of a model")
    e.add_argument("--model", default=None, help="checkpoint (default: the shipped one)")
    e.add_argument("--samples", type=_positive_int, default=10, help="names per letter (10)")
    e.add_argument("--letters", type=_positive_int, default=5, help="letters per country (5)")
    e.add_argument(
        "--temperature", type=float, default=metrics.TEMPERATURE, help="of the samples (0.8)"
    )
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--split", choices=["val", "test"], default="test")
    e.set_defaults(func=cmd_evaluate)

    j = sub.add_parser(
        "judge",
        help="fit the logistic-regression judge (l2 picked on val by macro accuracy)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    j.add_argument("--out", required=True, help="judge file to write (.npz)")
    j.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    j.add_argument("--steps", type=_positive_int, default=_LOGREG_STEPS, help="Adam steps")
    j.add_argument("--l2", type=float, nargs="+", default=None, help="grid (default: L2_GRID)")
    j.set_defaults(func=cmd_judge)

    d = sub.add_parser("data", help="report on the data files (skipped lines, split sizes)")
    d.add_argument("--dir", default=None, help="a directory of <Country>.txt files")
    d.set_defaults(func=cmd_data)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
