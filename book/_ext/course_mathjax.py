"""MathJax 3 served by the site itself: vendored from the npm registry when the build starts.

The book's ``_config.yml`` points ``mathjax_path`` at ``mathjax/tex-chtml.js`` under the static
folder ``book/_vendor`` (git-ignored). On ``config-inited`` this extension unpacks MathJax
``MATHJAX_VERSION`` there unless that version is already there, so any build (``make book``
or a plain ``jupyter-book build .``) typesets math offline, without a CDN. It uses ``npm
pack`` (npm's cache and proxy settings) when npm is installed, else a plain download of the
registry's tarball; the tarball's registry integrity hash is checked either way. Only the
first build needs the network.
"""

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from sphinx.errors import ExtensionError

VENDOR = Path(__file__).resolve().parent.parent / "_vendor" / "mathjax"
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


def fetch_mathjax_tarball(dest_dir, version=MATHJAX_VERSION):
    """Download the npm tarball of MathJax ``version`` into ``dest_dir``; return its path.

    The integrity hash is checked for ``MATHJAX_VERSION`` (the one whose hash is known).
    """
    npm = shutil.which("npm")
    print(f"course_mathjax: fetching mathjax@{version} from the npm registry", flush=True)
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
        url = MATHJAX_TARBALL.replace(MATHJAX_VERSION, version)
        with urllib.request.urlopen(url, timeout=60) as response:
            tarball.write_bytes(response.read())
    if version == MATHJAX_VERSION:
        digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if f"sha512-{digest}" != MATHJAX_INTEGRITY:
            raise ValueError(f"{tarball.name} does not match its registry integrity hash")
    return tarball


def unpack_mathjax(tarball, staging):
    """Extract the parts of the tarball's ``es5`` build that the site loads into ``staging``."""
    with tarfile.open(tarball) as tar:
        members = []
        for m in tar.getmembers():
            rel = m.name.removeprefix("package/es5/")
            if rel != m.name and m.isfile() and rel.startswith(MATHJAX_PARTS):
                m.name = rel
                members.append(m)
        tar.extractall(staging, members=members, filter="data")


def vendor_mathjax(dest=VENDOR, version=MATHJAX_VERSION, fetch=fetch_mathjax_tarball):
    """Put MathJax ``version`` into ``dest`` unless it is there; True if it was fetched.

    The new copy is assembled in a temporary folder and moved in whole: an interrupted fetch
    never leaves a half-vendored folder.
    """
    marker = dest / ".version"
    if marker.is_file() and marker.read_text().strip() == version:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "mathjax"
        unpack_mathjax(fetch(tmp, version), staging)
        (staging / ".version").write_text(version + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging, dest)
    return True


def vendor_on_config_inited(app, config):
    try:
        vendor_mathjax()
    except (OSError, ValueError, subprocess.CalledProcessError, tarfile.TarError) as exc:
        raise ExtensionError(
            f"MathJax {MATHJAX_VERSION} is not in {VENDOR} and could not be vendored from "
            f"the npm registry (the first build needs the registry): {exc}"
        ) from exc


def setup(app):
    # Before Sphinx checks that every html_static_path entry exists (priority 800).
    app.connect("config-inited", vendor_on_config_inited, priority=700)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
