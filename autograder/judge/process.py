"""The judge process: the entry point of a fresh ``python -I`` that serves one request for
:func:`autograder.judge.check` (or :func:`autograder.judge.verify_notebook`).

It starts its sandbox worker before importing anything heavy (:mod:`.verdicts` loads NumPy
and the references while the worker boots), reads one JSON request frame (and, for a check,
one payload frame it never opens) on stdin and writes one JSON report on stdout.
"""

import json
import sys

from autograder.judge._launch import read_frame_stdin, sandbox_worker_budget, start_sandbox_worker


def main():
    """Serve the request on stdin; the report on stdout."""
    try:  # PR_SET_DUMPABLE = 0: same-user processes cannot read this one's memory
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    req = json.loads(read_frame_stdin())
    payload = read_frame_stdin() if req.get("mode") == "check" else None
    try:
        proc = start_sandbox_worker(*sandbox_worker_budget(req))
    except (OSError, KeyError, ValueError):
        proc = None
    from autograder.judge import verdicts  # NumPy and the references load while it boots

    report = verdicts.handle(req, payload, proc)
    sys.stdout.write(json.dumps(report))
    sys.stdout.flush()
