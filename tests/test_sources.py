"""The lesson sources: the ``.md`` builds its ``.ipynb`` with the same bytes every time, a
changed ``.md`` rebuilds it, and a notebook edited by hand after its ``.md`` is never
overwritten (the error names the file)."""

import os
import shutil

import pytest

from autograder.paths import SOLUTIONS
from autograder.sources import SourceError, build, lesson_names, md_to_notebook, normalise

LESSON = "01_vanilla_rnn"


@pytest.fixture
def lesson(tmp_path):
    """A copy of lesson 01's source folder."""
    d = tmp_path / LESSON
    shutil.copytree(SOLUTIONS / LESSON, d)
    return d


def test_every_lesson_has_its_source_and_notebook():
    names = lesson_names()
    assert LESSON in names and len(names) >= 8
    for name in names:
        assert (SOLUTIONS / name / f"{name}.ipynb").is_file(), name


def test_build_reproduces_the_committed_notebook(lesson):
    before = (lesson / f"{LESSON}.ipynb").read_bytes()
    path, written = build(lesson)
    assert not written and path.read_bytes() == before
    (lesson / f"{LESSON}.ipynb").unlink()
    path, written = build(lesson)
    assert written and path.read_bytes() == before


def test_a_changed_md_rebuilds_the_notebook(lesson):
    md, ipynb = lesson / f"{LESSON}.md", lesson / f"{LESSON}.ipynb"
    md.write_text(md.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    os.utime(md, (ipynb.stat().st_mtime + 10,) * 2)
    _, written = build(lesson)
    assert written
    assert normalise(ipynb) == normalise(md_to_notebook(md))
    assert "One more line." in ipynb.read_text(encoding="utf-8")


def test_a_hand_edited_notebook_is_never_overwritten(lesson):
    md, ipynb = lesson / f"{LESSON}.md", lesson / f"{LESSON}.ipynb"
    edited = ipynb.read_text(encoding="utf-8").replace("Wx", "W_x", 1)
    ipynb.write_text(edited, encoding="utf-8")
    os.utime(ipynb, (md.stat().st_mtime + 10,) * 2)
    with pytest.raises(SourceError, match=f"{LESSON}.ipynb was changed after {LESSON}.md"):
        build(lesson)
    assert ipynb.read_text(encoding="utf-8") == edited


def test_a_missing_md_is_named(tmp_path):
    (tmp_path / "09_new").mkdir()
    with pytest.raises(SourceError, match="09_new.md not found"):
        build(tmp_path / "09_new")
