"""The fast way through a top-level JSON array: large reads, elements cut out of them and parsed
by :mod:`orjson`, for the documents nearly every list of sessions is -- plain, well-formed JSON.

:func:`~understudy.replay.importers.stream.iter_json_array` reads a list with this first; at the
first thing :func:`fast_elements` does not vouch for it raises :class:`Irregular`, and the list
is read again the careful way (:mod:`ijson`, with its bounds and precise messages), skipping the
elements already delivered. So whatever is unusual -- a syntax error, ``NaN``, an integer too
big for 64 bits (orjson would turn it into a float), a lone surrogate, deep nesting, a huge
element, a list of bare numbers -- behaves exactly as before; only the common case is faster.
An element is delivered only when the careful reader would have delivered it too (see
:func:`fast_elements`).

How an element's end is found without a byte-by-byte scan: an element that is an object or an
array has exactly one end (a shorter text leaves a bracket open, a longer one has text after the
value), and orjson, given all the text read from the element's start, names where the value
stopped (or that the text ran out first: then more is read, doubling). When the elements are
one per line, the last bracket of the line is tried first, and when they are indented, brackets
at the element's own indentation: nearly always the end, found without parsing what follows.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import IO, Any

import orjson

from understudy.replay.importers.fast_json import exact_within

__all__ = ["CAREFUL_READ", "MAX_BUFFER", "Irregular", "fast_elements"]

MAX_BUFFER = 16 * 1024 * 1024
"""An element not complete within this much text is left to the careful reader."""
CAREFUL_READ = 64 * 1024
"""How much the careful reader (ijson) reads at a time, each read checked for depth."""

_CHUNK = 64 * 1024  # small reads, dropped as soon as parsed: the memory stays a few of them
_LAYOUT_TRIES = 4  # brackets the layout points at, tried before orjson is asked where it ends
_BOM = b"\xef\xbb\xbf"
_SPACE = re.compile(rb"[ \t\r\n]+")
_SPACES = b" \t\r\n"
_LINE_END_SPACES = frozenset(b" \t\r")
_SPACES_AND_TABS = frozenset(b" \t")
_COMMA = ord(",")


class Irregular(Exception):
    """The document is not one :func:`fast_elements` vouches for: read it the careful way."""


def fast_elements(handle: IO[bytes], max_depth: int) -> Iterator[Any]:
    """The elements of the top-level array read from ``handle`` (at its start); raises
    :class:`Irregular` at the first thing it does not vouch for (the elements before it were
    delivered, but see below), such as an element nested ``max_depth`` levels deep.

    The careful reader refuses a document as soon as one of its reads (:data:`CAREFUL_READ`)
    nests too deeply, before delivering the elements that end in that read. So an element is
    delivered only once all the text of the read it ends in was parsed (elements are checked
    for depth as they are parsed), or the array ended.
    """
    reader = _Buffer(handle)
    pending: deque[tuple[Any, int]] = deque()  # parsed elements, each with its last byte
    position = reader.skip_space(0)
    if reader.byte(position) != b"[":
        raise Irregular
    position = reader.skip_space(position + 1)
    if reader.byte(position) == b"]":
        reader.expect_end(position + 1)
        return
    while True:
        value, position = _element(reader, position, max_depth)
        parsed = reader.base + position  # the file offset up to which all text is vetted
        pending.append((value, parsed - 1))
        while pending and (pending[0][1] // CAREFUL_READ + 1) * CAREFUL_READ <= parsed:
            yield pending.popleft()[0]
        position = reader.skip_space(position)
        separator = reader.byte(position)
        if separator == b"]":
            reader.expect_end(position + 1)
            while pending:
                yield pending.popleft()[0]
            return
        if separator != b",":
            raise Irregular
        position = reader.forget(reader.skip_space(position + 1))


def _element(reader: _Buffer, start: int, max_depth: int) -> tuple[Any, int]:
    """The element starting at ``start`` and the position after it."""
    if reader.byte(start) not in (b"{", b"["):
        raise Irregular  # a bare string, number or literal: rare, and no bracket ends it
    found = _by_layout(reader, start) or _by_probe(reader, start)
    if found is None:
        raise Irregular
    value, end = found
    # An integer beyond 64 bits, a long decimal, or nesting as deep as the careful reader
    # refuses (with the array's own level, more than ``max_depth`` levels; as it counts,
    # brackets in strings aside).
    if not exact_within(reader.data[start : end + 1], max_depth - 1):
        raise Irregular
    return value, end + 1


def _by_layout(reader: _Buffer, start: int) -> tuple[Any, int] | None:
    """The element at ``start`` and its closing bracket, when one of the first brackets the
    layout points at ends it."""
    for tries, end in enumerate(_candidates(reader, start)):
        if tries == _LAYOUT_TRIES:
            break
        try:  # a view: the element is copied once, for its checks (see _element)
            return orjson.loads(memoryview(reader.data)[start : end + 1]), end
        except orjson.JSONDecodeError:
            continue
    return None


def _by_probe(reader: _Buffer, start: int) -> tuple[Any, int] | None:
    """The element at ``start`` and its closing bracket, from where orjson stops parsing all
    the text read from ``start`` (reading on while the text ends first); None when what stops
    it is not the element's end (a syntax error, say)."""
    while True:
        rest = len(reader.data) - start
        try:  # a view: the rest of a large read is not copied for each element
            value = orjson.loads(memoryview(reader.data)[start:])
        except orjson.JSONDecodeError as exc:
            stop = _byte_offset(reader.data, start, exc.pos)
        else:
            return value, start + len(reader.data[start:].rstrip(_SPACES)) - 1
        # Within the last bytes the text may have ended first, in a character cut by the read.
        if stop >= rest - 3 and reader.read_more():
            continue
        end = start + len(reader.data[start : start + stop].rstrip(_SPACES)) - 1
        try:  # a view: the element is copied once, for its checks (see _element)
            return orjson.loads(memoryview(reader.data)[start : end + 1]), end
        except orjson.JSONDecodeError:
            return None


def _byte_offset(data: bytes, start: int, position: int) -> int:
    """The offset from ``start`` of orjson's error ``position``, which counts characters."""
    if data[start : start + position].isascii():
        return position
    text = data[start:].decode("utf-8", "surrogateescape")
    return len(text[:position].encode("utf-8", "surrogateescape"))


def _candidates(reader: _Buffer, start: int) -> Iterator[int]:
    """Where the layout says the element at ``start`` may end (its closing bracket), in order:
    the last bracket of its line, or brackets at its indentation; none for other layouts."""
    line_start = reader.data.rfind(b"\n", 0, start) + 1
    indent = reader.data[line_start:start]
    starts_line = line_start > 0 and not indent.strip(b" \t")
    # Pretty-printed element (its opening bracket ends its line): the closing bracket is the
    # first thing on a line, at the element's own indentation.
    indented = starts_line and reader.bare_bracket(start)
    if reader.by_line and starts_line and not indented:
        # One element per line (as JSONL is written): the last bracket of its line, however
        # long (a newline is never within a JSON string).
        line_end = reader.line_end(start)
        if line_end >= 0:
            end = _last_bracket(reader.data, start, line_end)
            if end > start and reader.data[end : end + 1] in (b"}", b"]"):
                yield end
                reader.by_line = False  # it was not the end: not that layout
    if not indented:
        return
    pattern = re.compile(rb"\n" + re.escape(indent) + rb"[}\]](?=[ \t\r\n]*[,\]])")
    searched = start
    while True:
        for match in pattern.finditer(reader.data, searched):
            yield match.end() - 1
            searched = match.end()
        if not reader.read_more():
            return


def _last_bracket(data: bytes, start: int, line_end: int) -> int:
    """Where the element starting at ``start`` ends if it ends its line (at ``line_end``):
    before the spaces and the one comma that may follow it. (Found in place: the line may
    be a long element, and is not copied.)"""
    end = line_end - 1
    while end > start and data[end] in _LINE_END_SPACES:
        end -= 1
    if data[end] == _COMMA:
        end -= 1
        while end > start and data[end] in _SPACES_AND_TABS:
            end -= 1
    return end


class _Buffer:
    """The bytes of the document read so far, from ``base`` on (what is before an element
    already parsed is dropped)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        raw = handle.read(_CHUNK)
        self.data = raw.removeprefix(_BOM)
        self.base = len(raw) - len(self.data)  # the file offset of data[0]
        self.eof = not raw
        self.by_line = True
        """Whether the elements seem to be one per line (until one is not)."""

    def read_more(self) -> bool:
        """Append the next chunk; False at the end of the file."""
        if self.eof:
            return False
        if len(self.data) > MAX_BUFFER:
            raise Irregular
        # Doubling for a large element, so that it is not copied once per chunk.
        chunk = self.handle.read(max(_CHUNK, len(self.data)))
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        return True

    def byte(self, position: int) -> bytes:
        while position >= len(self.data) and self.read_more():
            pass
        return self.data[position : position + 1]

    def skip_space(self, position: int) -> int:
        while True:
            match = _SPACE.match(self.data, position)
            end = position if match is None else match.end()
            if end < len(self.data) or not self.read_more():
                return end
            position = end

    def line_end(self, start: int) -> int:
        """Where the line holding ``start`` ends (its newline), reading on; -1 at the end."""
        searched = start
        while (found := self.data.find(b"\n", searched)) < 0:
            searched = len(self.data)
            if not self.read_more():
                return -1
        return found

    def bare_bracket(self, start: int) -> bool:
        """Whether nothing but spaces follows the opening bracket at ``start`` on its line."""
        after = start + 1
        while self.byte(after) in (b" ", b"\t"):
            after += 1
        return self.byte(after) in (b"\n", b"\r")

    def forget(self, position: int) -> int:
        """Drop the bytes before ``position`` (but its line's start, which gives an element's
        indentation); return where it now is."""
        if position < _CHUNK:
            return position
        keep = self.data.rfind(b"\n", 0, position)
        if keep < position - 4096:
            keep = position  # no line start near: the element is not indented
        self.data = self.data[keep:]
        self.base += keep
        return position - keep

    def expect_end(self, position: int) -> None:
        """Only whitespace may follow the array."""
        if self.skip_space(position) != len(self.data) or self.read_more():
            raise Irregular
