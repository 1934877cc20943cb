"""Build the course book website into ``_build/html`` (the README's main job: ``make book``).

1. Clears the execution cache when the reference package or the book's helpers changed since
   the last build: the chapters' figures are computed by ``rnnref``, and jupyter-cache keys a
   notebook by its own code only. Re-reads every page when the book's extension changed.
2. Runs ``jupyter-book build . -W --keep-going``: any warning fails the build. Chapters are
   executed through jupyter-cache, so a rebuild with nothing changed executes nothing.

What every build needs besides is done by the book's Sphinx extension (``book/_ext``), so a
plain ``jupyter-book build .`` builds the same site: it vendors MathJax from the npm registry
on the first build, and keeps viewcode's "[source]" pages (``_build/html/_modules``) current.

Usage: ``python scripts/build_book.py [--all]`` (``--all``: re-read every page; executed outputs
stay cached as long as rnnref is unchanged).
"""

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
HTML = BUILD / "html"
# Inputs of the executed chapters besides their own text.
FIGURE_INPUTS = ("rnnref", "book/_bookplot.py")
STAMP = BUILD / ".figure_inputs.sha256"
# Inputs of every page that Sphinx does not track itself: the book's own extension.
READ_INPUTS = ("book/_ext",)
READ_STAMP = BUILD / ".read_inputs.sha256"


def inputs_digest(names, root=ROOT):
    h = hashlib.sha256()
    for name in names:
        p = root / name
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(f.relative_to(root).as_posix().encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def jupyter_book():
    exe = Path(sys.executable).with_name("jupyter-book")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyter_book.cli.main"]


def build(all_pages=False):
    t0 = time.perf_counter()
    digest = inputs_digest(FIGURE_INPUTS)
    seen = STAMP.read_text().strip() if STAMP.is_file() else None
    if seen != digest:
        cache = BUILD / ".jupyter_cache"
        if seen is not None or cache.exists():
            print("build_book: rnnref changed since the last build: re-executing the chapters")
            shutil.rmtree(cache, ignore_errors=True)
            all_pages = True
        BUILD.mkdir(exist_ok=True)
        STAMP.write_text(digest + "\n")
    read_digest = inputs_digest(READ_INPUTS)
    if not READ_STAMP.is_file() or READ_STAMP.read_text().strip() != read_digest:
        all_pages = all_pages or READ_STAMP.is_file()
        READ_STAMP.write_text(read_digest + "\n")
    # Never delete anything under _build/html here: a rebuild with nothing out of date writes
    # nothing, so what is deleted stays missing (book/_ext/course_source_pages.py).
    cmd = [*jupyter_book(), "build", str(ROOT), "-W", "--keep-going"]
    if all_pages:
        cmd.append("--all")
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        print("build_book: the build FAILED (warnings are errors); see the messages above")
        return result.returncode
    print(f"build_book: {HTML} built in {time.perf_counter() - t0:.1f} s")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--all", action="store_true", help="re-read every page (executed outputs stay cached)"
    )
    args = parser.parse_args(argv)
    return build(all_pages=args.all)


if __name__ == "__main__":
    sys.exit(main())
