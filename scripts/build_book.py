"""Build the course book website (the README's main job: ``make book``), in either edition.

Editions (``book/_ext/course_edition.py``): ``open`` (the default) into ``_build/html``;
``term`` (a graded term: no source of the reference, no answer anywhere) into
``_build/term/_build/html``. Both execute their chapters into one cache, ``_build/.jupyter_cache``.

1. Clears the execution cache when the reference package or the book's helpers changed since
   it was filled: the chapters' figures are computed by ``rnnref``, and jupyter-cache keys a
   notebook by its own code only. Re-reads every page of an edition when those, or the book's
   extension, changed since that edition was last built.
2. Runs ``jupyter-book build . -W --keep-going``: any warning fails the build. Chapters are
   executed through jupyter-cache, so a rebuild with nothing changed executes nothing.
3. With ``--publish DEST``: copies the built site into ``DEST``, ready for any static host
   (``.nojekyll`` for GitHub Pages, a ``404.html``); ``DEST`` must be empty or a folder this
   command wrote before (it is then replaced).

What every build needs besides is done by the book's Sphinx extension (``book/_ext``), so a
plain ``jupyter-book build .`` builds the same open edition: it vendors MathJax from the npm
registry on the first build, and keeps viewcode's "[source]" pages (``_build/html/_modules``)
current.

Usage: ``python scripts/build_book.py [--edition open|term] [--all] [--publish DEST]``
(``--all``: re-read every page; executed outputs stay cached as long as rnnref is unchanged).
"""

import argparse
import hashlib
import html
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from autograder.paths import book_url

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
# Inputs of the executed chapters besides their own text.
FIGURE_INPUTS = ("rnnref", "book/_bookplot.py")
CACHE_STAMP = BUILD / ".figure_inputs.sha256"
# Inputs of every page that Sphinx does not track itself: the book's own extension.
READ_INPUTS = ("book/_ext",)
# what says that a folder holds a site this script published (and may replace)
PUBLISHED_MARK = ".course-site"


def _edition_module():
    spec = importlib.util.spec_from_file_location(
        "course_edition", ROOT / "book" / "_ext" / "course_edition.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EDITION = _edition_module()


def output_root(edition):
    """jupyter-book's ``--path-output`` of an edition (its site is ``<it>/_build/html``)."""
    return ROOT if edition == "open" else BUILD / edition


def html_dir(edition="open"):
    return output_root(edition) / "_build" / "html"


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


def _stamp_changed(stamp, digest):
    """Whether ``stamp`` held another digest (recorded now); a missing stamp is a first
    build, which changes nothing."""
    seen = stamp.read_text().strip() if stamp.is_file() else None
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return seen is not None and seen != digest


def build(all_pages=False, edition="open"):
    """Build ``edition``; the exit code of jupyter-book (0: built, warnings are errors)."""
    if edition not in EDITION.EDITIONS:
        print(f"build_book: no edition {edition!r}; the editions: {', '.join(EDITION.EDITIONS)}")
        return 2
    t0 = time.perf_counter()
    out = output_root(edition) / "_build"
    unknown_cache = CACHE.exists() and not CACHE_STAMP.is_file()
    if _stamp_changed(CACHE_STAMP, inputs_digest(FIGURE_INPUTS)) or unknown_cache:
        print("build_book: rnnref changed since the last build: re-executing the chapters")
        shutil.rmtree(CACHE, ignore_errors=True)
    # an edition re-reads its pages when the figures or the extension changed since its build
    read_digest = inputs_digest((*FIGURE_INPUTS, *READ_INPUTS))
    all_pages = _stamp_changed(out / ".read_inputs.sha256", read_digest) or all_pages
    # Never delete anything under the site folder here: a rebuild with nothing out of date
    # writes nothing, so what is deleted stays missing (book/_ext/course_source_pages.py).
    cmd = [*jupyter_book(), "build", str(ROOT), "-W", "--keep-going"]
    if edition != "open":
        cmd += ["--path-output", str(output_root(edition))]
    if all_pages:
        cmd.append("--all")
    env = {**os.environ, EDITION.ENV: edition}
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        print("build_book: the build FAILED (warnings are errors); see the messages above")
        return result.returncode
    print(
        f"build_book: the {edition} edition built into {html_dir(edition)} "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


NOT_FOUND = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page not found: {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;
line-height:1.5;color:#222}}a{{color:#0a58ca}}</style></head>
<body><h1>Page not found</h1>
<p>This page is not part of <em>{title}</em>: it may have moved when the book was rebuilt.</p>
<p><a href="{home}">Go to the book's first page</a>.</p></body></html>
"""


def publish(edition, dest):
    """Copy the built ``edition`` into ``dest``, ready to serve; 0, or 2 for a ``dest`` that
    holds files this command did not write (nothing is deleted then)."""
    dest = Path(dest).resolve()
    site = html_dir(edition)
    if dest == site or site in dest.parents or dest in (ROOT, *ROOT.parents):
        print(f"build_book: cannot publish into {dest}: choose a folder outside the build")
        return 2
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        print(f"build_book: {dest} is not a folder; choose an empty folder to publish into")
        return 2
    if dest.is_dir() and any(dest.iterdir()) and not (dest / PUBLISHED_MARK).is_file():
        print(
            f"build_book: {dest} is not empty and was not written by `make publish`: "
            "nothing was changed; choose an empty folder"
        )
        return 2
    if dest.is_dir():
        shutil.rmtree(dest)
    shutil.copytree(site, dest, ignore=shutil.ignore_patterns(".buildinfo", "*.pickle"))
    (dest / ".nojekyll").write_text("")  # GitHub Pages: serve _static/, _images/ as they are
    title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]
    home = book_url() or "/"
    (dest / "404.html").write_text(
        NOT_FOUND.format(title=html.escape(title), home=html.escape(home + "index.html")),
        encoding="utf-8",
    )
    (dest / PUBLISHED_MARK).write_text(f"{edition}\n")
    print(f"build_book: the {edition} edition published into {dest} (home page: {home})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--all", action="store_true", help="re-read every page (executed outputs stay cached)"
    )
    parser.add_argument(
        "--edition",
        default="open",
        help="open (self-study, the default) or term (a graded term: no answers on the site)",
    )
    parser.add_argument("--publish", metavar="DEST", help="then copy the site into DEST")
    args = parser.parse_args(argv)
    code = build(all_pages=args.all, edition=args.edition)
    if code == 0 and args.publish:
        code = publish(args.edition, args.publish)
    return code


if __name__ == "__main__":
    sys.exit(main())
