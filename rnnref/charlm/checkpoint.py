"""Checkpoint files: a compressed ``.npz`` with the parameters, the vocabulary, the countries
and a JSON ``meta`` entry; written atomically, read back with every defect named."""

import dataclasses
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from rnnref.charlm.model import ModelConfig, init_params
from rnnref.names.vocab import Vocab

FORMAT = "rnnref.charlm"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a usable checkpoint (corrupt, foreign, or for another vocabulary)."""


@dataclasses.dataclass
class Checkpoint:
    """What a checkpoint file holds: the arguments of :class:`rnnref.charlm.CharLM`."""

    params: dict
    vocab: Vocab
    countries: list
    config: ModelConfig
    initials: dict | None
    meta: dict | None


def save(path, params, vocab, countries, config, initials, meta, dtype=np.float32):
    """Write a compressed ``.npz`` atomically (a temporary file then a rename, so an
    interrupted save never leaves half a file): parameters (stored as ``dtype``), vocabulary,
    countries, and a JSON ``meta`` entry with the format, the configuration, the initials
    and the training record ``meta``."""
    path = Path(path)
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": dataclasses.asdict(config),
        "initials": initials,
        "train": meta,
    }
    arrays = {f"param_{k}": v.astype(dtype) for k, v in params.items()}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(
            f,
            meta=np.array(json.dumps(header)),
            vocab=vocab.to_array(),
            countries=np.array(countries),
            **arrays,
        )
    os.replace(tmp, path)
    return path


def _read_files(path):
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise CheckpointError(f"{path} is not a readable .npz checkpoint ({exc})") from None


def _read_header(path, files):
    if "meta" not in files:
        raise CheckpointError(f"{path} is not an {FORMAT} checkpoint (no 'meta' entry)")
    try:
        header = json.loads(str(files["meta"]))
        ok = isinstance(header, dict) and header.get("format") == FORMAT
    except (json.JSONDecodeError, TypeError):
        ok = False
    if not ok:
        raise CheckpointError(f"{path} is not an {FORMAT} checkpoint (wrong 'meta')")
    if header.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {header.get('version')}, this code reads "
            f"version {FORMAT_VERSION}"
        )
    return header


def _check_data(path, file_vocab, file_countries, vocab, countries):
    if vocab is not None and file_vocab != vocab:
        missing = sorted(set(vocab.chars) - set(file_vocab.chars))
        extra = sorted(set(file_vocab.chars) - set(vocab.chars))
        raise CheckpointError(
            f"{path} was trained with another vocabulary ({len(file_vocab.chars)} "
            f"characters; missing {''.join(missing)!r}, extra {''.join(extra)!r})"
        )
    if countries is not None and file_countries != list(countries):
        raise CheckpointError(
            f"{path} was trained for other countries: {', '.join(file_countries)}"
        )


def _check_params(path, params, expected):
    for k, want in expected.items():
        got = params.get(k)
        if got is None or got.shape != want.shape:
            raise CheckpointError(
                f"{path}: parameter {k} has shape {None if got is None else got.shape}, "
                f"expected {want.shape} for its vocabulary, countries and config"
            )
        if not np.all(np.isfinite(got)):
            raise CheckpointError(f"{path}: parameter {k} holds NaN or infinite values")
    if set(params) != set(expected):
        raise CheckpointError(
            f"{path}: unexpected parameters {sorted(set(params) - set(expected))}"
        )


def load(path, vocab=None, countries=None):
    """Read a checkpoint written by :func:`save` into a :class:`Checkpoint`.

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` (a
    ``ValueError``) for a file that is not such a checkpoint, is damaged, or whose
    vocabulary / countries differ from ``vocab`` / ``countries`` when they are given.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    files = _read_files(path)
    header = _read_header(path, files)
    try:
        file_vocab = Vocab.from_array(files["vocab"])
        file_countries = [str(c) for c in files["countries"]]
        # Files written before the country bias existed have no such key and no bias.
        config = ModelConfig(**{"country_bias": False, **header["config"]})
        params = {
            k[len("param_") :]: v.astype(np.float64)
            for k, v in files.items()
            if k.startswith("param_")
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} is an incomplete {FORMAT} checkpoint ({exc})") from None
    _check_data(path, file_vocab, file_countries, vocab, countries)
    expected = init_params(len(file_vocab), len(file_countries), config, np.random.default_rng(0))
    _check_params(path, params, expected)
    return Checkpoint(
        params, file_vocab, file_countries, config, header.get("initials"), header.get("train")
    )
