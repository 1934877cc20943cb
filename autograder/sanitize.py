"""HTML from student notebooks, made inert: the one sanitiser of every page built from them.

A submitted notebook is the student's to write: its markdown, its outputs (``text/html``,
``image/svg+xml``, ``application/javascript``, widgets, ...), its attachments and metadata can
all carry markup that would run in the browser of whoever opens the page (the student, the
instructor in formgrader). Two layers, both allow-lists:

- :func:`sanitize_notebook` (and its preprocessor :class:`SanitizeNotebook`, used by plain
  nbgrader through ``nbgrader_config.py``) runs before nbconvert: outputs keep only inert
  mimetypes, HTML and markdown are rendered and cleaned, metadata that templates paste into
  attributes (tags, ids, image sizes, file names, prompts, widget state) is reduced to what
  cannot break out of them;
- :func:`clean_html` runs on the rendered HTML itself (``python -m autograder feedback``
  cleans the whole page body with it), so whatever a template or markdown renderer lets
  through (a ``javascript:`` link written in markdown, say) is removed too.

:func:`page` wraps the cleaned body in a head of our own: nbconvert's CSS (from an empty
notebook, so no student content), and a Content-Security-Policy that allows no script at all,
as a second line should anything slip through the cleaning.
"""

from __future__ import annotations

import functools
import html
import re
import uuid

import bleach
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor

# No script, frame, object, form, base or connection of any kind; inline CSS only (nbconvert's
# styles are inlined) and images only as data: URIs (embedded PNG/JPEG outputs, and the CSS's
# own icons). form-action and base-uri are not covered by default-src.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)

TAGS = frozenset(
    "a abbr b blockquote br caption cite code col colgroup dd del details div dl dt em "
    "figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li main mark ol p pre q s samp "
    "small span strong sub summary sup table tbody td tfoot th thead tr u ul var".split()
)
_COMMON = {"class", "title"}
_PER_TAG = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "div": {"id", "data-mime-type"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "ol": {"start"},
    "col": {"span"},
    "colgroup": {"span"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}
# Only embedded raster images; an SVG (even in <img>, where it cannot run script) is not needed.
IMAGE_URI = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*\Z", re.IGNORECASE)
# Browsers ignore whitespace and control characters inside a URL's scheme ("java\tscript:").
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")
SAFE_MIMETYPES = frozenset({"text/plain", "text/latex", "image/png", "image/jpeg"})
_HTML_MIMETYPES = ("text/html", "text/markdown")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}\Z")


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """bleach's attribute filter: the allow-list above, and which URLs may stay.

    bleach then checks every URL attribute against ``protocols`` (``data`` is among them only
    for images, which this filter restricts to PNG/JPEG data URIs)."""
    if name not in _COMMON and name not in _PER_TAG.get(tag, ()):
        return False
    url = _IGNORED_IN_URL.sub("", value).lower()
    if tag == "img" and name == "src":
        return bool(IMAGE_URI.match(url))
    if tag == "img" and name in ("width", "height"):
        return value.isdigit()
    if tag == "a" and name == "href":
        return not url.startswith("data:")
    return True


@functools.cache
def _cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=TAGS,
        attributes=_allowed_attribute,
        protocols={"http", "https", "mailto", "data"},
        strip=True,  # a removed tag's text stays, as text (a <script>'s code is shown inert)
        strip_comments=True,
    )


def clean_html(fragment: str) -> str:
    """``fragment`` with only allow-listed tags and attributes: no script, style, event
    handler, frame, object, embed, form, meta, base, link or SVG; links only to http(s),
    mailto or relative URLs; images only as PNG/JPEG data URIs."""
    return _cleaner().clean(fragment)


class _Renderer(IPythonRenderer):
    """nbconvert's markdown renderer, except that an attachment link resolves only to a
    PNG/JPEG attachment (anything else, or a missing one, gives an empty ``src`` where
    nbconvert would raise and lose the whole page)."""

    def _embed_image_or_attachment(self, src: str) -> str:
        if not src.startswith("attachment:"):
            return src
        bundle = self.attachments.get(src.removeprefix("attachment:"))
        for mime in ("image/png", "image/jpeg"):
            if isinstance(bundle, dict) and isinstance(bundle.get(mime), str):
                return f"data:{mime};base64,{bundle[mime]}"
        return ""


def markdown_html(source: str, attachments: dict | None = None) -> str:
    """Markdown (with ``$math$`` kept as text) rendered the way nbconvert renders it, cleaned.

    Attachments become data URIs here, so only PNG/JPEG ones survive the cleaning."""
    renderer = _Renderer(escape=False, attachments=dict(attachments or {}))
    try:
        rendered = MarkdownWithMath(renderer=renderer).render(source)
    except Exception:  # a cell the renderer chokes on is still shown, as plain text
        rendered = f"<pre>{html.escape(source)}</pre>"
    return clean_html(rendered)


def _as_html_block(fragment: str) -> str:
    """Clean HTML as one line inside a ``<div>``: a markdown renderer passes such a block
    through untouched (a blank line would end it and send the rest through markdown again).
    ``&#10;`` is a newline wherever one matters (in ``<pre>``)."""
    return '<div class="autograder-sanitized">' + fragment.replace("\n", "&#10;") + "</div>"


def _clean_output(out: dict) -> None:
    """Keep only inert mimetypes of a rich output; HTML and markdown come back cleaned."""
    data = out.get("data") or {}
    kept = {m: v for m, v in data.items() if m in SAFE_MIMETYPES and isinstance(v, str | list)}
    text = lambda m: "".join(data[m]) if isinstance(data[m], list) else str(data[m])  # noqa: E731
    if "text/html" in data:
        kept["text/html"] = clean_html(text("text/html"))
    elif "text/markdown" in data:
        kept["text/html"] = markdown_html(text("text/markdown"))
    if not kept:  # say what was left out rather than show an empty box
        kept["text/plain"] = f"[{', '.join(sorted(data)) or 'empty'} output not shown here]"
    out["data"] = kept
    # Templates paste image sizes and file names into attributes: numbers only, no files.
    sizes = {}
    for mime in ("image/png", "image/jpeg"):
        meta = (out.get("metadata") or {}).get(mime)
        if isinstance(meta, dict):
            size = {k: v for k, v in meta.items() if k in ("width", "height") and _is_size(v)}
            if size:
                sizes[mime] = size
    out["metadata"] = sizes


def _is_size(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000


def _clean_cell_fields(cell) -> None:
    """Cell fields templates paste into markup: the id, tags (classes) and the prompt."""
    if not _SAFE_NAME.match(str(cell.get("id", "x"))):
        cell["id"] = uuid.uuid4().hex[:8]  # templates paste it into an id="..." attribute
    tags = cell.get("metadata", {}).get("tags")
    if tags is not None:
        safe = (
            [t for t in tags if isinstance(t, str) and _SAFE_NAME.match(t)]
            if isinstance(tags, list)
            else []
        )
        cell.metadata["tags"] = safe
    if "execution_count" in cell and not _is_size(cell.execution_count):
        cell.execution_count = None


def sanitize_notebook(nb) -> None:
    """Make ``nb`` (in place) safe for any nbconvert HTML template: see the module docstring."""
    nb.metadata.pop("widgets", None)  # widget state is pasted into a <script> block
    for cell in nb.cells:
        _clean_cell_fields(cell)
        if cell.cell_type == "markdown":
            cell.source = _as_html_block(markdown_html(cell.source, cell.get("attachments")))
            cell.pop("attachments", None)
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.get("output_type") in ("display_data", "execute_result"):
                    _clean_output(out)


class SanitizeNotebook(Preprocessor):
    """nbconvert preprocessor form of :func:`sanitize_notebook` (for plain nbgrader's
    ``generate_feedback`` and formgrader, configured in ``nbgrader_config.py``)."""

    def preprocess(self, nb, resources):
        sanitize_notebook(nb)
        return nb, resources


_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL | re.IGNORECASE)


def template_css(exporter) -> str:
    """The ``<style>`` blocks of ``exporter``'s template, taken from an empty notebook so that
    nothing of a student's can be in them."""
    import nbformat

    empty, _ = exporter.from_notebook_node(nbformat.v4.new_notebook())
    head = empty.split("</head>", 1)[0]
    return "\n".join(_STYLE.findall(head))


def body_of(page_html: str) -> str:
    """What is between ``<body ...>`` and the last ``</body>`` of a rendered page."""
    if "<body" not in page_html:
        return page_html
    start = page_html.index(">", page_html.index("<body")) + 1
    end = page_html.rfind("</body>")
    return page_html[start : end if end > start else len(page_html)]


def page(title: str, header_html: str, body_html: str, css: str = "") -> str:
    """A whole page: our head (CSP first, then the template's CSS), the trusted header, and
    ``body_html`` cleaned with :func:`clean_html`."""
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta charset="utf-8">\n<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(title)}</title>\n{css}\n</head>\n"
        '<body class="jp-Notebook" data-jp-theme-light="true" '
        'data-jp-theme-name="JupyterLab Light">\n'
        f"{header_html}\n{clean_html(body_html)}\n</body>\n</html>\n"
    )
