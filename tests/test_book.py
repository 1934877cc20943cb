"""The course book: table of contents, build (warnings are errors) and a headless browser check.

The build runs once per session through ``scripts/build_book.py`` (the command behind
``make book``); with nothing changed it is a cached rebuild that executes nothing. The browser
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
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml

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


def _build_book():
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts/build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


@pytest.fixture(scope="session")
def built_book():
    """Build (or rebuild from the cache) the book once; a file lock keeps xdist workers from
    building into the same folder at the same time."""
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        t0 = time.perf_counter()
        code = _build_book()
        seconds = time.perf_counter() - t0
    assert code == 0, "the book build failed (warnings are errors): see the captured output"
    print(f"book build: {seconds:.1f} s")
    return HTML


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


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@functools.cache
def _ids_of(path):
    parser = _Ids()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return frozenset(parser.ids)


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
    wideMath: [...document.querySelectorAll('mjx-container[display="true"]')]
                  .filter(m => m.scrollWidth > m.clientWidth + 2).length,
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
  };
}
"""


@pytest.mark.slow
@pytest.mark.browser
def test_pages_in_headless_chromium(built_book):
    if not CHROMIUM.exists():
        pytest.skip(
            "headless chromium missing: /usr/bin/chromium not found (install it with "
            "`bash scripts/system_deps.sh`, which runs `apt-get install chromium` as root)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    # Crawl from the landing page: every page a reader can reach is checked, and a stale file
    # left in _build/html by an earlier build (reachable from nowhere) is not.
    queue, seen = ["index.html"], {"index.html"}
    problems, notes, external = [], [], set()
    stats = {"math": 0, "images": 0, "links": 0}
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)

    with serve(built_book) as base, sync_api.sync_playwright() as pw:
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
            refresh = REDIRECT.search((built_book / rel).read_text(encoding="utf-8"))
            if refresh:  # index.html: a redirect to the landing page
                target = (Path(rel).parent / refresh.group(1)).as_posix()
                if not (built_book / target).is_file():
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
            if report["wideMath"]:
                # The chapters are this book's own; the assignments are only reported.
                (problems if rel.startswith("book/") else notes).append(
                    f"{rel}: {report['wideMath']} display equation(s) wider than "
                    "the text column at 1280 px"
                )
            if report["brokenImages"]:
                problems.append(f"{rel}: images not loaded: {report['brokenImages']}")
            stats["images"] += report["images"]
            for href in report["links"]:
                if not href.startswith(base):
                    continue
                stats["links"] += 1
                url, frag = urldefrag(href)
                path = unquote(urlsplit(url).path).lstrip("/")
                target = built_book / path
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{rel}: broken link {href}")
                    continue
                linked = target.relative_to(built_book).as_posix()
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
        browser.close()

    print(f"browser check: {len(seen)} pages, {stats}")
    for note in notes:
        print("note:", note)
    assert not external, f"requests to external hosts: {sorted(external)}"
    assert not problems, "\n".join(problems)
    unreached = [
        f for f in toc_files() if f"{f}.html" not in seen and (built_book / f"{f}.html").exists()
    ]
    assert not unreached, f"pages of _toc.yml no link leads to: {unreached}"
    assert stats["math"] >= 5, stats
    assert (SCREENSHOTS / "landing.png").is_file() and (SCREENSHOTS / "chapter.png").is_file()
