"""Adapter of lesson 02 (gradient flow); the convention is the package's."""


def truncated_adapter(fn):
    """``(dh, cache, k as a NumPy integer)`` -> ``fn(dh, cache, int(k))``.

    ``k`` travels as a NumPy integer scalar (it has ``.copy()`` and ``np.save`` like the
    arrays); the student's function gets a Python int.
    """

    def call(dh, cache, k):
        return fn(dh, cache, int(k))

    return call
