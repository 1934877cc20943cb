"""The sanitiser of every HTML page built from a student's notebook (autograder/sanitize.py).

Hostile markup in every place a notebook can hold it (markdown, raw cells, rich outputs,
attachments, metadata the templates paste into attributes) must leave no active construct in
the rendered HTML, while what a student legitimately sees stays. The same page through a real
class and a headless browser is in tests/test_feedback_xss.py.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from traitlets.config import Config

from autograder import sanitize

PNG = (  # a 1x1 pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5E"
    "rkJggg=="
)

# Each payload would run script, navigate, load something or restyle the page if kept.
PAYLOADS = [
    "<script>document.title='pwned'</script>",
    "<SCRIPT SRC=//127.0.0.1:9/x.js></SCRIPT>",
    '<img src=x onerror="document.title=1">',
    "<svg onload=alert(1)><circle r=5 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="  JaVa\tScRiPt:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    '<img src="http://127.0.0.1:9/track.png">',
    '<iframe src="http://127.0.0.1:9/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="http://127.0.0.1:9/x"></object>',
    '<embed src="http://127.0.0.1:9/x">',
    '<form action="http://127.0.0.1:9/"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/">',
    '<base href="http://127.0.0.1:9/">',
    '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
    "<style>body{background:url(http://127.0.0.1:9/x)}</style>",
    '<div style="position:fixed;top:0;background:url(http://127.0.0.1:9/)">x</div>',
    '<p onclick="alert(1)" onmouseover="alert(1)">text</p>',
    '<details open ontoggle="alert(1)">x</details>',
    '<input autofocus onfocus="alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mtext></math>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<video><source onerror="alert(1)"></video>',
    '<body onload="alert(1)">',
    '<template><img src=x onerror="alert(1)"></template>',
]
# Markdown that renders into something active when not cleaned after rendering.
MARKDOWN_PAYLOADS = [
    "[click](javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "![img](http://127.0.0.1:9/track.png)",
    '[click](javascript:alert(1) "title")',
    "<javascript:alert(1)>",
    "![x](attachment:evil.svg)",
    "![x](attachment:missing.png)",
    '![x](attachment:"><script>alert(1)</script>)',
]


_ACTIVE_TAG = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|form|meta|base|link|svg|math|style|input|button|"
    r"video|audio|source|template|noscript|textarea|select|frame|frameset|applet)\b",
    re.IGNORECASE,
)
_URL_ATTR = re.compile(
    r"""\s(?:href|src|action|data|formaction)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*))""",
    re.IGNORECASE,
)


def _active(page: str) -> list[str]:
    """Every active construct left in ``page`` (a tag, handler or URL that would do
    something), searched in the markup only: escaped text (``&lt;script&gt;``) is inert."""
    found = []
    for tag in re.findall(r"<[^<>]*>?", page):
        names = re.sub(r"\"[^\"]*\"|'[^']*'", '""', tag)  # text inside a value is inert
        found += _ACTIVE_TAG.findall(names)
        found += re.findall(r"\s(on[a-z]+|style|srcdoc)\s*=", names, re.IGNORECASE)
        for url in ("".join(m) for m in _URL_ATTR.findall(tag)):
            plain = re.sub(r"[\x00-\x20]+", "", html.unescape(url)).lower()
            if plain.startswith(("javascript:", "vbscript:", "http://127", "//")):
                found.append(url)
            if plain.startswith("data:") and not sanitize.IMAGE_URI.match(plain):
                found.append(url[:40])
    return found


def _render(nb) -> str:
    """``nb`` through the feedback pipeline: sanitise, render (lab template), clean, page."""
    exporter = HTMLExporter()
    sanitize.sanitize_notebook(nb)
    body = sanitize.body_of(exporter.from_notebook_node(nb)[0])
    return sanitize.page("t", "<p>trusted header</p>", body)


def _body(page: str) -> str:
    return page[page.index("<body") :]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_clean_html_removes_every_active_construct(payload):
    cleaned = sanitize.clean_html(payload)
    assert _active(cleaned) == [], cleaned
    assert _active(payload), "the payload itself must be caught by the check"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_markup_in_every_place_of_a_notebook_renders_inert(payload):
    nb = new_notebook(metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {}}})
    nb.cells.append(new_markdown_cell(f"# Title\n\n{payload}\n\nafter"))
    nb.cells.append(new_raw_cell(payload, metadata={"format": "text/html"}))
    code = new_code_cell("x = 1", execution_count=1)
    code.outputs = [
        new_output("display_data", data={"text/html": payload, "text/plain": "html"}),
        new_output("display_data", data={"text/markdown": payload}),
        new_output("display_data", data={"image/svg+xml": payload, "text/plain": "svg"}),
        new_output("display_data", data={"application/javascript": payload, "text/plain": "js"}),
        new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": payload}},
        ),
        new_output("execute_result", data={"text/plain": payload}, execution_count=1),
        new_output("stream", name="stdout", text=payload),
    ]
    nb.cells.append(code)
    page = _render(nb)
    assert _active(_body(page)) == [], _body(page)[:3000]


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_markdown_links_and_attachments_render_inert(payload):
    cell = new_markdown_cell(f"## Heading\n\n{payload}")
    cell.attachments = {
        "evil.svg": {"image/svg+xml": "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+"},
        '"><script>alert(1)</script>': {"text/html": "PHNjcmlwdD4="},
    }
    page = _render(new_notebook(cells=[cell]))
    assert _active(_body(page)) == [], _body(page)
    assert 'id="Heading"' in page


def test_metadata_pasted_into_attributes_cannot_break_out():
    code = new_code_cell("x", execution_count=1)
    code.metadata["tags"] = ['t" onmouseover="alert(1)', "ok-tag"]
    code.outputs = [
        new_output(
            "display_data",
            data={"image/png": PNG, "text/plain": "png"},
            metadata={
                "image/png": {"width": "1 onerror=alert(1)", "height": 20},
                "filenames": {"image/png": "../../../etc/passwd"},
            },
        )
    ]
    nb = new_notebook(cells=[code])
    # nbformat.reads only warns about an invalid id or prompt: a submission can hold them
    code.id = 'x"><img src=x onerror=alert(1)>'
    code.execution_count = "<script>alert(1)</script>"
    page = _render(nb)
    assert _active(_body(page)) == []
    assert "celltag_ok-tag" in page and "passwd" not in page
    assert f'src="data:image/png;base64,{PNG}"' in page and 'height="20"' in page


def test_honest_content_stays():
    md = new_markdown_cell(
        "# Lesson heading\n\nSome *text* with $h_t = \\tanh(W x_t)$ and $a<b$.\n\n"
        "> a quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nif a < b and c > d:\n"
        "    pass\n```\n\n[docs](https://numpy.org) and [section](#Lesson-heading)"
    )
    code = new_code_cell("print('hi')", execution_count=3)
    code.outputs = [
        new_output("stream", name="stdout", text="loss 0.25 < 1\n"),
        new_output("display_data", data={"image/png": PNG, "text/plain": "fig"}),
        new_output("display_data", data={"text/html": "<table><tr><td>cell</td></tr></table>"}),
        new_output(
            "error",
            ename="ValueError",
            evalue="bad shape",
            traceback=["ValueError: shape (3,) < (4,)"],
        ),
    ]
    page = _render(new_notebook(cells=[md, code]))
    body = _body(page)
    assert '<h1 id="Lesson-heading">Lesson heading' in body
    assert "$h_t = \\tanh(W x_t)$" in body and "$a&lt;b$" in body
    assert "<blockquote>" in body and "<td>1</td>" in body and "<td>cell</td>" in body
    assert "if</span> <span class=" in body and "&lt;" in body  # highlighted code, escaped
    assert "loss 0.25 &lt; 1" in body and "ValueError: shape (3,) &lt; (4,)" in body
    assert "In\xa0[3]:" in body
    assert f'src="data:image/png;base64,{PNG}"' in body
    assert 'href="https://numpy.org"' in body and 'href="#Lesson-heading"' in body
    assert "trusted header" in body


def test_page_head_has_the_policy_first_and_no_script():
    page = sanitize.page("a <b>", "", "<p>x</p>", sanitize.template_css(HTMLExporter()))
    head = page[page.index("<head>") : page.index("</head>")]
    assert head.startswith('<head>\n<meta http-equiv="Content-Security-Policy"')
    assert "script-src" not in sanitize.CSP and "default-src 'none'" in sanitize.CSP
    assert "<script" not in page and "<title>a &lt;b&gt;</title>" in head
    assert "<style" in head and "jp-Notebook" in head  # nbconvert's CSS still applies


def test_the_nbgrader_preprocessor_sanitises_formgrader_style_exports():
    """Plain nbgrader (generate_feedback, formgrader) renders through HTMLExporter with the
    preprocessor nbgrader_config.py configures; its page keeps its template but not the
    student's markup."""
    config = Config()
    config.HTMLExporter.preprocessors = ["autograder.sanitize.SanitizeNotebook"]
    nb = new_notebook(cells=[new_markdown_cell("[x](javascript:alert(1)) <img src=x onerror=a>")])
    code = new_code_cell("x", execution_count=1)
    code.outputs = [new_output("display_data", data={"text/html": "<svg onload=alert(1)>"})]
    nb.cells.append(code)
    page, _ = HTMLExporter(config=config).from_notebook_node(nb)
    assert _active(_body(page).split("</main>")[0]) == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(PAYLOADS + ["<b>", "</b>", "<p>", '"', "'", ">", "<", "=", " ", "x"]),
        max_size=8,
    ).map("".join)
)
def test_clean_html_of_mixed_fragments_keeps_nothing_active(fragment):
    assert _active(sanitize.clean_html(fragment)) == []
