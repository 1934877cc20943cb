"""Training: mini-batches, one optimisation step, one epoch, the run with early stopping and
checkpoints, and the output calibration on the validation split."""

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from rnnref import clipping, optim
from rnnref.charlm.lm import CharLM
from rnnref.charlm.model import ModelConfig, conditional_loss, make_batch

# The parameters that make the scores from the top states (scaled together by calibration).
OUTPUT_PARAMS = ("W_out", "b_out", "B_out")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation: Adam on gradients clipped to global norm ``clip``.

    ``schedule="cosine"``: the learning rate falls from ``lr`` to ``min_lr`` along a half
    cosine over the planned ``epochs`` (step by step), the right shape for a fixed budget;
    ``"plateau"``: constant, multiplied by ``lr_decay`` after every epoch whose validation
    NLL did not improve. ``ema``: if > 0, the model evaluated and kept is the exponential
    moving average of the parameters (decay ``ema`` per step), which smooths the noise of
    the last steps. ``weight_decay`` is decoupled (AdamW-style), on weight matrices only.
    Early stopping after ``patience`` epochs without improvement, or after ``time_limit``
    seconds (checked at the end of an epoch); the best epoch is kept. ``calibrate``: then
    rescale the output layer by the factor that minimises the validation NLL
    (:func:`calibrate_output`). The defaults trained the shipped model.
    """

    epochs: int = 24
    batch_size: int = 64
    lr: float = 5e-3
    schedule: str = "cosine"
    lr_decay: float = 0.5
    min_lr: float = 5e-5
    clip: float = 5.0
    weight_decay: float = 0.0
    ema: float = 0.998
    calibrate: bool = True
    patience: int = 4
    time_limit: float | None = None
    seed: int = 0


def first_letters(pairs):
    """country -> the first characters of its names, most frequent first (ties by char)."""
    counts = {}
    for name, country in pairs:
        d = counts.setdefault(country, {})
        d[name[0]] = d.get(name[0], 0) + 1
    return {c: sorted(d, key=lambda ch: (-d[ch], ch)) for c, d in sorted(counts.items())}


def length_batches(n_items, lengths, batch_size, rng):
    """Shuffled batches of similar lengths: shuffle, sort chunks of 20 batches by length,
    cut, shuffle the batch order. Less padding, still a different mix every epoch."""
    order = rng.permutation(n_items)
    chunk = batch_size * 20
    out = []
    for i in range(0, n_items, chunk):
        part = order[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[j : j + batch_size] for j in range(0, len(part), batch_size))
    return [out[i] for i in rng.permutation(len(out))]


def cosine_lr(tcfg, step, total_steps):
    """The learning rate of ``step`` on a half cosine from ``lr`` to ``min_lr``."""
    return tcfg.min_lr + 0.5 * (tcfg.lr - tcfg.min_lr) * (
        1 + math.cos(math.pi * step / total_steps)
    )


@dataclass
class _Run:
    """The state of one training run: the model being trained (its ``params`` are updated in
    place), the optimiser, the EMA copy, the step count, the history and the best epoch."""

    model: CharLM
    tcfg: TrainConfig
    rng: np.random.Generator
    opt: optim.Adam
    ema: dict | None
    decayed: list
    total_steps: int
    lr: float
    start: float = field(default_factory=time.perf_counter)
    cpu_start: float = field(default_factory=time.process_time)
    step: int = 0
    history: list = field(default_factory=list)
    best_val: float = math.inf
    best_params: dict | None = None
    best_epoch: int = 0
    bad: int = 0

    def elapsed(self):
        return time.perf_counter() - self.start

    def kept(self):
        """The parameters evaluated and kept: the EMA when it is on."""
        return self.ema if self.ema is not None else self.model.params


def _start(train_pairs, vocab, countries, config, tcfg):
    if tcfg.schedule not in ("cosine", "plateau"):
        raise ValueError(f"schedule must be 'cosine' or 'plateau', got {tcfg.schedule!r}")
    model = CharLM.new(
        vocab, countries, config, seed=tcfg.seed, initials=first_letters(train_pairs)
    )
    params = model.params
    return _Run(
        model=model,
        tcfg=tcfg,
        rng=np.random.default_rng(tcfg.seed),
        opt=optim.Adam(lr=tcfg.lr),
        ema={k: v.copy() for k, v in params.items()} if tcfg.ema else None,
        decayed=[k for k in params if k.startswith(("Wx_", "Wh_", "W_out"))],
        total_steps=tcfg.epochs * math.ceil(len(train_pairs) / tcfg.batch_size),
        lr=tcfg.lr,
    )


def train_step(run, x, y, mask, k):
    """One Adam step on a batch; returns ``(course loss, number of predicted tokens)``.

    The gradient is the per-character one (the course loss divided by ``mask.sum() / N``),
    clipped to global norm ``clip``; weight decay shrinks the matrices before the step.
    """
    tcfg, params = run.tcfg, run.model.params
    if tcfg.schedule == "cosine":
        run.lr = cosine_lr(tcfg, run.step, run.total_steps)
    run.opt.lr = run.lr
    loss, grads = conditional_loss(params, x, y, mask, k, run.model.config.dropout, run.rng)
    n_tok = int(mask.sum())
    scale = len(x) / n_tok
    grads = {g: v * scale for g, v in grads.items()}
    grads, _ = clipping.clip_by_global_norm(grads, tcfg.clip)
    if tcfg.weight_decay:
        for g in run.decayed:
            params[g] *= 1.0 - run.lr * tcfg.weight_decay
    run.opt.step(params, grads)
    if run.ema is not None:
        _ema_update(run.ema, params, tcfg.ema, run.step)
    run.step += 1
    return loss, n_tok


def _ema_update(ema, params, decay, step):
    # Early on the average would drag in the random start: warm its decay up.
    d = min(decay, (1 + step) / (10 + step))
    for g, v in params.items():
        ema[g] *= d
        ema[g] += (1 - d) * v


def run_epoch(run, names, k_ids, lengths, epoch, progress):
    """One pass over the training names; returns the mean training loss per character."""
    from tqdm.auto import tqdm

    batches = length_batches(len(names), lengths, run.tcfg.batch_size, run.rng)
    bar = tqdm(batches, desc=f"epoch {epoch}", disable=not progress, leave=False)
    run_loss, run_tok = 0.0, 0
    for idx in bar:
        x, y, mask, k = make_batch([names[i] for i in idx], k_ids[idx], run.model.vocab)
        loss, n_tok = train_step(run, x, y, mask, k)
        run_loss += loss * len(idx)
        run_tok += n_tok
        bar.set_postfix(loss=f"{run_loss / run_tok:.3f}", refresh=False)
    bar.close()
    return run_loss / run_tok


def _validate(run, val_pairs):
    model, params = run.model, run.model.params
    model.params = run.kept()
    try:
        return model.nll_per_char(val_pairs)
    finally:
        model.params = params


def _record(run, epoch, train_loss, val):
    """Append the epoch to the history and keep its parameters if it is the best so far;
    returns whether it was."""
    run.history.append(
        {"epoch": epoch, "train": train_loss, "val": val, "lr": run.lr, "time": run.elapsed()}
    )
    improved = val < run.best_val - 1e-4
    if improved:
        run.best_val, run.best_epoch, run.bad = val, epoch, 0
        run.best_params = {g: v.copy() for g, v in run.kept().items()}
    else:
        run.bad += 1
        if run.tcfg.schedule == "plateau":
            run.lr = max(run.tcfg.min_lr, run.lr * run.tcfg.lr_decay)
    return improved


def _epoch_line(run, improved):
    h = run.history[-1]
    return (
        f"epoch {h['epoch']}: train {h['train']:.4f}  val {h['val']:.4f} nats/char"
        f"  lr {h['lr']:.2g}  {h['time']:.0f} s"
        f" (cpu {time.process_time() - run.cpu_start:.0f} s){'  *best' if improved else ''}"
    )


def _best_model(run, extra_meta):
    m = run.model
    best = CharLM(run.best_params, m.vocab, m.countries, m.config, m.initials)
    best.meta = _train_meta(run, extra_meta)
    return best


def train(
    train_pairs,
    val_pairs,
    vocab,
    countries,
    config=None,
    tcfg=None,
    out=None,
    progress=True,
    log=print,
    extra_meta=None,
):
    """Train a :class:`CharLM`; return ``(model, history)`` with the best-validation params.

    Every epoch: shuffled length-bucketed mini-batches (:func:`run_epoch`), each an Adam
    step on clipped per-character gradients (:func:`train_step`), a tqdm bar showing the
    running loss; then the validation NLL per character. The best epoch so far is kept (and
    written to ``out`` at once, if given, so an interrupted run loses nothing). See
    :class:`TrainConfig` for the schedule and the stopping rules; ``config`` and ``tcfg``
    default to :class:`ModelConfig()` and :class:`TrainConfig()`.
    """
    config = ModelConfig() if config is None else config
    tcfg = TrainConfig() if tcfg is None else tcfg
    run = _start(train_pairs, vocab, countries, config, tcfg)
    names = [n for n, _ in train_pairs]
    k_ids = np.array([run.model.country_id(c) for _, c in train_pairs])
    lengths = np.array([len(n) for n in names])
    for epoch in range(1, tcfg.epochs + 1):
        train_loss = run_epoch(run, names, k_ids, lengths, epoch, progress)
        improved = _record(run, epoch, train_loss, _validate(run, val_pairs))
        log(_epoch_line(run, improved))
        if improved and out is not None:
            _best_model(run, extra_meta).save(out)
        if run.bad >= tcfg.patience or (tcfg.time_limit and run.elapsed() > tcfg.time_limit):
            break
    return _finish(run, val_pairs, out, log, extra_meta), run.history


def _finish(run, val_pairs, out, log, extra_meta):
    """The best epoch's model, calibrated if asked, with its training record, saved."""
    model = run.model
    model.params = run.best_params
    extra_meta = dict(extra_meta or {})
    if run.tcfg.calibrate:
        scale, run.best_val = calibrate_output(model, val_pairs)
        extra_meta["output_scale"] = scale
        log(f"output layer rescaled by {scale:.4f}: val {run.best_val:.4f} nats/char")
    model.meta = _train_meta(run, extra_meta)
    if out is not None:
        model.save(out)
    return model


def calibrate_output(model, val_pairs, low=0.5, high=1.5, iters=14):
    """Temperature calibration: multiply the output layer (``W_out``, ``b_out`` and the
    country bias ``B_out`` if any; in place) by the factor ``s`` in ``[low, high]`` that
    minimises the validation NLL, found by golden-section search (the NLL is smooth and
    unimodal in ``s``). A model trained with dropout is often over-confident on held-out
    names (``s < 1`` softens it). Returns ``(s, val_nll)``.
    """
    out = {k: model.params[k].copy() for k in OUTPUT_PARAMS if k in model.params}

    def nll(s):
        model.params.update({k: v * s for k, v in out.items()})
        return model.nll_per_char(val_pairs)

    g = (math.sqrt(5) - 1) / 2
    a, d = low, high
    b1, c1 = d - g * (d - a), a + g * (d - a)
    fb, fc = nll(b1), nll(c1)
    for _ in range(iters):
        if fb <= fc:
            d, c1, fc = c1, b1, fb
            b1 = d - g * (d - a)
            fb = nll(b1)
        else:
            a, b1, fb = b1, c1, fc
            c1 = a + g * (d - a)
            fc = nll(c1)
    candidates = [(nll(1.0), 1.0), (fb, b1), (fc, c1)]
    best, s = min(candidates)
    model.params.update({k: v * s for k, v in out.items()})
    return float(s), best


def _train_meta(run, extra):
    return {
        "cpu_seconds": round(time.process_time() - run.cpu_start, 1),
        "train_config": dataclasses.asdict(run.tcfg),
        "best_epoch": run.best_epoch,
        "best_val_nll": run.best_val,
        "epochs_run": len(run.history),
        "train_seconds": round(run.elapsed(), 1),
        "history": run.history,
        **(extra or {}),
    }
