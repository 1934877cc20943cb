"""Sphinx extension of the course book (loaded through ``sphinx.local_extensions``).

- ``{assignment}`NN_topic``` links a chapter to its assignment notebook
  ``lessons/NN_topic/NN_topic.ipynb`` when that notebook is part of the book, and says that
  it is not published yet otherwise, so a chapter can be written before its lesson.
- ``.. rnnref-module:: rnnref.name`` documents a module of the reference package with autodoc
  when the module exists, and leaves a short note when it does not yet.
- ``_toc.yml`` lists every assignment notebook under its chapter; one that is not released
  yet (no ``lessons/NN_topic/NN_topic.ipynb``) is left out of the build instead of failing it.
- ``{{ repository_url }}`` is the project repository's URL, taken from ``repository.url``
  (``{{ repository_link }}``: the same as a link).
- Launch buttons (Binder, Colab, JupyterHub) are kept on the assignment pages only: the
  chapters are MyST notebooks, which Colab cannot open.
- Loads ``course_mathjax`` (MathJax vendored into the site), ``course_edition`` (the open or
  the graded-term edition; the open one with viewcode's "[source]" pages, kept current in
  incremental builds by ``course_source_pages``) and ``course_static`` (an edited static file
  is copied even when no page changed), so a plain ``jupyter-book build .`` builds the same
  site as ``make book``.
"""

import importlib.util
from pathlib import Path

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective, SphinxRole
from sphinx.util.nodes import nested_parse_with_titles

LESSONS = "lessons"


def lesson_docname(lesson):
    return f"{LESSONS}/{lesson}/{lesson}"


class AssignmentRole(SphinxRole):
    """``{assignment}`01_vanilla_rnn``` or ``{assignment}`text <01_vanilla_rnn>```."""

    def run(self):
        text = self.text.strip()
        if text.endswith(">") and "<" in text:
            title, lesson = text[:-1].split("<", 1)
            title, lesson = title.strip(), lesson.strip()
        else:
            lesson = text
            title = f"the assignment notebook {lesson}.ipynb"
        docname = lesson_docname(lesson)
        if docname in self.env.found_docs:
            ref = addnodes.pending_xref(
                "",
                nodes.inline(title, title),
                refdomain="std",
                reftype="doc",
                reftarget="/" + docname,
                refexplicit=True,
                refwarn=True,
                refdoc=self.env.docname,
            )
            return [ref], []
        # Rebuild this page once the notebook appears.
        self.env.note_dependency(str(Path(self.env.srcdir, docname + ".ipynb")))
        missing = f"{title} (not published yet: lessons/{lesson}/{lesson}.ipynb)"
        return [nodes.emphasis(missing, missing)], []


class RnnrefModule(SphinxDirective):
    """Autodoc of one module of ``rnnref`` if it exists, a note otherwise."""

    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            # A missing dependency makes Sphinx re-read this page on every build, so the
            # reference appears as soon as the module does.
            expected = Path(self.env.srcdir, *name.split(".")).with_suffix(".py")
            self.env.note_dependency(str(expected))
            text = f"The module {name} is not part of this build yet."
            return [nodes.note("", nodes.paragraph(text, text))]
        content = StringList(
            [f".. automodule:: {name}", "   :members:", ""],
            source=self.get_source_info()[0],
        )
        container = nodes.container()
        nested_parse_with_titles(self.state, content, container)
        return container.children


def keep_launch_buttons_on_assignments(app, pagename, templatename, context, doctree):
    if pagename.startswith(LESSONS + "/"):
        return
    buttons = context.get("header_buttons")
    if buttons:
        context["header_buttons"] = [b for b in buttons if b.get("label") != "launch-buttons"]


def add_repository_substitution(app, config):
    """``{{ repository_url }}`` and ``{{ repository_link }}`` in any page: the one URL of
    ``repository.url``."""
    url = config.html_theme_options.get("repository_url", "")
    subs = dict(getattr(config, "myst_substitutions", {}) or {})
    subs.setdefault("repository_url", url)
    subs.setdefault("repository_link", f"[{url}]({url})")
    config.myst_substitutions = subs


def _drop_missing_lessons(entries, srcdir, dropped):
    kept = []
    for entry in entries or []:
        entry = dict(entry)
        for key in ("sections", "chapters", "parts"):
            if key in entry:
                entry[key] = _drop_missing_lessons(entry[key], srcdir, dropped)
                if not entry[key]:
                    del entry[key]
        f = entry.get("file", "")
        if f.startswith(LESSONS + "/") and not any(
            (srcdir / f).with_suffix(suffix).is_file() for suffix in (".ipynb", ".md")
        ):
            dropped.append(f)
            continue
        kept.append(entry)
    return kept


def publish_released_lessons_only(app, config):
    """Point sphinx-external-toc at a copy of the toc without unreleased assignments."""
    srcdir = Path(app.srcdir)
    toc_path = Path(config.external_toc_path)
    if not toc_path.is_absolute():
        toc_path = srcdir / toc_path
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    dropped = []
    for key in ("parts", "chapters"):
        if key in toc:
            toc[key] = _drop_missing_lessons(toc[key], srcdir, dropped)
    if not dropped:
        return
    published = Path(app.doctreedir).parent / "_toc.published.yml"
    published.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(toc, sort_keys=False)
    if not published.is_file() or published.read_text(encoding="utf-8") != text:
        published.write_text(text, encoding="utf-8")
    config.external_toc_path = str(published)


def setup(app):
    app.setup_extension("course_mathjax")
    app.setup_extension("course_edition")
    app.setup_extension("course_static")
    app.connect("config-inited", add_repository_substitution)
    # Before sphinx-external-toc reads the toc (its handler has priority 900).
    app.connect("config-inited", publish_released_lessons_only, priority=800)
    app.add_role("assignment", AssignmentRole())
    app.add_directive("rnnref-module", RnnrefModule)
    # After sphinx-book-theme's add_launch_buttons (priority 501), before the header is drawn.
    app.connect("html-page-context", keep_launch_buttons_on_assignments, priority=502)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
