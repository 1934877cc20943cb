"""The course book: table of contents, build (warnings are errors) and a headless browser check.

The build runs once per session through ``scripts/build_book.py`` (the command behind
``make book``); with nothing changed it is a cached rebuild that executes nothing. Every local
link and anchor of the site is checked after it and after one more (cached) build. The
book's Sphinx extensions are tested on small Sphinx projects of their own. The browser
check drives Debian's chromium (``/usr/bin/chromium``, installed by ``scripts/system_deps.sh``)
with Playwright, serves ``_build/html`` from 127.0.0.1 and loads every page. Screenshots of the
landing page and one chapter go to ``artifacts/screenshots/``.
"""

import contextlib
import fcntl
import functools
import html.parser
import http.server
import importlib.util
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml

from autograder.paths import book_url

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHAPTER_SCREENSHOT = "book/02_gradient_flow.html"
# A script or stylesheet the page would load from another host (a CDN).
REMOTE_ASSET = re.compile(
    r"<script[^>]*\ssrc=\"(?:https?:)?//[^\"]+\"|<link[^>]*\shref=\"(?:https?:)?//[^\"]+\"[^>]*>"
)


def toc_files():
    """Every ``file:`` of ``_toc.yml`` (without suffix), in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                found.append(e["file"])
            walk(e.get("sections"))
            walk(e.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb|rst)$", "", f) for f in found]


def lesson_notebooks():
    return sorted(
        p.relative_to(ROOT).with_suffix("").as_posix()
        for p in ROOT.glob("lessons/[0-9][0-9]_*/[0-9][0-9]_*.ipynb")
        if p.parent.name == p.stem
    )


def test_every_assignment_notebook_is_in_the_toc():
    missing = sorted(set(lesson_notebooks()) - set(toc_files()))
    assert not missing, (
        f"add these assignment notebooks to _toc.yml (as sections of their chapter): {missing}"
    )


def test_every_toc_entry_exists():
    """Chapters must exist; assignments may be listed before they are released."""
    for f in toc_files():
        if f.startswith("lessons/"):
            continue
        assert any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb", ".rst")), f


@functools.cache
def build_book_script():
    """``scripts/build_book.py`` (what ``make book`` and ``make publish`` run), as a module."""
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts/build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _locked_build(edition="open"):
    """Build the book (``make book``'s script); return ``(exit code, seconds)``. A file lock
    keeps xdist workers from building at the same time (the editions share one cache)."""
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        t0 = time.perf_counter()
        code = build_book_script().build(edition=edition)
        return code, time.perf_counter() - t0


@pytest.fixture(scope="session")
def built_book():
    """Build (or rebuild from the cache) the book once per session."""
    code, seconds = _locked_build()
    assert code == 0, "the book build failed (warnings are errors): see the captured output"
    print(f"book build: {seconds:.1f} s")
    return HTML


@pytest.fixture(scope="session")
def term_book():
    """The graded-term edition (``make book EDITION=term``), built once per session."""
    code, seconds = _locked_build("term")
    assert code == 0, "the term edition's build failed (warnings are errors): see the output"
    print(f"term edition build: {seconds:.1f} s")
    return build_book_script().html_dir("term")


def html_pages(root):
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not p.relative_to(root).parts[0].startswith(("_static", "_sources"))
    )


@pytest.mark.slow
def test_build_has_every_page_and_no_cdn(built_book):
    released = set(lesson_notebooks())
    for f in toc_files():
        if f.startswith("lessons/") and f not in released:
            continue
        assert (built_book / f).with_suffix(".html").is_file(), f
    assert (built_book / "_static/mathjax/tex-chtml.js").is_file()
    assert list((built_book / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    for page in html_pages(built_book):
        text = (built_book / page).read_text(encoding="utf-8")
        remote = REMOTE_ASSET.findall(text)
        assert not remote, f"{page} loads {remote}"
    # Assignments are published, not executed: their pages carry no outputs.
    for nb in lesson_notebooks():
        published = json.loads((ROOT / "_build/jupyter_execute" / f"{nb}.ipynb").read_text())
        outputs = [c.get("outputs") for c in published["cells"] if c["cell_type"] == "code"]
        assert not any(outputs), f"{nb} was executed by the book build"


class _PageRefs(html.parser.HTMLParser):
    """The ids (anchors) of a page and every ``href``/``src`` it refers to."""

    def __init__(self):
        super().__init__()
        self.ids = set()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)
            elif k in ("href", "src") and v is not None:
                self.refs.append(v)


def _parse(path):
    parser = _PageRefs()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return parser


@functools.cache
def _ids_of(path):
    return frozenset(_parse(path).ids)


# A reference that leaves the site: another host, mail, inline data or script.
NOT_LOCAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def broken_local_links(root):
    """Every local ``href``/``src`` of every HTML page under ``root`` that leads to no file,
    or to an anchor its page does not have: ``["page: reference (why)"]``.

    ``_static/`` is left out: the theme keeps Jinja macro files named ``*.html`` there.
    """
    root = Path(root)
    pages = {
        p.relative_to(root).as_posix(): _parse(p)
        for p in root.rglob("*.html")
        if p.relative_to(root).parts[0] != "_static"
    }
    broken = []
    for page, parsed in sorted(pages.items()):
        for ref in parsed.refs:
            if not ref.strip() or NOT_LOCAL.match(ref.strip()):
                continue
            url, frag = urldefrag(ref.strip())
            path = unquote(urlsplit(url).path)
            if path.startswith("/"):
                broken.append(f"{page}: {ref} (absolute path: not portable)")
                continue
            if not path:  # "#anchor": this page
                target = page
            else:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
            if target == ".." or target.startswith("../"):
                broken.append(f"{page}: {ref} (outside the site)")
                continue
            if (root / target).is_dir():
                target = posixpath.join(target, "index.html")
            if not (root / target).is_file():
                broken.append(f"{page}: {ref} (no such file)")
                continue
            frag = unquote(frag)
            if frag and target in pages and frag not in pages[target].ids:
                broken.append(f"{page}: {ref} (no anchor #{frag})")
    return broken


def source_pages(root):
    """viewcode's "[source]" pages: ``_modules/...html`` -> modification time (ns)."""
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in (Path(root) / "_modules").rglob("*.html")
    }


def test_every_local_link_resolves_after_a_cached_rebuild_too(built_book):
    """``make test`` after ``make book``, and ``make book`` twice: the second build of an
    unchanged book must leave the same complete site (issue 11: it lost ``_modules/``)."""
    broken = broken_local_links(built_book)
    assert not broken, f"{len(broken)} broken local links:\n" + "\n".join(broken[:50])
    sources = source_pages(built_book)
    assert "_modules/rnnref/rnn.html" in sources and "_modules/index.html" in sources, sources

    code, seconds = _locked_build()
    assert code == 0, "the cached rebuild failed: see the captured output"
    print(f"cached rebuild: {seconds:.1f} s")
    broken = broken_local_links(built_book)
    assert not broken, f"{len(broken)} broken local links after a cached rebuild:\n" + "\n".join(
        broken[:50]
    )
    # Nothing changed, so the source pages are kept as they were (not deleted and redone).
    assert source_pages(built_book) == sources


def _answer_hits(root):
    from autograder.answers import find_answers

    return find_answers(root)


@pytest.mark.slow
def test_the_term_edition_gives_no_answer_away(term_book, built_book):
    """Issue 26: no line of a graded function's body in rnnref, and no line of a solution or
    hidden-test block of solutions/, anywhere under the graded-term edition's site."""
    hits = _answer_hits(term_book)
    assert not hits, f"{len(hits)} answer lines in the term edition:\n" + "\n".join(hits[:40])
    # the search finds them where they are: the open edition shows the reference's source
    open_hits = _answer_hits(built_book)
    assert any(h.startswith("_modules/rnnref/rnn.html: ") for h in open_hits), open_hits[:5]
    for folder in ("_modules", "_sources", "_downloads"):
        assert not (term_book / folder).exists(), f"the term edition has {folder}/"
    broken = broken_local_links(term_book)
    assert not broken, f"{len(broken)} broken local links:\n" + "\n".join(broken[:50])

    api = (term_book / "book" / "api.html").read_text(encoding="utf-8")
    lessons = re.findall(r'href="(\.\./lessons/[^"#]+)">(?:<[^>]+>)*\[lesson\]', api)
    from autograder.answers import graded_functions

    assert len(lessons) == len({g.name for g in graded_functions()}), lessons
    assert "../lessons/04_lstm/04_lstm.html" in lessons
    lesson01 = (term_book / "lessons/01_vanilla_rnn/01_vanilla_rnn.html").read_text("utf-8")
    assert 'href="../../book/api.html#module-rnnref.rnn"' in lesson01
    # the figures stay, the code that drew them goes; text for the open edition only goes
    for chapter in sorted((built_book / "book").glob("0*.html")):
        opened = chapter.read_text(encoding="utf-8")
        graded = (term_book / "book" / chapter.name).read_text(encoding="utf-8")
        assert graded.count("<img") == opened.count("<img") > 0 or "<img" not in opened
        assert "cell_input" in opened and "cell_input" not in graded, chapter.name
    assert "one step is one line" in (built_book / "book/01_vanilla_rnn.html").read_text()
    assert "one step is one line" not in (term_book / "book/01_vanilla_rnn.html").read_text()


def _published(edition, dest):
    code = build_book_script().publish(edition, dest)
    assert code == 0, f"publishing into {dest} failed"
    return Path(dest)


@pytest.mark.slow
def test_publish_writes_a_folder_ready_to_serve(built_book, tmp_path):
    site = _published("open", tmp_path / "site")
    assert (site / ".nojekyll").is_file() and (site / "index.html").is_file()
    not_found = (site / "404.html").read_text(encoding="utf-8")
    assert 'href="https://rnn-from-scratch.github.io/rnn-from-scratch/index.html"' in not_found
    assert not broken_local_links(site)
    assert not list(site.rglob("*.pickle")) and not (site / ".buildinfo").exists()
    # published again: replaced; a folder the command did not write: refused, left as it was
    (site / "stale.html").write_text("old")
    _published("open", site)
    assert not (site / "stale.html").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert build_book_script().publish("open", mine) == 2
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    proc = subprocess.run(
        ["make", "-s", "publish"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 2 and "needs DEST=" in proc.stdout + proc.stderr


def test_the_pages_workflow_publishes_what_make_publish_writes():
    """The GitHub Actions recipe (not run here: it needs the network): it publishes the
    edition named in its settings, from the folder ``make publish`` writes."""
    flow = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text(encoding="utf-8"))
    assert flow["env"]["BOOK_EDITION"] in build_book_script().EDITION.EDITIONS
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = flow["jobs"]["build"]["steps"]
    (run,) = [s["run"] for s in steps if "run" in s]
    assert run == 'make publish EDITION="$BOOK_EDITION" DEST=site', run
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload["with"]["path"] == "site"
    deploy = flow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert book_url() == ("https://rnn-from-scratch.github.io/rnn-from-scratch/")


EXT = ROOT / "book" / "_ext"
DEMO_MODULE = '''def f(x):
    """F."""
    return x


def g(x):
    """G."""
    return -x
'''
DEMO_CONF = f"""
import sys
sys.path[:0] = [{str(EXT)!r}, '.']
extensions = ["sphinx.ext.autodoc", "course_source_pages"]
"""


def _sphinx_build(src):
    """``sphinx-build -b html`` of ``src`` into ``src/out`` (warnings are errors)."""
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", ".", "out"],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_source_pages_follow_what_the_docs_document(tmp_path):
    """viewcode alone keeps a source page newer than its module, with back links to objects
    no longer documented; it never writes a page again in a build with nothing to write."""
    (tmp_path / "conf.py").write_text(DEMO_CONF)
    (tmp_path / "demo_src_mod.py").write_text(DEMO_MODULE)
    index = tmp_path / "index.rst"
    page = tmp_path / "out/_modules/demo_src_mod.html"

    def document(*names):
        lines = ["Demo", "====", ""] + [f".. autofunction:: demo_src_mod.{n}" for n in names]
        index.write_text("\n".join(lines) + "\n")
        _sphinx_build(tmp_path)
        assert not broken_local_links(tmp_path / "out")
        return _parse(page).ids if page.is_file() else None

    assert {"f", "g"} <= document("f", "g")
    mtime = page.stat().st_mtime_ns
    _sphinx_build(tmp_path)  # nothing changed: kept as it is
    assert page.stat().st_mtime_ns == mtime
    ids = document("f")  # g's back link would lead to no anchor
    assert "f" in ids and "g" not in ids
    page.unlink()  # deleted by hand: the next build, with nothing else to do, restores it
    _sphinx_build(tmp_path)
    assert "f" in _parse(page).ids
    assert not broken_local_links(tmp_path / "out")
    assert document() is None  # no module documented: no page, and no index listing one
    assert not (tmp_path / "out/_modules/index.html").exists()


def test_an_edited_static_file_reaches_the_site_when_no_page_changed(tmp_path):
    (tmp_path / "conf.py").write_text(
        DEMO_CONF.replace('"course_source_pages"', '"course_static"')
        + "html_static_path = ['static']\n"
    )
    (tmp_path / "index.rst").write_text("Demo\n====\n")
    (tmp_path / "static").mkdir()
    css = tmp_path / "static/course.css"
    css.write_text("p { color: red; }\n")
    _sphinx_build(tmp_path)
    css.write_text("p { color: blue; }\n")
    _sphinx_build(tmp_path)
    assert (tmp_path / "out/_static/course.css").read_text() == "p { color: blue; }\n"


def _course_mathjax():
    spec = importlib.util.spec_from_file_location("course_mathjax", EXT / "course_mathjax.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mathjax_is_vendored_once_and_only_what_the_site_loads(tmp_path):
    mathjax = _course_mathjax()
    package = tmp_path / "package"
    for rel in ("es5/tex-chtml.js", "es5/output/chtml/fonts/woff-v2/a.woff", "es5/tex-svg.js"):
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text(rel)
    (package / "README.md").write_text("readme")
    tarball = tmp_path / "mathjax-9.9.9.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(package, arcname="package")
    fetched = []

    def fetch(dest_dir, version):
        fetched.append(version)
        return tarball

    def broken_fetch(dest_dir, version):
        raise OSError("network is unreachable")

    dest = tmp_path / "_vendor" / "mathjax"
    assert mathjax.vendor_mathjax(dest, "9.9.9", fetch=fetch)
    assert (dest / "tex-chtml.js").read_text() == "es5/tex-chtml.js"
    assert (dest / "output/chtml/fonts/woff-v2/a.woff").is_file()
    assert not (dest / "tex-svg.js").exists() and not (dest / "README.md").exists()
    assert not mathjax.vendor_mathjax(dest, "9.9.9", fetch=broken_fetch)  # already there
    assert fetched == ["9.9.9"]
    # A failed fetch of another version leaves the vendored copy as it was.
    with pytest.raises(OSError):
        mathjax.vendor_mathjax(dest, "9.9.10", fetch=broken_fetch)
    assert (dest / ".version").read_text().strip() == "9.9.9"
    assert (dest / "tex-chtml.js").is_file()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


REDIRECT = re.compile(r'http-equiv="refresh" content="0; url=([^"#]+)', re.IGNORECASE)

# Runs in the page once MathJax is done: what the assertions need, in one round trip.
PAGE_REPORT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const imgs = [...document.images];
  for (const img of imgs) { img.loading = "eager"; }
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  const body = document.body.cloneNode(true);
  body.querySelectorAll("pre, code, script, style, textarea, mjx-container, .highlight")
      .forEach(e => e.remove());
  return {
    mathSources: document.querySelectorAll(".math, span.math, div.math").length,
    typeset: document.querySelectorAll("mjx-container").length,
    text: body.innerText,
    brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0))
                      .map(i => i.getAttribute("src")),
    images: imgs.length,
    // A display equation wider than the text column must scroll inside its own box.
    displayMath: [...document.querySelectorAll('mjx-container[display="true"]')].map(m => {
      const column = (m.closest("article") || document.body).getBoundingClientRect();
      const box = m.getBoundingClientRect();
      return {
        wide: m.scrollWidth > m.clientWidth + 2,
        scrolls: ["auto", "scroll"].includes(getComputedStyle(m).overflowX),
        inside: box.left >= column.left - 1 && box.right <= column.right + 1,
      };
    }),
    sideways: document.documentElement.scrollWidth > document.documentElement.clientWidth + 2,
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
  };
}
"""


@pytest.mark.slow
@pytest.mark.browser
def test_pages_in_headless_chromium(built_book, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(
            "headless chromium missing: /usr/bin/chromium not found (install it with "
            "`bash scripts/system_deps.sh`, which runs `apt-get install chromium` as root)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    # Crawl from the landing page: every page a reader can reach is checked, and a stale file
    # left in _build/html by an earlier build (reachable from nowhere) is not.
    # the folder `make publish` writes, served as a static host would serve it
    site = _published("open", tmp_path / "site")
    queue, seen = ["index.html"], {"index.html"}
    problems, external = [], set()
    stats = {"math": 0, "wide equations": 0, "images": 0, "links": 0}
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)

    with serve(site) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})

        def route(r):
            url = r.request.url
            if url.startswith(base) or url.startswith(("data:", "blob:", "about:")):
                r.continue_()
            else:
                external.add(url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        failed = []
        # ERR_ABORTED: a load cut short by the next navigation, not a missing file (a missing
        # file is a 404 response).
        page.on(
            "requestfailed",
            lambda r: (
                None
                if "ERR_ABORTED" in (r.failure or "")
                else failed.append(f"{r.url} ({r.failure})")
            ),
        )
        page.on(
            "response",
            lambda r: failed.append(f"{r.url} ({r.status})") if r.status >= 400 else None,
        )
        while queue:
            rel = queue.pop(0)
            failed.clear()
            refresh = REDIRECT.search((site / rel).read_text(encoding="utf-8"))
            if refresh:  # index.html: a redirect to the landing page
                target = (Path(rel).parent / refresh.group(1)).as_posix()
                if not (site / target).is_file():
                    problems.append(f"{rel}: redirects to a missing page {target}")
                elif target not in seen:
                    seen.add(target)
                    queue.append(target)
                continue
            page.goto(f"{base}/{rel}", wait_until="load")
            report = page.evaluate(PAGE_REPORT_JS)
            local_failures = [u for u in failed if u.startswith(base)]
            if local_failures:
                problems.append(f"{rel}: requests failed: {local_failures}")
            if report["mathSources"]:
                stats["math"] += 1
                if not report["typeset"]:
                    problems.append(f"{rel}: math not typeset (no mjx-container)")
            for raw in ("$$", "\\(", "\\[", "\\begin{"):
                if raw in report["text"]:
                    problems.append(f"{rel}: raw TeX {raw!r} left in the text")
            overflowing = [
                m
                for m in report["displayMath"]
                if not m["inside"] or m["wide"] and not m["scrolls"]
            ]
            if overflowing:
                problems.append(
                    f"{rel}: {len(overflowing)} display equation(s) overflow the text column "
                    "at 1280 px (they must scroll inside their box)"
                )
            stats["wide equations"] += sum(m["wide"] for m in report["displayMath"])
            if report["sideways"]:
                problems.append(f"{rel}: the page scrolls sideways at 1280 px")
            if report["brokenImages"]:
                problems.append(f"{rel}: images not loaded: {report['brokenImages']}")
            stats["images"] += report["images"]
            for href in report["links"]:
                if not href.startswith(base):
                    continue
                stats["links"] += 1
                url, frag = urldefrag(href)
                path = unquote(urlsplit(url).path).lstrip("/")
                target = site / path
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{rel}: broken link {href}")
                    continue
                linked = target.relative_to(site).as_posix()
                if target.suffix == ".html" and linked not in seen:
                    seen.add(linked)
                    queue.append(linked)
                elif frag and target.suffix == ".html" and unquote(frag) not in _ids_of(target):
                    problems.append(f"{rel}: missing anchor {href}")
            if rel == "book/intro.html":
                page.screenshot(path=str(SCREENSHOTS / "landing.png"))
            if rel == CHAPTER_SCREENSHOT:
                # A viewport as tall as the page: full_page=True captures this theme's sticky
                # layout shifted sideways now and then.
                height = page.evaluate("document.documentElement.scrollHeight")
                page.set_viewport_size({"width": 1280, "height": height})
                page.screenshot(path=str(SCREENSHOTS / "chapter.png"))
                page.set_viewport_size({"width": 1280, "height": 860})
        page.goto(f"{base}/404.html", wait_until="load")
        if "Page not found" not in page.inner_text("body"):
            problems.append("404.html: does not say the page was not found")
        browser.close()

    print(f"browser check: {len(seen)} pages, {stats}")
    assert not external, f"requests to external hosts: {sorted(external)}"
    assert not problems, "\n".join(problems)
    unreached = [
        f for f in toc_files() if f"{f}.html" not in seen and (site / f"{f}.html").exists()
    ]
    assert not unreached, f"pages of _toc.yml no link leads to: {unreached}"
    assert stats["math"] >= 5, stats
    assert (SCREENSHOTS / "landing.png").is_file() and (SCREENSHOTS / "chapter.png").is_file()
