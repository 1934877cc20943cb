"""The adapter convention: every spec's adapter lives in ``autograder.checks.adapters`` and
its module imports in a fresh interpreter while every lesson's answer key is refused, as the
worker does when it unpickles a request (the adapter travels by reference)."""

import importlib
import pickle
import subprocess
import sys
import textwrap

import pytest
from test_checks_pinned import lesson_module_names

LESSONS = [importlib.import_module(f"autograder.checks.{n}") for n in lesson_module_names()]
ADAPTERS = sorted(
    {
        (spec.adapter.__module__, spec.adapter.__name__)
        for mod in LESSONS
        for spec in mod.SPECS.values()
        if spec.adapter is not None
    }
)
BLOCKED = sorted({name for mod in LESSONS for name in mod.BLOCKED})
# the worker's refusal of the answer keys (autograder.judge.worker._Blocker), standalone
BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, pickle, sys
    BLOCKED = {BLOCKED!r}
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if any(fullname == b or fullname.startswith(b + ".") for b in BLOCKED):
                raise ImportError(fullname + " is blocked")
    sys.meta_path.insert(0, Blocker())
    """
)


def test_adapters_live_in_one_package():
    assert ADAPTERS, "no spec names an adapter"
    outside = [a for a in ADAPTERS if not a[0].startswith("autograder.checks.adapters.")]
    assert not outside, outside


@pytest.mark.parametrize(("module", "name"), ADAPTERS)
def test_adapter_unpickles_with_the_answer_keys_blocked(module, name):
    fn = getattr(importlib.import_module(module), name)
    payload = pickle.dumps(fn)
    assert module.encode() in payload  # by reference, as the judge sends it
    code = BLOCKER + textwrap.dedent(
        """
        fn = pickle.loads(sys.stdin.buffer.read())
        assert callable(fn(lambda *a: a))
        lessons = [m for m in sys.modules if m.startswith("autograder.checks.lesson")]
        assert not lessons, lessons
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], input=payload, capture_output=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == b"ok", proc.stderr.decode()[-2000:]


def test_a_blocked_import_really_fails():
    """The check above can fail: a lesson module (which imports its answer key) does not
    import with the answer keys blocked."""
    code = BLOCKER + "import autograder.checks.lesson03\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode != 0 and b"rnnref.clipping is blocked" in proc.stderr
