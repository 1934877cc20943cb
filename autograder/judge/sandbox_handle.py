"""The judge's end of the sandbox worker: requests with a deadline, restarts after a timeout
or a crash (the setup replayed), and the two ways a request fails."""

import json
import os
import select
import signal
import time

from autograder.judge import _proto
from autograder.judge._launch import start_sandbox_worker
from autograder.limits import SANDBOX_SETUP_SECONDS


class CallTimeout(Exception):
    """A request to the sandbox worker did not finish within its time."""


class WorkerDied(Exception):
    """The sandbox worker exited, was killed, or sent something malformed."""


class SandboxWorkerHandle:
    """The judge's end of one sandbox worker, restarted (and its setup replayed) after a
    timeout or a crash."""

    def __init__(self, memory_mb, cpu_seconds, blocked, cwd=None, proc=None):
        self.memory_mb, self.cpu_seconds, self.cwd = memory_mb, cpu_seconds, cwd
        # replayed after every (re)start: block the answer key, then payload / notebook cells
        self.setup = [({"op": "block", "names": list(blocked)}, SANDBOX_SETUP_SECONDS)]
        self.proc = proc
        self.restart(keep=proc is not None)

    def start(self):
        self.proc = start_sandbox_worker(self.memory_mb, self.cpu_seconds, self.cwd)

    def close(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                f.close()
            self.proc = None

    def restart(self, keep=False):
        if not keep:
            self.close()
            self.start()
        for msg, timeout in self.setup:
            try:
                self.request(msg, timeout)
            except (CallTimeout, WorkerDied):
                self.close()
                self.start()

    def request(self, msg, timeout):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout

        def wait():
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise CallTimeout

        try:
            _proto.send_request(self.proc.stdin.fileno(), msg)
            header = json.loads(_proto.read_frame(fd, wait))
            if not isinstance(header, dict) or not isinstance(header.get("arrays", 0), int):
                raise WorkerDied("malformed reply")
            arrays = [
                _proto.decode_array(_proto.read_frame(fd, wait)) for _ in range(header["arrays"])
            ]
        except CallTimeout:
            self.close()
            raise
        except (_proto.ChannelClosed, BrokenPipeError, ValueError, OSError) as exc:
            code = self.proc.poll() if self.proc else None
            self.close()
            if code is not None and code < 0:
                why = {signal.SIGXCPU: "CPU time limit", signal.SIGKILL: "killed"}.get(
                    -code, f"signal {-code}"
                )
                raise WorkerDied(f"the worker process died ({why})") from exc
            raise WorkerDied(f"the worker process stopped answering ({exc or 'exited'})") from exc
        return header, arrays
