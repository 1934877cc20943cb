"""The names loader, the split, the vocabulary and the n-gram classifier."""

import hashlib
import os
import subprocess
import sys
import unicodedata
import warnings

import pytest

import rnnref.names as rn
from rnnref.names.classifier import NgramNaiveBayes, default_classifier, ngrams
from rnnref.names.vocab import END_ID, PAD_ID, START_ID, Vocab

# ----------------------------------------------------------------------------- loader


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_blank_lines_whitespace_crlf_and_duplicates(tmp_path):
    _write(tmp_path, "Irish.txt", "\n  O'Neill \r\n\nMurphy\nMurphy\n\t\nKelly\n\n")
    data = rn.read_names(tmp_path)
    assert data.pairs == [("O'Neill", "Irish"), ("Murphy", "Irish"), ("Kelly", "Irish")]
    assert data.duplicates == 1
    assert data.blank == 5
    assert data.problems == []


def test_nfd_and_nfc_forms_are_one_name(tmp_path):
    nfc = "Jos\u00e9"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    _write(tmp_path, "Spanish.txt", f"{nfd}\n{nfc}\n")
    data = rn.read_names(tmp_path)
    assert data.pairs == [(nfc, "Spanish")]
    assert data.duplicates == 1


def test_bom_is_not_part_of_the_first_name(tmp_path):
    _write(tmp_path, "Dutch.txt", b"\xef\xbb\xbfAalst\nBos\n")
    assert rn.read_names(tmp_path).pairs == [("Aalst", "Dutch"), ("Bos", "Dutch")]


def test_bad_bytes_and_control_characters_are_reported_with_file_and_line(tmp_path):
    _write(tmp_path, "Czech.txt", b"Novak\nDvo\xffak\nSvo\x07boda\nRafaj1\nZ\xc3\xa1ruba\n")
    _write(tmp_path, "Greek.txt", "Pappas\nAl\u200bexiou\n")
    data = rn.read_names(tmp_path)
    assert data.pairs == [("Novak", "Czech"), ("Záruba", "Czech"), ("Pappas", "Greek")]
    where = [(p.file, p.line) for p in data.problems]
    assert where == [("Czech.txt", 2), ("Czech.txt", 3), ("Czech.txt", 4), ("Greek.txt", 2)]
    text = [str(p) for p in data.problems]
    assert "Czech.txt:2: not valid UTF-8 (byte 0xff" in text[0]
    assert text[1].startswith("Czech.txt:3: control character U+0007")
    assert text[2].startswith("Czech.txt:4: unexpected character U+0031 DIGIT ONE")
    assert text[3].startswith("Greek.txt:2: control character U+200B")


def test_load_names_warns_once_per_bad_line(tmp_path):
    _write(tmp_path, "Czech.txt", b"Novak\nDvo\xffak\n")
    with pytest.warns(rn.NamesDataWarning, match=r"Czech\.txt:2"):
        data = rn.load_names(tmp_path)
    assert data.pairs == [("Novak", "Czech")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rn.load_names(tmp_path, warn=False)


def test_a_name_of_several_countries_keeps_every_pair(tmp_path):
    _write(tmp_path, "English.txt", "Abel\nSmith\n")
    _write(tmp_path, "French.txt", "Abel\nDupont\n")
    data = rn.read_names(tmp_path)
    assert ("Abel", "English") in data.pairs and ("Abel", "French") in data.pairs
    assert data.countries == ["English", "French"]


def test_empty_directory_raises(tmp_path):
    with pytest.raises(ValueError, match="no .txt"):
        rn.read_names(tmp_path)


def test_shipped_data_report():
    data = rn.dataset()
    assert len(data.countries) == 18
    assert len(data.pairs) == 18005
    # The shipped files have 8 lines with typos (digits, ',', '/', ':'), all reported.
    assert len(data.problems) == 8
    assert {p.file for p in data.problems} == {"Chinese.txt", "Czech.txt", "Russian.txt"}
    assert all(unicodedata.is_normalized("NFC", n) for n, _ in data.pairs)


# ----------------------------------------------------------------------------- split


def _split_digest():
    h = hashlib.sha256()
    for split in rn.SPLITS:
        for name, country in rn.load_split(split):
            h.update(f"{split}\t{name}\t{country}\n".encode())
    return h.hexdigest()


EXPECTED_SIZES = {"train": 14438, "val": 1791, "test": 1776}


def test_split_sizes_are_fixed():
    assert {s: len(rn.load_split(s)) for s in rn.SPLITS} == EXPECTED_SIZES


def test_splits_partition_the_data_and_share_no_name():
    parts = {s: rn.load_split(s) for s in rn.SPLITS}
    assert sorted(p for s in parts.values() for p in s) == sorted(rn.dataset().pairs)
    folded = {s: {n.casefold() for n, _ in p} for s, p in parts.items()}
    assert not folded["train"] & folded["val"]
    assert not folded["train"] & folded["test"]
    assert not folded["val"] & folded["test"]


def test_every_country_is_in_every_split_about_80_10_10():
    total = len(rn.dataset().pairs)
    for split, share in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
        got = rn.load_split(split)
        assert {c for _, c in got} == set(rn.countries())
        assert abs(len(got) / total - share) < 0.01


def test_split_is_stable_across_hash_seeds():
    code = (
        "import hashlib, rnnref.names as rn\n"
        "h = hashlib.sha256()\n"
        "for s in rn.SPLITS:\n"
        "    for n, c in rn.load_split(s):\n"
        "        h.update(f'{s}\\t{n}\\t{c}\\n'.encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert digests == {_split_digest()}


def test_split_rule_examples():
    assert rn.split_of("Abel") == rn.split_of("abel") == rn.split_of("ABEL")
    assert rn.split_of("Groß") == rn.split_of("Gross")


def test_load_split_returns_a_new_list_and_rejects_unknown_splits():
    a = rn.load_split("val")
    a.clear()
    assert len(rn.load_split("val")) == EXPECTED_SIZES["val"]
    with pytest.raises(ValueError, match="'train', 'val', 'test'"):
        rn.load_split("validation")


# ----------------------------------------------------------------------------- vocabulary


def test_vocab_markers_and_round_trip():
    v = rn.vocab()
    assert v.tokens[:3] == ["<pad>", "<s>", "</s>"]
    assert (PAD_ID, START_ID, END_ID) == (0, 1, 2)
    assert all(ch in v for n, _ in rn.dataset().pairs for ch in n)
    ids = v.encode("O'Brien")
    assert v.decode([*ids, END_ID, *ids]) == "O'Brien"
    assert v == Vocab.from_array(v.to_array())
    with pytest.raises(ValueError, match="'Ж'"):
        v.encode("Жуков")


# ----------------------------------------------------------------------------- classifier


def test_ngrams():
    assert ngrams("Ng", (1, 2)) == ["^", "n", "g", "$", "^n", "ng", "g$"]


def test_classifier_is_well_above_chance_on_test_names():
    result = default_classifier().evaluate(rn.load_split("test"))
    assert result["accuracy"] > 0.7
    assert result["macro_recall"] > 0.45  # chance: 1/18 = 5.6%
    assert set(result["recall"]) == set(rn.countries())


def test_classifier_is_deterministic():
    train = rn.load_split("train")
    a = NgramNaiveBayes.fit(train, rn.countries())
    b = NgramNaiveBayes.fit(list(reversed(train)), rn.countries())
    names = [n for n, _ in rn.load_split("val")]
    assert a.predict(names) == b.predict(names)
    assert a.predict(["O'Sullivan", "Nguyen", "Yamamoto"]) == ["Irish", "Vietnamese", "Japanese"]
