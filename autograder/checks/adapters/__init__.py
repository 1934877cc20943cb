"""Worker-side adapters: the one convention for graded functions whose arguments or results
are not flat float arrays.

The judge and the worker exchange flat float arrays only (``np.save`` bytes). A spec whose
student function takes a dict, a list of parameter tuples, a cell name, an int or a random
Generator, or returns such things, names an adapter (``Spec.adapter``). The convention:

* an adapter is a module-level function ``adapter(student_fn) -> call`` in a module of this
  package, one module per lesson topic (:mod:`.gradflow`, :mod:`.clipping`, :mod:`.layers`,
  :mod:`.capstone`);
* ``call(*flat)`` takes the spec's ``args`` as arrays (scalars as 0-d arrays, names as codes),
  builds the student's arguments, calls ``student_fn`` and returns a flat tuple of arrays in
  the order of the spec's ``outputs`` (``None`` slots for what stays in the worker: a cache);
* a result that breaks the function's contract raises ``ValueError`` (or a subclass) naming
  what was wrong; the worker reports it like any exception of the student's code.

The judge sends an adapter inside a pickled request, BY REFERENCE (module path and name), so
the worker imports its module while the lesson's answer key is blocked there. These modules
therefore import NumPy and this package only: never ``rnnref``'s graded modules, never the
lesson modules ``autograder.checks.lessonNN`` (which import the answer key);
``tests/test_checks_pinned.py`` imports each one with every lesson's ``BLOCKED`` refused.
"""


def results(name, out, names):
    """``out`` if it is the tuple ``names`` promises, else a ``ValueError`` saying what came."""
    if type(out) is not tuple or len(out) != len(names):
        got = f"a tuple of {len(out)}" if type(out) is tuple else f"a {type(out).__name__}"
        raise ValueError(f"{name} must return the tuple ({', '.join(names)}); it returned {got}")
    return out
