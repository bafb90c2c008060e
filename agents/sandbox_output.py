"""Reading a sandboxed process's stdout and stderr as it writes them, with caps.

Each stream keeps its first and last `keep` bytes; what lies between is counted, not
kept. When the two streams together pass `max_total` bytes, or the wall clock runs
out, the caller's `kill` is called and reading stops: a snippet printing 100 MB costs
the API process `2 * keep` bytes of memory, never the 100 MB.
"""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

CHUNK = 65536


@dataclass
class CappedStream:
    keep: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.keep:
                del self.tail[: len(self.tail) - self.keep]

    @property
    def cut(self) -> int:
        """Bytes written but not kept (between head and tail)."""
        return self.total - len(self.head) - len(self.tail)

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if self.cut:
            return f"{head}\n… [{self.cut} bytes of output cut] …\n{tail}"
        return head + tail


@dataclass
class Captured:
    stdout: CappedStream
    stderr: CappedStream
    timed_out: bool = False
    output_over: bool = False


def capture(stdout: IO[bytes], stderr: IO[bytes], *, keep: int, max_total: int, wall_s: float,
            kill: Callable[[], None]) -> Captured:
    """Read both pipes until they close; `kill` on a wall-time or output overrun."""
    result = Captured(CappedStream(keep), CappedStream(keep))
    streams = {stdout.fileno(): result.stdout, stderr.fileno(): result.stderr}
    deadline = time.monotonic() + wall_s
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                result.timed_out = True
                kill()
                break
            for key, _ in selector.select(timeout=min(left, 1.0)):
                data = os.read(key.fd, CHUNK)
                if not data:
                    selector.unregister(key.fd)
                    continue
                streams[key.fd].feed(data)
            if result.stdout.total + result.stderr.total > max_total:
                result.output_over = True
                kill()
                break
    return result
