"""A hostile lesson-01 submission's feedback page, opened in headless chromium: nothing runs.

The honest solution plus a markdown cell and a code cell whose outputs are hostile HTML,
JavaScript, SVG and markdown goes through the real CLI (``release -> collect -> autograde ->
feedback``); the page is served from 127.0.0.1 and loaded the way
tests/test_book.py::test_pages_in_headless_chromium loads the book. Every payload would leave a
trace if it ran: a global, the title, a body attribute, a navigation, a dialog, or a request
to a TCP port this test listens on. None may appear, and the honest parts (score, a heading,
a plain output) must still be on the page. The sanitiser itself is unit-tested in
tests/test_sanitize.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_autograder import REPO, class_env, run  # noqa: E402
from test_book import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from test_sandbox import _Listener  # noqa: E402

from autograder import fixtures as fx  # noqa: E402
from autograder import sandbox  # noqa: E402

LESSON = "01_vanilla_rnn"
SOURCE = REPO / "solutions" / LESSON / f"{LESSON}.ipynb"
HEADING = "Honest heading of the student"
PLAIN = "plain output of the student: 42"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.nbgrader,
    pytest.mark.skipif(sandbox.probe() is not None, reason=f"no bubblewrap: {sandbox.probe()}"),
]


def _markdown(port: int) -> str:
    """A markdown cell: a real heading and text, then raw HTML and markdown-made links."""
    hit = f"http://127.0.0.1:{port}"
    return f"""# {HEADING}

My notes on $h_t = \\tanh(W_x x_t + W_h h_{{t-1}} + b)$.

<script>window.__pwned = "md-script"; fetch("{hit}/md-script")</script>
<img src="x" onerror="document.title = 'pwned-md-img'; fetch('{hit}/md-img')">
<svg onload="document.body.setAttribute('data-pwned', 'md-svg')"></svg>
<iframe src="{hit}/md-iframe"></iframe>
<meta http-equiv="refresh" content="0; url={hit}/md-refresh">
<base href="{hit}/md-base/">
<link rel="stylesheet" href="{hit}/md-link.css">
<style>@import url("{hit}/md-style.css"); body {{ background: url("{hit}/md-bg") }}</style>
<object data="{hit}/md-object"></object><embed src="{hit}/md-embed">
<form action="{hit}/md-form"><input name="q" autofocus onfocus="window.__pwned='md-focus'"></form>
<details open ontoggle="window.__pwned = 'md-toggle'">x</details>

[a javascript link](javascript:window.__pwned='md-link')
[a data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
![an image]({hit}/md-image.png)
"""


def _code(port: int) -> str:
    """A code cell whose outputs are hostile HTML, JavaScript, SVG and markdown."""
    hit = f"http://127.0.0.1:{port}"
    return f"""from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML('<img src="x" onerror="window.__pwned=\\'html-img\\'; fetch(\\'{hit}/html-img\\')">'))
display(HTML('<script>document.title = "pwned-html-script"</script><b>bold html</b>'))
display(HTML('<a href="javascript:window.__pwned=1" id="jslink">click me</a>'))
display(HTML('<meta http-equiv="refresh" content="0; url={hit}/html-refresh">'))
display(HTML('<iframe srcdoc="<script>parent.__pwned=\\'srcdoc\\'</script>"></iframe>'))
display(Javascript('window.__pwned = "js"; fetch("{hit}/js")'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=\\'svg\\'">'
            '<script>fetch("{hit}/svg")</script><circle r="4"/></svg>'))
display(Markdown('<img src=x onerror="window.__pwned=\\'markdown\\'"> [m](javascript:alert(1))'))
display({{"text/html": '<video><source onerror="window.__pwned=\\'video\\'"></video>',
          "application/vnd.jupyter.widget-view+json": {{"model_id": "x", "version_major": 2}}}},
        raw=True)
print({PLAIN!r})
"""


def _hostile_submission(port: int):
    nb = fx.insert_code(fx.as_submission(fx.read(SOURCE)), "rnn_backward", _code(port))
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(_markdown(port)))
    return nb


# Runs before any of the page's own markup: reports (to Python, through a binding that
# survives a navigation) every write to window.__pwned, title change and data-pwned attribute.
WATCH_JS = """
Object.defineProperty(window, "__pwned", {set(v) { window.__report("pwned=" + v); }});
new MutationObserver(ms => ms.forEach(m => {
  if (m.attributeName === "data-pwned") window.__report("attribute data-pwned");
  if (m.target.nodeName === "TITLE" || m.target.parentNode?.nodeName === "TITLE")
    window.__report("title=" + document.title);
})).observe(document, {subtree: true, attributes: true, childList: true, characterData: true});
"""

# What the page holds once loaded.
TRACES_JS = """
() => ({
  title: document.title,
  scripts: document.scripts.length,
  frames: document.querySelectorAll("iframe, object, embed, frame").length,
  jsLinks: [...document.querySelectorAll("a[href]")]
    .map(a => a.href).filter(h => /^(javascript|data):/i.test(h)),
  handlers: [...document.querySelectorAll("*")].flatMap(e =>
    [...e.attributes].filter(a => /^on/i.test(a.name)).map(a => e.tagName + "." + a.name)),
  text: document.body.innerText,
  headings: [...document.querySelectorAll("h1, h2")].map(h => h.textContent),
})
"""


def test_hostile_feedback_page_runs_nothing_in_chromium(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("headless chromium missing: /usr/bin/chromium (bash scripts/system_deps.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    listener = _Listener()
    env = class_env(tmp_path)
    env["RNN_SOURCE_DIR"] = str(REPO / "solutions")
    run(env, "release", LESSON)
    fx.write(_hostile_submission(listener.port), tmp_path / "dl" / "mallory" / f"{LESSON}.ipynb")
    run(env, "collect", str(tmp_path / "dl"))
    run(env, "autograde", "--no-progress")
    run(env, "feedback", "--student", "mallory")
    feedback = tmp_path / "course" / "feedback"
    graded = (
        tmp_path / "course" / "autograded" / "mallory" / LESSON / f"{LESSON}.ipynb"
    ).read_text()
    assert (
        "html-img" in graded and "pwned-md-img" in graded
    )  # the payloads reached the page's input

    requests, dialogs, reports = [], [], []
    with serve(feedback) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()

        def route(r):
            url = r.request.url
            requests.append(url)
            # our server and the listener get through (a hit there is the evidence); the
            # rest of the world is not reached from a test
            if url.startswith((base, f"http://127.0.0.1:{listener.port}", "data:", "about:")):
                r.continue_()
            else:
                r.abort()

        context.route("**/*", route)
        context.expose_binding("__report", lambda source, what: reports.append(what))
        context.add_init_script(WATCH_JS)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        url = f"{base}/mallory/{LESSON}/{LESSON}.html"
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        page.mouse.move(5, 5)
        page.keyboard.press("Tab")
        traces = page.evaluate(TRACES_JS)
        final_url = page.url
        browser.close()

    hits = [u for u in requests if f"127.0.0.1:{listener.port}" in u]
    title = f"Feedback: {LESSON} / {LESSON}"
    # the parser writing the page's own <title> is seen by the observer too: that one is ours
    reports = [r for r in reports if r != f"title={title}"]
    # every trace at once, so that a failure shows all that ran
    evidence = {
        "ran": reports,
        "dialogs": dialogs,
        "navigated to": [final_url] if final_url != url else [],
        "requests to the listener": hits,
        "connections to the listener": listener.accepted,
        "other requests": [u for u in requests if not u.startswith((base, "data:"))],
        "scripts": traces["scripts"],
        "frames": traces["frames"],
        "javascript/data links": traces["jsLinks"],
        "event handlers": traces["handlers"],
    }
    assert not any(evidence.values()), evidence
    assert traces["title"] == title, traces["title"]
    # the honest parts are still there: full marks, the heading, the math, the plain output
    score = re.search(
        r"Score: (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) for the assignment", traces["text"]
    )
    assert score and score[1] == score[2] and float(score[2]) > 0, traces["text"][:500]
    assert HEADING + "¶" in traces["headings"] or HEADING in traces["headings"], traces["headings"]
    assert PLAIN in traces["text"] and "bold html" in traces["text"]
    assert "h_t = \\tanh(W_x x_t" in traces["text"]
    assert "passed" in traces["text"] and "rnn_backward" in graded
