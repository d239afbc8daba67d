"""The protocol's framing: a 4-byte big-endian payload length, then that much UTF-8 JSON."""

from __future__ import annotations

import json
import struct

#: The largest payload either side may send (docs/worker-protocol.md).
MAX_FRAME = 64 * 1024 * 1024


class FrameTooLarge(Exception):
    """An incoming frame announced more than MAX_FRAME bytes; its payload was skipped."""


class TooLarge(Exception):
    """An outgoing message would not fit in a frame."""


class Reader:
    """Reads frames from a socket; None at a clean end of stream."""

    def __init__(self, sock):
        self._sock = sock

    def _exact(self, n):
        chunks = []
        while n > 0:
            chunk = self._sock.recv(min(n, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read(self):
        """The next payload (bytes); None at end of stream; FrameTooLarge for an oversized frame."""
        header = self._exact(4)
        if header is None:
            return None
        (size,) = struct.unpack(">I", header)
        if size > MAX_FRAME:
            left = size
            while left > 0:  # stay in step with the stream without buffering the payload
                chunk = self._sock.recv(min(left, 1 << 16))
                if not chunk:
                    return None
                left -= len(chunk)
            raise FrameTooLarge("frame of %d bytes is over the %d byte limit" % (size, MAX_FRAME))
        return self._exact(size)


def encode(message):
    """One frame for a message; TooLarge if its JSON passes the limit."""
    payload = json.dumps(message, ensure_ascii=False, allow_nan=False,
                         separators=(",", ":")).encode("utf-8", "replace")
    if len(payload) > MAX_FRAME:
        raise TooLarge("%d bytes of JSON, over the %d byte frame limit" % (len(payload), MAX_FRAME))
    return struct.pack(">I", len(payload)) + payload
