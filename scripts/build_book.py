"""Build the course book website into ``_build/html`` (the README's main job: ``make book``).

1. Vendors MathJax 3 from the npm registry into ``book/_vendor/mathjax`` (git-ignored) unless
   that version is already there, so the site typesets math offline, without a CDN. (With
   ``npm pack`` when npm is installed, else a plain download; the tarball's registry integrity
   hash is checked either way.)
2. Clears the execution cache when the reference package or the book's helpers changed since
   the last build: the chapters' figures are computed by ``rnnref``, and jupyter-cache keys a
   notebook by its own code only.
3. Runs ``jupyter-book build . -W --keep-going``: any warning fails the build. Chapters are
   executed through jupyter-cache, so a rebuild with nothing changed executes nothing.

Usage: ``python scripts/build_book.py [--all]`` (``--all``: re-read every page; executed outputs
stay cached as long as rnnref is unchanged).
"""

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
HTML = BUILD / "html"
VENDOR = ROOT / "book" / "_vendor" / "mathjax"
MATHJAX_VERSION = "3.2.2"
# The registry's integrity hash of that tarball (``npm view mathjax@3.2.2 dist.integrity``).
MATHJAX_INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="  # noqa: E501
MATHJAX_TARBALL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
# What tex-chtml.js loads at run time: TeX extensions on demand (autoload), the CHTML fonts,
# the menu and the assistive MathML it enables by default.
MATHJAX_PARTS = (
    "tex-chtml.js",
    "input/tex/extensions/",
    "output/chtml/fonts/woff-v2/",
    "a11y/",
    "ui/",
)
# Inputs of the executed chapters besides their own text.
FIGURE_INPUTS = ("rnnref", "book/_bookplot.py")
STAMP = BUILD / ".figure_inputs.sha256"
# Inputs of every page that Sphinx does not track itself: the book's own extension.
READ_INPUTS = ("book/_ext",)
READ_STAMP = BUILD / ".read_inputs.sha256"


def fetch_mathjax_tarball(dest_dir, version=MATHJAX_VERSION):
    """Download the npm tarball of MathJax into ``dest_dir`` and check its integrity hash.

    Uses ``npm pack`` (and so npm's cache and proxy settings) when npm is installed, the
    registry's tarball URL otherwise.
    """
    npm = shutil.which("npm")
    print(f"build_book: fetching mathjax@{version} from the npm registry", flush=True)
    if npm:
        subprocess.run(
            [npm, "pack", f"mathjax@{version}", "--silent", "--pack-destination", str(dest_dir)],
            cwd=dest_dir,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(dest_dir).glob("mathjax-*.tgz")
    else:
        tarball = Path(dest_dir) / f"mathjax-{version}.tgz"
        with urllib.request.urlopen(MATHJAX_TARBALL, timeout=60) as response:
            tarball.write_bytes(response.read())
    if version == MATHJAX_VERSION:
        digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if f"sha512-{digest}" != MATHJAX_INTEGRITY:
            sys.exit(f"build_book: {tarball.name} does not match its registry integrity hash")
    return tarball


def vendor_mathjax(dest=VENDOR, version=MATHJAX_VERSION):
    """Unpack MathJax ``version`` (its ``es5`` build) into ``dest`` unless already there."""
    marker = dest / ".version"
    if marker.is_file() and marker.read_text().strip() == version:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        tarball = fetch_mathjax_tarball(tmp, version)
        staging = Path(tmp) / "mathjax"
        with tarfile.open(tarball) as tar:
            members = []
            for m in tar.getmembers():
                rel = m.name.removeprefix("package/es5/")
                if rel != m.name and m.isfile() and rel.startswith(MATHJAX_PARTS):
                    m.name = rel
                    members.append(m)
            tar.extractall(staging, members=members, filter="data")
        (staging / ".version").write_text(version + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging, dest)
    return True


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
    vendor_mathjax()
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
    # sphinx.ext.viewcode skips a source page that is newer than its module, so a page can keep
    # links to objects the API reference no longer documents: always regenerate them (cheap).
    shutil.rmtree(HTML / "_modules", ignore_errors=True)
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
