"""Wire format between the judge and the sandbox worker: length-prefixed frames over pipes.

Judge -> sandbox worker messages are pickles (the sandbox worker trusts the judge). Replies
are a JSON header frame followed by ``header["arrays"]`` frames of ``np.save`` bytes, read
with ``np.load(allow_pickle=False)``: nothing the sandbox worker sends can run code in the
judge.
"""

import io
import json
import os
import pickle
import struct

import numpy as np

MAX_FRAME = 256 * 2**20  # a reply larger than this is refused, not read into memory


class ChannelClosed(Exception):
    """The other side closed its pipe (it exited, was killed or timed out)."""


def write_frame(fd, data):
    buf = struct.pack("<Q", len(data)) + data
    view = memoryview(buf)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd, n, deadline_check=None):
    chunks, left = [], n
    while left:
        if deadline_check is not None:
            deadline_check()
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelClosed
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd, deadline_check=None):
    (n,) = struct.unpack("<Q", read_exact(fd, 8, deadline_check))
    if n > MAX_FRAME:
        raise ChannelClosed(f"frame of {n} bytes refused")
    return read_exact(fd, n, deadline_check)


def send_request(fd, msg):
    write_frame(fd, pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))


def encode_array(a):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def send_reply(fd, header, arrays=()):
    header = dict(header, arrays=len(arrays))
    write_frame(fd, json.dumps(header).encode())
    for a in arrays:
        write_frame(fd, encode_array(a))


def decode_array(data):
    """Parse one array frame; anything but a plain ndarray is refused."""
    a = np.load(io.BytesIO(data), allow_pickle=False)
    if type(a) is not np.ndarray:
        raise ValueError("reply frame is not a plain array")
    return a
