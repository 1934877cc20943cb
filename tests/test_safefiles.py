"""Only regular files cross from a student into the grader (autograder.safefiles, collect)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from autograder import safefiles
from autograder.collect import collect
from autograder.settings import Settings


def _tree(root: Path, secret: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "nb.ipynb").write_text("{}")
    (root / "sub" / "data.txt").write_text("ok")
    os.symlink(secret, root / "link.txt")
    os.symlink(secret.parent, root / "linkdir")
    os.mkfifo(root / "pipe")


def test_walk_and_copy_take_regular_files_only(tmp_path):
    secret = tmp_path / "secret" / "gradebook.db"
    secret.parent.mkdir()
    secret.write_text("SECRET")
    src = tmp_path / "src"
    _tree(src, secret)
    files, refused = safefiles.walk(src)
    assert [p.relative_to(src).as_posix() for p in files] == ["nb.ipynb", "sub/data.txt"]
    assert {p.name: why for p, why in refused}.keys() == {"link.txt", "linkdir", "pipe"}
    refused = safefiles.copy_tree(src, tmp_path / "dest")
    assert len(refused) == 3
    copied = sorted(
        p.relative_to(tmp_path / "dest").as_posix() for p in (tmp_path / "dest").rglob("*")
    )
    assert copied == ["nb.ipynb", "sub", "sub/data.txt"]
    assert "SECRET" not in "".join(p.read_text() for p in (tmp_path / "dest").rglob("*.*"))
    assert not safefiles.only_regular(tmp_path / "dest")
    assert {p.name for p in safefiles.only_regular(src)} == {"link.txt", "linkdir", "pipe"}
    assert sorted(safefiles.prune(src)) == ["link.txt", "linkdir", "pipe"]
    assert secret.read_text() == "SECRET" and not safefiles.only_regular(src)


def test_read_bytes_refuses_a_link(tmp_path):
    (tmp_path / "f").write_text("x")
    os.symlink(tmp_path / "f", tmp_path / "l")
    assert safefiles.read_bytes(tmp_path / "f") == b"x"
    try:
        safefiles.read_bytes(tmp_path / "l")
    except OSError:
        pass
    else:
        raise AssertionError("a link was read")


@given(st.text(max_size=30))
def test_a_valid_id_is_a_plain_folder_name(name):
    if safefiles.id_problem(name) is None:
        assert name and name.isprintable() and "/" not in name and not name.startswith(".")
        assert name == name.strip() and name not in (".", "..")


def test_bad_ids_are_named():
    for name in ("a\nb", ".hidden", "..", "a/b", " x", ""):
        assert safefiles.id_problem(name), name
    assert safefiles.id_problem("ada.lovelace@example.org") is None


def test_collect_refuses_links_bad_entries_and_ids_and_keeps_the_rest(tmp_path):
    settings = Settings.resolve(course=tmp_path / "course")
    secret = tmp_path / "answers.ipynb"
    secret.write_text('{"cells": [], "SECRET": 1}')
    dl = tmp_path / "dl"
    (dl / "honest").mkdir(parents=True)
    (dl / "honest" / "01_x.ipynb").write_text("{}")
    (dl / "linker").mkdir()
    os.symlink(secret, dl / "linker" / "01_x.ipynb")
    (dl / ".hidden").mkdir()
    (dl / ".hidden" / "01_x.ipynb").write_text("{}")
    os.symlink(dl / "honest", dl / "alias")
    with zipfile.ZipFile(dl / "zipper.zip", "w") as zf:
        zf.writestr("01_x.ipynb", "{}")
        zf.writestr("../../escape.ipynb", "{}")
    report = collect(settings, dl, {"01_x": ["01_x"]}, {"01_x": set()}, log=lambda *a: None)
    placed = {line.split(":")[0] for line in report["placed"]}
    assert placed == {"honest/01_x", "zipper/01_x"}, report
    text = "\n".join(report["unplaced"])
    assert "linker/01_x.ipynb: a symbolic link" in text
    assert "alias: a symbolic link" in text
    assert ".hidden: not a valid student id" in text
    assert "'../../escape.ipynb'" in text and "unsafe path" in text
    assert not (tmp_path / "escape.ipynb").exists()
    assert not list((tmp_path / "course").rglob("*linker*/01_x/*.ipynb"))
