"""The nesting depth of JSON text read chunk by chunk, counted without parsing it: what lets a
streaming reader refuse absurdly deep documents before a parser builds anything from them."""

from __future__ import annotations

import itertools
import re

__all__ = ["JsonDepth"]

# A complete JSON string; the rest of one (up to its closing quote) when a chunk starts inside.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class JsonDepth:
    """The nesting depth of JSON text fed chunk by chunk; brackets within strings don't count.

    Strings are removed with a regular expression (fast), so the cost is a pass over each chunk
    in C; the exact running maximum is computed only when a chunk could reach the limit.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        """The depth that matters: :meth:`feed` is exact up to it, and above it when reached."""
        self.depth = 0
        self.in_string = False
        self.escaped = False  # the text so far ends inside a string, on a lone backslash

    def feed(self, chunk: bytes) -> int:
        """Take the next chunk; return the greatest depth reached within it (or a bound of
        it that is no more than the limit)."""
        position = 0
        if self.in_string:
            if self.escaped:
                position, self.escaped = 1, False  # the escaped byte is the first of the chunk
            rest = _STRING_REST.match(chunk, position)
            if rest is None:
                self._ends_in_string(chunk[position:])
                return self.depth
            position = rest.end()
            self.in_string = False
        outside = _STRING.sub(b"", chunk[position:])
        quote = outside.find(b'"')  # an unterminated string runs to the end of the chunk
        if quote >= 0:
            self._ends_in_string(outside[quote + 1 :])
            outside = outside[:quote]
        brackets = outside.translate(None, _NOT_BRACKETS)
        opens = brackets.count(b"[") + brackets.count(b"{")
        deepest = self.depth + opens
        if deepest > self.limit:  # only then is the exact running maximum worth computing
            deepest = self.depth + max(
                itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0
            )
        self.depth = max(0, self.depth + 2 * opens - len(brackets))
        return deepest

    def _ends_in_string(self, content: bytes) -> None:
        self.in_string = True
        backslashes = len(content) - len(content.rstrip(b"\\"))
        self.escaped = backslashes % 2 == 1
