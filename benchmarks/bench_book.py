"""Build times of the course book: cold (clean _build and execution cache) and cached.

Copies the repository's book sources into a temporary folder (so the working tree's _build is
left alone), builds there from scratch, then builds again with nothing changed, then once more
after editing one chapter's text. Targets (issue 7): cold < 5 min, cached < 30 s. Also prints
how many "[source]" pages (``_modules/``) each build leaves: the same number every time
(issue 11: a cached rebuild lost them). MathJax is reused from book/_vendor when present
(it is fetched from the npm registry otherwise, and that fetch is counted in the cold build).

Usage: ``python benchmarks/bench_book.py``
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the book build reads; nothing else is copied.
SOURCES = ("_config.yml", "_toc.yml", "book", "lessons", "rnnref", "scripts/build_book.py")
COLD_TARGET, CACHED_TARGET = 300.0, 30.0
EDITED_CHAPTER = "book/03_clipping.md"


def copy_sources(dest):
    for name in SOURCES:
        src = ROOT / name
        if not src.exists():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target)


def timed_build(tree):
    # The copy's rnnref is the one Sphinx and the chapters' kernels import.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(tree / "scripts/build_book.py")],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        sys.exit(f"book build failed in {tree}:\n{result.stderr[-3000:]}")
    return seconds


def source_pages(html):
    return len(list((html / "_modules").rglob("*.html")))


def main():
    with tempfile.TemporaryDirectory(prefix="bench_book_") as tmp:
        tree = Path(tmp)
        copy_sources(tree)
        html = tree / "_build" / "html"
        cold = timed_build(tree)
        sources = [source_pages(html)]
        cached = timed_build(tree)
        sources.append(source_pages(html))
        chapter = tree / EDITED_CHAPTER
        chapter.write_text(chapter.read_text() + "\n")
        edited = timed_build(tree)
        sources.append(source_pages(html))
        pages = [
            p
            for p in html.rglob("*.html")
            if not p.relative_to(html).parts[0].startswith(("_static", "_sources"))
        ]
        book_pages = [p for p in pages if p.relative_to(html).parts[0] in ("book", "lessons")]
    print(f"cold build:    {cold:7.1f} s  (target < {COLD_TARGET:.0f} s)")
    print(f"cached build:  {cached:7.1f} s  (target < {CACHED_TARGET:.0f} s; nothing changed)")
    print(f"one edit:      {edited:7.1f} s  ({EDITED_CHAPTER} edited; its outputs stay cached)")
    print(f"pages:         {len(pages)} HTML pages, {len(book_pages)} of them from _toc.yml")
    print(f"source pages:  {sources} after the cold, cached and edited builds")
    ok = cold < COLD_TARGET and cached < CACHED_TARGET and len(set(sources)) == 1 and sources[0]
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
