"""The book's two editions, one source: ``open`` (self-study, the default) and ``term`` (a
graded term, whose site gives no answer away).

The edition is named by the environment variable ``COURSE_BOOK_EDITION`` (``make book
EDITION=term`` sets it; unset, a plain ``jupyter-book build .`` builds the open edition). A
page can hold text for one edition only: ``::::{only} open`` ... ``::::`` (the edition's name
is a Sphinx tag).

open
    ``sphinx.ext.viewcode`` renders the source of every documented ``rnnref`` module (the
    "[source]" links; :mod:`course_source_pages` keeps them current), and a lesson's link to a
    reference module (``../../rnnref/rnn.py``) downloads the file.
term
    No source page and no copy of any page's source (``_sources/``, the download button). The
    chapters keep their figures, computed from the reference at build time, without the code
    that drew them. Every graded function on the API page links to its lesson ("[lesson]")
    instead of its source, and a link from any page to a file of ``rnnref`` points to that
    module's entry on the API page (names, signatures, docstrings) instead of shipping it.
"""

import functools
import os
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.errors import ExtensionError

ENV = "COURSE_BOOK_EDITION"
EDITIONS = ("open", "term")
CHAPTERS = "book/"  # the chapters' pages: their code cells draw the figures
REFERENCE = "rnnref"


def edition():
    """The edition this build makes (``COURSE_BOOK_EDITION``, ``open`` when unset)."""
    name = os.environ.get(ENV, "").strip() or "open"
    if name not in EDITIONS:
        raise ExtensionError(f"{ENV}={name!r} is not an edition of the book: {', '.join(EDITIONS)}")
    return name


@functools.cache
def graded_lessons(srcdir):
    """``{function name: lesson docname}`` of every graded function of a released lesson."""
    from autograder.checks import find_lesson

    graded = {}
    for folder in sorted(Path(srcdir, "lessons").glob("[0-9][0-9]_*")):
        if not (folder / f"{folder.name}.ipynb").is_file():
            continue
        try:
            mod = find_lesson(lesson=folder.name)
        except KeyError:
            continue
        # ANSWER_NAMES: the reference of a graded function under another name (the sampler)
        for name in (*mod.SPECS, *getattr(mod, "ANSWER_NAMES", {}).values()):
            graded.setdefault(name, f"lessons/{folder.name}/{folder.name}")
    return graded


def configure_term(app, config):
    """What the term edition leaves out of every page: the copied sources and their button.
    Its chapters execute into the open edition's cache (the same cells, the same outputs)."""
    if not config.nb_execution_cache_path:
        config.nb_execution_cache_path = str(Path(app.srcdir, "_build", ".jupyter_cache"))
    config.html_copy_source = False
    config.html_show_sourcelink = False
    options = dict(config.html_theme_options or {})
    options["use_download_button"] = False
    config.html_theme_options = options


def _reference_module(target, docname, srcdir):
    """``rnnref.rnn`` for a link from ``docname`` to ``rnnref/rnn.py`` (or a package's
    ``__init__.py``), else None."""
    path = (Path(srcdir) / docname).parent / target
    try:
        rel = path.resolve().relative_to(Path(srcdir).resolve())
    except ValueError:
        return None
    if rel.parts[:1] != (REFERENCE,) or rel.suffix != ".py":
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _module_xref(module, children, docname):
    return addnodes.pending_xref(
        "",
        *children,
        refdomain="py",
        reftype="mod",
        reftarget=module,
        refexplicit=True,
        refwarn=True,
        refdoc=docname,
    )


def _lesson_link(lesson, docname):
    """``[lesson]`` where viewcode puts ``[source]`` (and styled like it)."""
    ref = addnodes.pending_xref(
        "",
        nodes.Text("[lesson]"),
        refdomain="std",
        reftype="doc",
        reftarget="/" + lesson,
        refexplicit=True,
        refwarn=True,
        refdoc=docname,
    )
    return nodes.inline("", "", ref, classes=["viewcode-link"])


def term_pages(app, doctree):
    """Before Sphinx collects the page's downloads: the term edition's changes to it."""
    docname = app.env.docname
    if docname.startswith(CHAPTERS):
        for cell in list(doctree.findall(nodes.container)):
            if "cell_input" in cell.get("classes", []):
                parent = cell.parent
                parent.remove(cell)
                parent.attributes.pop("hide_mode", None)
    for ref in list(doctree.findall(addnodes.download_reference)):
        module = _reference_module(ref["reftarget"], docname, app.srcdir)
        if module is not None:
            ref.replace_self(_module_xref(module, ref.children, docname))
    graded = graded_lessons(str(app.srcdir))
    for sig in doctree.findall(addnodes.desc_signature):
        lesson = graded.get(sig.get("fullname", ""))
        if lesson and str(sig.get("module", "")).startswith(REFERENCE):
            sig += _lesson_link(lesson, docname)


def setup(app):
    name = edition()
    app.tags.add(name)
    # a config value, so that a build folder switched to the other edition is read again
    app.add_config_value("course_edition", name, "env")
    if name == "open":
        app.setup_extension("sphinx.ext.viewcode")
        app.setup_extension("course_source_pages")
    else:
        app.connect("config-inited", configure_term)
        # before the download collector (priority 500) sees the page's links
        app.connect("doctree-read", term_pages, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
