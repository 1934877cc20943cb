"""The grading engine (autograder.checks): verdicts, messages, and resistance to tampering.

Student functions are built from source in a namespace named ``__main__``, as in a Jupyter
kernel, so that cloudpickle sends them by value exactly as it does from a notebook.
"""

import json
import textwrap

import nbformat
import numpy as np
import pytest

from autograder.checks import scan
from autograder.judge import check, verify_notebook
from autograder.paths import SOLUTIONS

SOLUTION = """
import numpy as np

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)

def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)

def rnn_forward(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h, caches, prev = np.zeros((N, T, h0.shape[1])), [], h0
    for t in range(T):
        prev, c = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        h[:, t] = prev
        caches.append(c)
    return h, caches

def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx, dWx, dWh, db = np.zeros((N, T, D)), np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dprev = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev, a, b_, c = rnn_step_backward(dh[:, t] + dprev, cache[t])
        dWx, dWh, db = dWx + a, dWh + b_, db + c
    return dx, dprev, dWx, dWh, db
"""


def student(extra=""):
    """The reference solution, then ``extra`` (redefinitions), run as a kernel's __main__."""
    ns = {"__name__": "__main__"}
    exec(compile(SOLUTION + textwrap.dedent(extra), "<cell>", "exec"), ns)
    return ns


def run(name, ns, **kw):
    helpers = {
        "rnn_step_backward": {"rnn_step_forward": ns["rnn_step_forward"]},
        "rnn_backward": {"rnn_forward": ns["rnn_forward"]},
    }.get(name, {})
    return check(name, ns[name], **helpers, **kw)


@pytest.mark.parametrize(
    "name", ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"]
)
def test_correct_functions_pass(name, capsys):
    run(name, student())
    assert capsys.readouterr().out.startswith(f"{name}: passed")


WRONG = {
    "mean instead of sum": (
        "rnn_step_backward",
        """
        def rnn_step_backward(dnext_h, cache):
            x, prev_h, Wx, Wh, next_h = cache
            da = dnext_h * (1 - next_h**2)
            N = x.shape[0]
            return da @ Wx.T, da @ Wh.T, x.T @ da / N, prev_h.T @ da / N, da.mean(axis=0)
        """,
    ),
    "derivative of the wrong quantity": (
        "rnn_step_backward",
        """
        def rnn_step_backward(dnext_h, cache):
            x, prev_h, Wx, Wh, next_h = cache
            a = np.arctanh(next_h)  # the pre-activation
            da = dnext_h * (1 - a**2)
            return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
        """,
    ),
    "missing recurrent gradient": (
        "rnn_backward",
        """
        def rnn_backward(dh, cache):
            N, T, H = dh.shape
            D = cache[0][0].shape[1]
            dx, dWx, dWh, db = np.zeros((N, T, D)), np.zeros((D, H)), np.zeros((H, H)), 0
            for t in reversed(range(T)):
                dx[:, t], dprev, a, b_, c = rnn_step_backward(dh[:, t], cache[t])
                dWx, dWh, db = dWx + a, dWh + b_, db + c
            return dx, dprev, dWx, dWh, db
        """,
    ),
    "time order reversed": (
        "rnn_forward",
        """
        def rnn_forward(x, h0, Wx, Wh, b):
            N, T, _ = x.shape
            h, prev = np.zeros((N, T, h0.shape[1])), h0
            for t in reversed(range(T)):
                prev, _ = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
                h[:, t] = prev
            return h, None
        """,
    ),
    "np.tanh(t)": (
        "rnn_step_forward",
        """
        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            next_h = np.tanh(t)
            return next_h, None
        """,
    ),
}


@pytest.mark.parametrize("cause", sorted(WRONG))
def test_known_mistakes_get_targeted_messages(cause):
    name, src = WRONG[cause]
    with pytest.raises(AssertionError, match=r"(?s)relative error|raised") as err:
        run(name, student(src))
    assert cause in str(err.value)


def test_wrong_shape_is_named():
    ns = student("""
        def rnn_step_backward(dnext_h, cache):
            dx, dprev_h, dWx, dWh, db = _orig(dnext_h, cache)
            return dx, dprev_h, dWx.T, dWh, db
        """)
    ns["_orig"] = student()["rnn_step_backward"]
    with pytest.raises(AssertionError, match=r"dWx has shape \(5, 4\), expected \(4, 5\)"):
        run("rnn_step_backward", ns)


def test_fake_array_object_fails():
    ns = student("""
        class FakeArray:
            shape = (3, 5)
            def __eq__(self, other):
                return True
            def __array__(self, *a, **k):
                raise RuntimeError("no")
        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            f = FakeArray(); f.shape = (x.shape[0], Wh.shape[0])
            return f, None
        """)
    with pytest.raises(AssertionError, match="next_h is a FakeArray; expected a NumPy float array"):
        run("rnn_step_forward", ns)


LYING_NUMBERS = """
    class Liar:
        def __eq__(self, other):
            return True
        def __float__(self):
            return 0.0
        def __iter__(self):
            raise StopIteration
    def rnn_step_forward(x, prev_h, Wx, Wh, b):
        next_h, cache = _orig(x, prev_h, Wx, Wh, b)
        return {make}, cache
    """


@pytest.mark.parametrize(
    "make, dtype",
    [
        ("np.array([[Liar()] * next_h.shape[1]] * next_h.shape[0], dtype=object)", "object"),
        ("next_h.astype(complex)", "complex128"),
    ],
)
def test_an_array_of_no_real_dtype_is_named(make, dtype):
    # such an array is never sent by the sandbox worker: it was a StopIteration in the judge
    ns = student(LYING_NUMBERS.format(make=make))
    ns["_orig"] = student()["rnn_step_forward"]
    want = rf"the output next_h has dtype {dtype}, not a real floating dtype; it must be a float"
    with pytest.raises(AssertionError, match=want):
        run("rnn_step_forward", ns)


def test_float32_and_integer_outputs_keep_their_verdicts():
    ns = student(LYING_NUMBERS.format(make="next_h.astype(np.float32)"))
    ns["_orig"] = student()["rnn_step_forward"]
    run("rnn_step_forward", ns)  # float32 is a float array: passes as before
    ns = student(LYING_NUMBERS.format(make="next_h.astype(np.int64)"))
    ns["_orig"] = student()["rnn_step_forward"]
    with pytest.raises(AssertionError, match="next_h has dtype int64; expected a float array"):
        run("rnn_step_forward", ns)


def test_kernel_monkeypatching_numpy_does_not_change_the_verdict(monkeypatch):
    """The kernel (this process) patches numpy's comparisons; the student's function patches
    them again where it runs. The judge uses its own, pristine numpy."""
    always = lambda *a, **k: True  # noqa: E731
    monkeypatch.setattr(np, "allclose", always)
    monkeypatch.setattr(np, "array_equal", always)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    ns = student("""
        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            np.allclose = np.array_equal = lambda *a, **k: True
            np.max = lambda *a, **k: 0.0
            return np.zeros((x.shape[0], Wh.shape[0])), None
        """)
    with pytest.raises(AssertionError, match=r"next_h \(relative error [0-9.e+-]+\) is wrong"):
        run("rnn_step_forward", ns)


def test_caller_inspection_finds_nothing():
    ns = student("""
        import gc, inspect, sys
        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            want = (x.shape[0], Wh.shape[0])
            seen = [f.frame.f_locals for f in inspect.stack()[1:]]
            seen += [o for o in gc.get_objects() if isinstance(o, dict)]
            for d in seen:
                for k, v in list(d.items()):
                    if isinstance(v, np.ndarray) and v.shape == want and v is not prev_h:
                        return v.copy(), None
            return np.zeros(want), None
        """)
    with pytest.raises(AssertionError, match=r"next_h \(relative error [0-9.e+-]+\) is wrong"):
        run("rnn_step_forward", ns)


def test_reference_module_is_blocked_in_the_worker():
    ns = student("""
        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            from rnnref.rnn import rnn_step_forward as ref
            return ref(x, prev_h, Wx, Wh, b)
        """)
    with pytest.raises(AssertionError, match="rnnref.rnn is not available while grading"):
        run("rnn_step_forward", ns)


def test_infinite_loop_is_stopped():
    ns = student("""
        def rnn_forward(x, h0, Wx, Wh, b):
            while True:
                pass
        """)
    with pytest.raises(AssertionError, match=r"did not return within 1 s \(an infinite loop\?\)"):
        run("rnn_forward", ns, timeout=1)


def test_memory_bomb_is_stopped():
    ns = student("""
        def rnn_forward(x, h0, Wx, Wh, b):
            hog = []
            while True:
                hog.append(bytearray(50 * 2**20))
        """)
    with pytest.raises(AssertionError, match=r"ran out of memory \(limit 512 MB\)"):
        run("rnn_forward", ns, memory_mb=512)


def test_mutating_an_input_fails():
    ns = student("""
        def rnn_step_backward(dnext_h, cache):
            x, prev_h, Wx, Wh, next_h = cache
            dnext_h *= 1 - next_h**2
            da = dnext_h
            return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
        """)
    with pytest.raises(AssertionError, match=r"modified its input\(s\) dnext_h in place"):
        run("rnn_step_backward", ns)


def _tampering_notebook(tmp_path):
    """The source notebook with a wrong rnn_step_backward and a cell that disables checks."""
    nb = nbformat.read(SOLUTIONS / "01_vanilla_rnn" / "01_vanilla_rnn.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "rnn_step_backward":
            cell.source = cell.source.replace("da.sum(axis=0)", "da.mean(axis=0)")
    hack = nbformat.v4.new_code_cell(
        "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
        "def check(*args, **kwargs):\n    print('passed')\n"
        "np.allclose = lambda *a, **k: True\n"
        "%matplotlib inline\n!echo shell lines are dropped\n"
    )
    hack.metadata["nbgrader"] = {}
    nb.cells.insert(2, hack)
    path = tmp_path / "01_vanilla_rnn.ipynb"
    nbformat.write(nb, path)
    return path, hack.source


def test_verify_notebook_overrides_in_kernel_tampering(tmp_path):
    path, hack = _tampering_notebook(tmp_path)
    result = verify_notebook(path, lesson="01_vanilla_rnn")
    json.dumps(result)  # plain data for the command line
    assert set(result) == {
        "test_rnn_step_forward",
        "test_rnn_step_backward",
        "test_rnn_forward",
        "test_rnn_backward",
    }
    bad = result["test_rnn_step_backward"]
    assert not bad["passed"] and bad["points"] == 0 and bad["max_points"] == 3
    assert "mean instead of sum" in bad["message"]
    for gid in ("test_rnn_step_forward", "test_rnn_forward"):
        assert result[gid]["passed"] and result[gid]["points"] == result[gid]["max_points"]
    # the recurrent backward uses the wrong step backward: it fails too
    assert not result["test_rnn_backward"]["passed"]
    flags = scan(hack)
    assert any("set_custom_exc" in f for f in flags)
    assert any("grading helper check" in f for f in flags)
    assert any("np.allclose" in f for f in flags)


def test_verify_notebook_of_unreadable_file(tmp_path):
    path = tmp_path / "01_vanilla_rnn.ipynb"
    path.write_text("{not json")
    result = verify_notebook(path)
    assert all(not r["passed"] and "could not be read" in r["message"] for r in result.values())


TAMPER = {
    "np.allclose = lambda *a, **k: True": "rebinds np.allclose",
    "import numpy as xp\nxp.testing.assert_allclose = print": "rebinds xp.testing.assert_allclose",
    "setattr(np, 'max', min)": "setattr on np",
    "import rnnref.rnn as r\nr.rnn_forward = None": "rebinds r.rnn_forward",
    "get_ipython().set_custom_exc((Exception,), None)": "set_custom_exc",
    "import sys\nsys.settrace(None)": "settrace",
    "import sys\nsys.setprofile(None)": "setprofile",
    "import inspect\ninspect.stack()": "inspect.stack",
    "import inspect\ninspect.currentframe().f_back": "f_back",
    "import sys\nsys._getframe(1)": "sys._getframe",
    "import gc\ngc.get_objects()": "gc.get_objects",
    "import gc\ngc.get_referrers(1)": "gc.get_referrers",
    "import builtins\nbuiltins.print = None": "builtins",
    "__builtins__.len = None": "__builtins__",
    "from rnnref.rnn import rnn_forward": "reference solution module rnnref.rnn",
    "from rnnref import lstm": "reference solution module rnnref.lstm",
    "import os\nos._exit(0)": "os._exit",
    "open('../../gradebook.db').read()": "gradebook.db",
    "check = lambda *a, **k: None": "grading helper check",
    "def check(*a):\n    pass": "grading helper check",
    "import sys\nsys.modules['numpy'] = None": "sys.modules",
    "np.__dict__['max'] = min": "rebinds np.__dict__",
    "a, np.max = 1, min": "rebinds np.max",
    # copying the answer key from its file instead of importing it (which the worker blocks)
    "import importlib.util as u\nu.spec_from_file_location('x', p)": "spec_from_file_location",
    "import runpy\nrunpy.run_path(p)": "run_path",
    "import rnnref.gru as g\nsrc = open(g.__file__).read()": "locates the files of g.__file__",
    "exec(open('/course/rnnref/rnn.py').read())": "exec",
    "path = '../../solutions/01_vanilla_rnn/01_vanilla_rnn.ipynb'": "solutions' files",
}


@pytest.mark.parametrize("source", sorted(TAMPER))
def test_scan_flags_tamper_patterns(source):
    flags = scan(source)
    assert any(TAMPER[source] in f for f in flags), flags


def test_scan_is_quiet_on_honest_code():
    nb = nbformat.read(SOLUTIONS / "01_vanilla_rnn" / "01_vanilla_rnn.ipynb", as_version=4)
    solutions = [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert scan("\n\n".join(solutions)) == []
    assert scan(SOLUTION + "\nfrom rnnref.layers import embedding_forward\n%timeit 1\n") == []
    # indexing with a NumPy expression changes the array, not NumPy
    assert scan("dh[np.arange(N)[:, None], idx] = dm\na, (b, c) = 1, (2, 3)") == []


def test_verify_notebook_judges_each_function_as_its_test_cell_saw_it(tmp_path):
    """A later cell that redefines a graded function (an experiment after the tests) does
    not change its verdict, and a function fixed only after its test cell does not pass."""
    nb = nbformat.read(SOLUTIONS / "01_vanilla_rnn" / "01_vanilla_rnn.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    good = nb.cells[ids.index("rnn_step_backward")].source
    wrong = good.replace("da.sum(axis=0)", "da.mean(axis=0)")
    nb.cells[ids.index("rnn_step_backward")].source = wrong
    # after test_rnn_step_backward: the correct version (too late); at the end: a wrong
    # rnn_step_forward (an experiment after every test)
    after = ids.index("test_rnn_step_backward") + 1
    nb.cells.insert(after, nbformat.v4.new_code_cell(good.replace("### BEGIN SOLUTION", "")))
    broken_forward = "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    return x, None\n"
    nb.cells.append(nbformat.v4.new_code_cell(broken_forward))
    path = tmp_path / "01_vanilla_rnn.ipynb"
    nbformat.write(nb, path)
    result = verify_notebook(path, lesson="01_vanilla_rnn")
    assert result["test_rnn_step_forward"]["passed"], result["test_rnn_step_forward"]
    assert not result["test_rnn_step_backward"]["passed"]
    assert "mean instead of sum" in result["test_rnn_step_backward"]["message"]
    assert result["test_rnn_forward"]["passed"], result["test_rnn_forward"]
    # rnn_backward is judged with the rnn_step_backward its test cell saw: the fixed one
    assert result["test_rnn_backward"]["passed"], result["test_rnn_backward"]


def test_helpers_and_constants_are_judged_as_the_test_cell_saw_them(tmp_path):
    """A graded function that calls the student's own helper (and reads a constant) keeps the
    helper as it stood at its test cell; a later cell redefining both does not change it."""
    nb = nbformat.read(SOLUTIONS / "01_vanilla_rnn" / "01_vanilla_rnn.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    helper = (
        "SCALE = 1.0\n\n"
        "def _affine(x, W, b):\n    return SCALE * (x @ W) + b\n\n"
        "def _pre(x, prev_h, Wx, Wh, b):\n    return _affine(x, Wx, b) + prev_h @ Wh\n\n"
        "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
        "    next_h = np.tanh(_pre(x, prev_h, Wx, Wh, b))\n"
        "    return next_h, (x, prev_h, Wx, Wh, next_h)\n"
    )
    nb.cells[ids.index("rnn_step_forward")].source = helper
    # an experiment after every test: the helper and the constant change
    later = "SCALE = 0.0\n\ndef _affine(x, W, b):\n    return b\n"
    nb.cells.append(nbformat.v4.new_code_cell(later))
    path = tmp_path / "01_vanilla_rnn.ipynb"
    nbformat.write(nb, path)
    result = verify_notebook(path, lesson="01_vanilla_rnn")
    assert result["test_rnn_step_forward"]["passed"], result["test_rnn_step_forward"]
    assert result["test_rnn_forward"]["passed"], result["test_rnn_forward"]
    # the control: the same change before the test cell is judged, and fails
    nb.cells.insert(ids.index("test_rnn_step_forward"), nb.cells.pop())
    nbformat.write(nb, path)
    result = verify_notebook(path, lesson="01_vanilla_rnn")
    assert not result["test_rnn_step_forward"]["passed"]
