"""Numbers in the book's prose are computed at build time (myst-nb ``glue``), and stay so.

A page quotes a computed value with ``{glue:text}`key:fmt``` after a hidden cell stored it with
``_bookplot.glue(key, value)``. Two guards: every key a page quotes is glued by that same page
(a static check, instant), and a key that the build did not produce fails the build, checked
on a throwaway two-page book built the way ``scripts/build_book.py`` builds the course
(``-W --keep-going``, warnings are errors).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
QUOTED = re.compile(r"\{glue(?::\w+)?\}`(?:[^`:]+::)?([^`:]+)(?::[^`]*)?`")
# The key a cell glues: a plain string, or an f-string whose {fields} may match anything.
GLUED = re.compile(r"""\bglue\(\s*(f?)["']([^"']+)["']""")

PAGE = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# {title}

```{{code-cell}} ipython3
import numpy as np
import _bookplot as bp

bp.glue("ratio", np.float64(2) / 3)
bp.glue("steps", np.int64(150))
```

{prose}
"""


def key_pattern(is_fstring, key):
    """A regex for the keys a ``glue(key, ...)`` call can store."""
    if not is_fstring:
        return re.escape(key)
    return ".+".join(re.escape(part) for part in re.split(r"\{[^}]*\}", key))


def unglued(path):
    """The keys ``path`` quotes that none of its ``glue`` calls can have stored."""
    text = path.read_text()
    patterns = [re.compile(key_pattern(f, key)) for f, key in GLUED.findall(text)]
    return {k for k in QUOTED.findall(text) if not any(p.fullmatch(k) for p in patterns)}


@pytest.mark.parametrize("page", sorted(p.name for p in BOOK.glob("*.md")))
def test_every_quoted_number_is_glued_by_its_page(page):
    missing = unglued(BOOK / page)
    assert not missing, f"book/{page} quotes {sorted(missing)} but never glues them"


def test_the_static_check_sees_a_missing_key(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        PAGE.format(title="t", prose="{glue:text}`ratio:.2f` {glue:text}`gone:.1e`")
        + '```{code-cell} ipython3\nfor L in (1, 4):\n    bp.glue(f"reach_{L}", L)\n```\n'
        + "{glue:text}`reach_4:d` {glue:text}`reached_4:d`\n"
    )
    assert unglued(page) == {"gone", "reached_4"}


def _tiny_book(root, prose):
    root.mkdir()
    shutil.copy(BOOK / "_bookplot.py", root / "_bookplot.py")
    (root / "_config.yml").write_text(
        "title: tiny\nexecute:\n  execute_notebooks: force\n"
        "sphinx:\n  config:\n    nb_execution_raise_on_error: true\n"
    )
    (root / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (root / "page.md").write_text(PAGE.format(title="Tiny", prose=prose))
    exe = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(exe), "build", str(root), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc, proc.stdout + proc.stderr


def test_a_key_the_build_did_not_produce_fails_the_build(tmp_path):
    good, out = _tiny_book(
        tmp_path / "good", "A ratio of {glue:text}`ratio:.3f` after {glue:text}`steps:d` steps."
    )
    assert good.returncode == 0, out[-3000:]
    html = (tmp_path / "good/_build/html/page.html").read_text()
    assert "0.667" in html and "150" in html

    bad, out = _tiny_book(tmp_path / "bad", "{glue:text}`ratio:.3f` and {glue:text}`absent:.1f`.")
    assert bad.returncode != 0
    assert "No key 'absent' found in glue data" in out
    assert "'ratio'" not in out  # the glued key itself was found and formatted
