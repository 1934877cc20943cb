"""``python -m autograder.sandbox (-m MODULE | -c CODE) [ARGS]``: the guard, then the program
(see :mod:`autograder.sandbox.guard`)."""

import sys

from autograder.sandbox.guard import _guard_main

if __name__ == "__main__":
    _guard_main(sys.argv[1:])
