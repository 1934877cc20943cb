"""Keep the "[source]" pages of ``sphinx.ext.viewcode`` current across incremental builds.

viewcode writes one page per documented module, ``_modules/<module>.html``, from the
``html-collect-pages`` event, and skips a page that is newer than its module's file. Sphinx
emits that event only in a build that writes something: a rebuild with no page out of date
stops before writing, so the pages must stay in the output folder between builds (never
delete them). What viewcode's mtime check misses, this extension handles: a page whose
module did not change but whose ``[docs]`` back links did (an object no longer documented,
or documented on another page), and the page of a module no longer documented at all.
Before viewcode writes, the pages whose content changed since the last build are removed, so
viewcode writes them again; the others are kept as they are. And a page missing from the output
folder (deleted by hand, or by an older build script) makes the pages that link to it out of
date, so the build writes again and viewcode restores it.

What a page shows is digested per module and recorded in the doctree folder
(``course_source_pages.json``), next to the environment it describes.
"""

import hashlib
import json
import posixpath
from pathlib import Path

from sphinx.ext.viewcode import OUTPUT_DIRNAME, is_supported_builder

RECORD = "course_source_pages.json"


def page_name(modname):
    """``rnnref.lstm`` -> ``_modules/rnnref/lstm`` (viewcode's page name)."""
    return posixpath.join(OUTPUT_DIRNAME, modname.replace(".", "/"))


def page_digests(modules, config_hash):
    """One digest per module page: what viewcode renders into it.

    ``modules`` is viewcode's ``env._viewcode_modules``: module name -> ``(code, tags, used,
    refname)``, or ``False`` for a module it could not analyse (no page). ``used`` maps each
    documented object to its page (the ``[docs]`` back links); the set of module names gives
    the parent links; the configuration's hash stands for the theme and its options.
    """
    names = sorted(name for name, entry in modules.items() if entry)
    digests = {}
    for name in names:
        code, _tags, used, refname = modules[name]
        h = hashlib.sha256()
        for part in (code, refname, json.dumps(sorted(used.items())), " ".join(names)):
            h.update(part.encode())
            h.update(b"\0")
        h.update(str(config_hash).encode())
        digests[name] = h.hexdigest()
    return digests


def read_record(app):
    """Module name -> digest of the pages the last build wrote, or None if unknown."""
    try:
        return json.loads((Path(app.doctreedir) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def outdated_by_missing_pages(app, env, added, changed, removed):
    """``env-get-outdated`` handler: the documents whose ``[source]`` links lead to a page
    that is no longer in the output folder (re-reading them makes the build write)."""
    if not is_supported_builder(app.builder):
        return []
    modules = getattr(env, "_viewcode_modules", {})
    docs = set()
    for name, entry in modules.items():
        page = Path(app.builder.get_outfilename(page_name(name)))
        if entry and not page.is_file():
            docs.update(entry[2].values())
    return sorted(docs & env.found_docs)


def remove_stale_source_pages(app):
    """``html-collect-pages`` handler that runs before viewcode's: remove the pages that
    changed (viewcode writes them again) and those of modules no longer documented."""
    if not is_supported_builder(app.builder):
        return []
    # None (first build, or a record we cannot trust): every page is written again.
    written = read_record(app)
    modules = getattr(app.env, "_viewcode_modules", {})
    current = page_digests(modules, app.builder.build_info.config_hash)
    for name in set(written or ()) | set(current):
        if written is None or written.get(name) != current.get(name):
            Path(app.builder.get_outfilename(page_name(name))).unlink(missing_ok=True)
    if not current:
        # viewcode writes its index of modules only when there is one module at least.
        Path(app.builder.get_outfilename(page_name("index"))).unlink(missing_ok=True)
    record = Path(app.doctreedir) / RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(current, indent=0, sort_keys=True), encoding="utf-8")
    return []


def setup(app):
    app.setup_extension("sphinx.ext.viewcode")
    # viewcode's own handler has the default priority (500).
    app.connect("env-get-outdated", outdated_by_missing_pages)
    app.connect("html-collect-pages", remove_stale_source_pages, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
