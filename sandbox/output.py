"""Bounded capture of command output: the head and the tail are kept, the middle is counted."""

from __future__ import annotations

import time
from collections import deque

from understudy.protocols import ExecResult

TIMEOUT_EXIT_CODE = 124
"""Exit code of a command killed for running past its timeout (as ``timeout(1)`` reports)."""
TRUNCATION_MARKER = (
    "\n[... understudy: {omitted} bytes of output omitted ({total} bytes in all) ...]\n"
)


class OutputCollector:
    """Collects chunks of output, keeping at most ``limit`` bytes (half head, half tail)."""

    def __init__(self, limit: int) -> None:
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self.total = 0

    def add(self, chunk: bytes) -> None:
        """Take one chunk of output."""
        self.total += len(chunk)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= self._tail_limit:
            self._tail_size -= len(self._tail.popleft())

    @property
    def truncated(self) -> bool:
        """More output arrived than is kept."""
        return self.total > self._head_limit + self._tail_limit

    def text(self) -> str:
        """The kept output as text, with a marker where the middle was cut out."""
        tail = b"".join(self._tail)
        if not self.truncated:
            return (bytes(self._head) + tail).decode("utf-8", errors="replace")
        tail = tail[len(tail) - self._tail_limit :]
        omitted = self.total - len(self._head) - len(tail)
        marker = TRUNCATION_MARKER.format(omitted=omitted, total=self.total)
        head_text = bytes(self._head).decode("utf-8", errors="replace")
        return head_text + marker + tail.decode("utf-8", errors="replace")

    def result(
        self, exit_code: int, started: float, *, timed_out: bool = False, cwd: str | None = None
    ) -> ExecResult:
        """The result of a command begun at ``started`` (``time.monotonic()``) whose output this
        collected; a command that timed out gets :data:`TIMEOUT_EXIT_CODE`."""
        return ExecResult(
            exit_code=TIMEOUT_EXIT_CODE if timed_out else exit_code,
            output=self.text(),
            truncated=self.truncated,
            output_bytes=self.total,
            timed_out=timed_out,
            duration_s=time.monotonic() - started,
            cwd=cwd,
        )
