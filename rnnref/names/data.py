"""Reading the surname files and splitting them into train / validation / test.

The data directory holds one UTF-8 file per country (``Irish.txt``, ...), one surname a line.
:func:`read_names` turns it into ``(name, country)`` pairs and a report of what it skipped:

- every line is decoded on its own, so one undecodable line costs that line only;
- names are NFC-normalised (``"e" + combining acute`` and ``"é"`` become the same string) and
  stripped of surrounding whitespace;
- blank lines are skipped silently (the files end with one), exact duplicates within a
  country are skipped and counted;
- a line that is not valid UTF-8, holds a control/format character, or holds a character
  other than a letter, a space, an apostrophe or a hyphen (the shipped files have a few such
  typos: ``Rafaj1``, ``Maxa/B``, ``Lu:``, ``Lytkin,``) is skipped and reported with its file
  and line number, never raised.

A name listed under several countries (``Abel`` is English and French, 469 names in the
shipped data) keeps every pair: it really is a surname of each, and the model should learn
that. The split stays leak-free because it is decided by the **name alone**, never by the
pair: every copy of a name lands in the same split, so no test name is seen in training under
any country.

Split rule (:func:`split_of`): ``sha256("rnnref.names/v1:" + name.casefold())``, first 8 bytes
as a big-endian integer, modulo 100: buckets 0-79 train, 80-89 validation, 90-99 test. SHA-256
is the same on every platform and does not depend on ``PYTHONHASHSEED`` (unlike ``hash()``).
Case-folding keeps ``Groß``/``Gross`` and ``An``/``an`` together. Because the buckets are
uniform, every country gets about 80/10/10 of its names (exactly, only in expectation: a
country of 71 names, Vietnamese, gets 10 test names where 7 +- 3 are expected).
"""

import hashlib
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = ("train", "val", "test")
_SPLIT_SALT = "rnnref.names/v1:"
_EXTRA_CHARS = frozenset(" '-")


class NamesDataWarning(UserWarning):
    """A line of a names file was skipped (bad encoding, control or unexpected character)."""


@dataclass(frozen=True)
class Problem:
    """One skipped line: ``file`` (base name), 1-based ``line``, ``reason``, raw ``text``."""

    file: str
    line: int
    reason: str
    text: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.reason}: {self.text!r}; line skipped"


@dataclass
class NamesData:
    """What :func:`read_names` found.

    ``pairs``: ``(name, country)`` in country order (sorted file names), then file order;
    ``countries``: the sorted country names (one per file, even if all its lines were bad);
    ``problems``: the skipped bad lines; ``duplicates``/``blank``: how many duplicate and
    blank lines were dropped.
    """

    pairs: list
    countries: list
    problems: list = field(default_factory=list)
    duplicates: int = 0
    blank: int = 0


def bad_char(name):
    """The first character of ``name`` that a surname may not contain, or ``None``."""
    for ch in name:
        if ch.isalpha() or ch in _EXTRA_CHARS:
            continue
        return ch
    return None


def _describe(ch):
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"


def read_names(directory=DATA_DIR):
    """Read every ``*.txt`` file of ``directory``; never raises on a bad line.

    Returns:
        A :class:`NamesData`. Raises ``ValueError`` only if the directory holds no ``.txt``.
    """
    directory = Path(directory)
    files = sorted(directory.glob("*.txt"))
    if not files:
        raise ValueError(f"no .txt names files in {directory}")
    data = NamesData(pairs=[], countries=[f.stem for f in files])
    for path in files:
        country = path.stem
        seen = set()
        raw = path.read_bytes()
        for number, line in enumerate(raw.split(b"\n"), start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.start + 1].hex()
                data.problems.append(
                    Problem(
                        path.name,
                        number,
                        f"not valid UTF-8 (byte 0x{bad} at column {exc.start + 1})",
                        line.decode("utf-8", "replace"),
                    )
                )
                continue
            if number == 1:
                text = text.removeprefix("\ufeff")
            name = unicodedata.normalize("NFC", text).strip()
            if not name:
                data.blank += 1
                continue
            ch = bad_char(name)
            if ch is not None:
                kind = (
                    "control character"
                    if unicodedata.category(ch).startswith("C")
                    else "unexpected character"
                )
                data.problems.append(Problem(path.name, number, f"{kind} {_describe(ch)}", text))
                continue
            if name in seen:
                data.duplicates += 1
                continue
            seen.add(name)
            data.pairs.append((name, country))
    return data


def load_names(directory=DATA_DIR, warn=True):
    """:func:`read_names`, issuing one :class:`NamesDataWarning` per skipped line if ``warn``."""
    data = read_names(directory)
    if warn:
        for p in data.problems:
            warnings.warn(str(p), NamesDataWarning, stacklevel=2)
    return data


def split_of(name):
    """``"train"``, ``"val"`` or ``"test"`` for a (normalised) name; see the module docstring."""
    digest = hashlib.sha256((_SPLIT_SALT + name.casefold()).encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def split_pairs(pairs, split):
    """The pairs of ``pairs`` that fall in ``split``, in their original order."""
    check_split(split)
    return [(n, c) for n, c in pairs if split_of(n) == split]


def check_split(split):
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    return split
