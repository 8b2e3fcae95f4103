"""Streaming of JSON documents that hold many sessions, one entry at a time, with :mod:`ijson`.

A JSONL file streams line by line (:func:`~understudy.replay.importers.common.iter_jsonl`); a
JSON document has to be parsed whole by :mod:`json`. The documents that hold many sessions --
an OpenAI list of conversations, an ATIF list of trajectories, an inspect_ai ``.json`` log and
its ``samples`` -- are read here entry by entry instead, so memory is bounded by the largest
entry rather than by the file:

* :func:`iter_json_array` -- the elements of a top-level array;
* :func:`iter_json_members` -- the members of a top-level object, one of them (an array)
  element by element;
* :func:`json_layout` -- for formats that may be a list, JSONL or one document: which one a
  file is, and so whether it streams as a list.

Bounds, both :class:`~understudy.errors.LogFormatError` naming the file:

* an entry larger than :data:`~understudy.replay.importers.common.MAX_JSON_BYTES` (a session
  is built from all of its entry, as from a whole single-session document), give or take the
  64 KiB ijson reads at a time;
* nesting deeper than :data:`MAX_DEPTH`: ijson keeps the path of every open level, so memory
  grows with the square of the depth (a few hundred kB of ``[`` would exhaust a machine), and
  :mod:`json` refuses such depths too.

ijson is stricter than :mod:`json` -- it refuses ``NaN`` and ``Infinity``, which Python's json
writes, and numbers beyond a float -- and its messages have no line numbers. So when it
refuses a document that is small enough to read whole, the document is read with
:func:`~understudy.replay.importers.common.load_json` instead: what json accepts is imported
(the entries not yet delivered are delivered from it), and what json refuses gets json's
precise message (line, column, "truncated"). A larger document gets ijson's message with the
entry it was in and the line reached. Entries delivered before a problem stay delivered: the
import keeps them (see :func:`understudy.replay.importers.import_paths`).

A list is first read the fast way (:mod:`~understudy.replay.importers.json_items`: large reads,
each element parsed by orjson), which hands over to the careful way above at the first thing
it does not vouch for, so that the outcome -- elements and errors -- is the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import ijson  # type: ignore[import-untyped]

from understudy.errors import LogFormatError
from understudy.replay.importers import common
from understudy.replay.importers.common import (
    check_not_binary,
    first_line_is_json,
    head_bytes,
    load_json,
    log_error,
)
from understudy.replay.importers.json_depth import JsonDepth
from understudy.replay.importers.json_items import MAX_BUFFER, Irregular, fast_elements

__all__ = [
    "MAX_DEPTH",
    "JsonLayout",
    "first_json_byte",
    "is_single_line",
    "iter_json_array",
    "iter_json_members",
    "json_layout",
]

MAX_DEPTH = 1000
"""Deepest nesting of arrays and objects a streamed document may have (about what json takes)."""

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_SCAN_CHUNK = 1024 * 1024
_STARTS = frozenset({"start_map", "start_array"})
_ENDS = frozenset({"end_map", "end_array"})
_Entry = TypeVar("_Entry")  # what a streamed document delivers: an element, a member


def first_json_byte(path: Path) -> bytes:
    """The first byte of ``path`` that is not whitespace (nor a BOM), or ``b""``; never raises.

    ``b"["`` for a document that is a list, ``b"{"`` for an object.
    """
    return head_bytes(path).removeprefix(_BOM).lstrip(_WHITESPACE)[:1]


def is_single_line(path: Path) -> bool:
    """Whether everything in ``path`` but whitespace is on one line (a JSON document written
    without indentation, as opposed to JSONL). Reads up to the end of that line, in chunks;
    raises LogFormatError only when the file cannot be read."""
    seen_text = in_first_line = False
    for chunk in _chunks(path):
        if not seen_text:
            chunk = chunk.lstrip(_WHITESPACE)
            if not chunk:
                continue
            seen_text = in_first_line = True
        if in_first_line:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            in_first_line = False
            chunk = chunk[end + 1 :]
        if chunk.strip(_WHITESPACE):
            return False
    return True


@dataclass(frozen=True)
class JsonLayout:
    """How a file of a format that may be JSONL, a JSON list or one JSON document is laid out."""

    one_line: bool
    """The first line is a whole JSON value: JSONL, or a document written on one line."""
    is_list: bool
    """The file is one JSON list, pretty-printed or on one line: it streams entry by entry
    (:func:`iter_json_array`)."""

    @property
    def list_line(self) -> int | None:
        """The line messages name for the entries of a list: 1 when it is on one line."""
        return 1 if self.one_line else None


def json_layout(path: Path) -> JsonLayout:
    """The layout of ``path``; raises LogFormatError only when the file cannot be read."""
    starts_list = first_json_byte(path) == b"["
    if starts_list and is_single_line(path):
        # A list on one line, not parsed whole to tell so (a large one would be held in memory
        # whole): its entries stream, and its problems are named on line 1.
        return JsonLayout(one_line=True, is_list=True)
    one_line = first_line_is_json(path)
    # A first line that is a whole list, with lines after it, is JSONL.
    return JsonLayout(one_line=one_line, is_list=starts_list and not one_line)


def _chunks(path: Path) -> Iterator[bytes]:
    """The bytes of ``path`` in large reads, a leading BOM dropped."""
    try:
        with path.open("rb") as handle:
            first = True
            while chunk := handle.read(_SCAN_CHUNK):
                yield chunk.removeprefix(_BOM) if first else chunk
                first = False
    except OSError as exc:
        raise log_error(path, f"cannot read: {exc.strerror or exc}") from None


def iter_json_array(path: Path) -> Generator[tuple[int, Any], None, None]:
    """``(index, element)`` for each element of the top-level JSON array of ``path``.

    Raises LogFormatError (after the elements before the problem were delivered) for an
    empty, binary, truncated or invalid file, one that is not a list, an element larger than
    :data:`~understudy.replay.importers.common.MAX_JSON_BYTES` or nesting deeper than
    :data:`MAX_DEPTH`. See the module docs for documents ijson refuses.

    Plain well-formed lists are read by :func:`~understudy.replay.importers.json_items
    .fast_elements`; from the first thing it does not vouch for, the rest as described here.
    """
    check_not_binary(path)
    if first_json_byte(path) != b"[":
        raise log_error(path, "expected a JSON list")
    delivered = 0
    # The fast reader delivers elements up to MAX_BUFFER bytes: allowed only when the careful
    # reader would deliver them too (a cap lowered far below it, by tests, rules it out).
    if common.MAX_JSON_BYTES >= 4 * MAX_BUFFER:
        try:
            with _open(path) as handle:
                for element in fast_elements(handle, MAX_DEPTH):
                    yield delivered, element
                    delivered += 1
            return
        except Irregular:
            pass
    yield from itertools.islice(_careful_array(path), delivered, None)


def _careful_array(path: Path) -> Generator[tuple[int, Any], None, None]:
    """:func:`iter_json_array` with ijson, bounds checked as it reads."""
    with _open(path) as handle:
        reader = _Reader(handle, path, "[0]")
        elements = enumerate(ijson.items(reader, "item", use_float=True))
        problem = yield from _until_refused(reader, elements, lambda entry: f"[{entry[0] + 1}]")
    if problem is None:
        return
    document = _read_whole(path, reader, problem, reader.label)
    if not isinstance(document, list):
        raise log_error(path, "expected a JSON list")
    done = reader.entries
    yield from enumerate(document[done:], start=done)


def iter_json_members(path: Path, stream: str) -> Iterator[tuple[str, int | None, Any]]:
    """The members of the top-level JSON object of ``path``, in document order.

    Each member is ``(key, None, value)``, except that when the member ``stream`` is an array
    its elements come one by one as ``(stream, index, element)`` (an empty array gives none).
    Raises LogFormatError as :func:`iter_json_array` does (for a file that is not an object).
    """
    check_not_binary(path)
    if first_json_byte(path) != b"{":
        raise log_error(path, "expected a JSON object")
    with _open(path) as handle:
        reader = _Reader(handle, path, "the first member")
        members = _members(ijson.basic_parse(reader, use_float=True), stream)
        problem = yield from _until_refused(reader, members, _label_after_member)
    if problem is None:
        return
    document = _read_whole(path, reader, problem, reader.label)
    if not isinstance(document, dict):
        raise log_error(path, "expected a JSON object")
    yield from itertools.islice(_member_entries(document, stream), reader.entries, None)


def _label_after_member(member: tuple[str, int | None, Any]) -> str:
    key, index, _ = member
    return f"the entry after {key}" + ("" if index is None else f"[{index}]")


def _until_refused(
    reader: _Reader, entries: Iterator[_Entry], label_after: Callable[[_Entry], str]
) -> Generator[_Entry, None, Exception | None]:
    """The entries ijson builds as it reads through ``reader``, each marked delivered once
    taken (``label_after`` names the entry that follows it, for messages). Returns ijson's
    refusal of the document, or None when all of it was delivered."""
    while True:
        try:
            entry = next(entries)
        except StopIteration:
            return None
        except LogFormatError:
            raise
        except (ijson.JSONError, ValueError) as exc:  # ValueError: bad UTF-8 in some backends
            return exc
        yield entry
        reader.delivered(label_after(entry))


def _members(
    events: Iterator[tuple[str, Any]], stream: str
) -> Iterator[tuple[str, int | None, Any]]:
    """Top-level members built from ijson's basic events (no per-level paths kept)."""
    builder: ijson.common.ObjectBuilder | None = None
    level = 0  # open containers within the entry being built
    key = ""
    index: int | None = None  # position within the streamed array, while inside it
    started = False
    for event, value in events:
        if builder is not None:
            builder.event(event, value)
            level += (event in _STARTS) - (event in _ENDS)
            if level == 0:
                yield key, index, builder.value
                builder = None
                index = None if index is None else index + 1
            continue
        if not started:
            started = True  # the document's own start_map
            continue
        if index is not None and event == "end_array":
            index = None
            continue
        if index is None:
            if event == "map_key":
                key = value
                continue
            if event == "end_map":
                continue
            if key == stream and event == "start_array":
                index = 0
                continue
        builder = ijson.common.ObjectBuilder()
        builder.event(event, value)
        if event in _STARTS:
            level = 1
            continue
        yield key, index, builder.value  # a scalar
        builder = None
        index = None if index is None else index + 1


def _member_entries(document: dict[str, Any], stream: str) -> Iterator[tuple[str, int | None, Any]]:
    """The entries :func:`iter_json_members` yields, from a document read whole."""
    for key, value in document.items():
        if key == stream and isinstance(value, list):
            for index, item in enumerate(value):
                yield key, index, item
        else:
            yield key, None, value


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise log_error(path, f"cannot read: {exc.strerror or exc}") from None


def _read_whole(path: Path, reader: _Reader, problem: Exception, entry: str) -> Any:
    """The document read by json after ijson refused it (see the module docs), or the error."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
    if size <= common.MAX_JSON_BYTES:
        return load_json(path)  # raises json's own, precise, error if json refuses it too
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
    if reader.eof and ("premature EOF" in text or "Incomplete" in text):
        raise log_error(path, "truncated: the JSON document ends early", line=reader.line)
    raise log_error(
        path, f"invalid JSON in {entry}, at or before this line: {text}", line=reader.line
    )


class _Reader:
    """The file as ijson reads it: a BOM dropped, lines counted, and the two bounds of the
    module enforced on the bytes as they are read (before ijson builds anything from them)."""

    def __init__(self, handle: IO[bytes], path: Path, label: str) -> None:
        self.handle = handle
        self.path = path
        self.label = label
        """The entry being read, for messages: ``[12]``."""
        self.offset = 0
        self.entries = 0
        """Entries delivered so far."""
        self.mark = 0  # offset when the last entry was delivered
        self.newlines = 0
        self.eof = False
        self.depth = JsonDepth(MAX_DEPTH)
        self.max_entry = common.MAX_JSON_BYTES

    @property
    def line(self) -> int:
        """The line the reading has reached."""
        return self.newlines + 1

    def delivered(self, next_label: str) -> None:
        """An entry was delivered: the next one starts its size count here."""
        self.entries += 1
        self.mark = self.offset
        self.label = next_label

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson's probe for a binary file: not the end
        data = self.handle.read(size)
        if self.offset == 0:
            data = data.removeprefix(_BOM)
        if not data:
            self.eof = True
            return data
        self.offset += len(data)
        self.newlines += data.count(b"\n")
        if self.depth.feed(data) > MAX_DEPTH:
            raise log_error(
                self.path, f"JSON nested more than {MAX_DEPTH} levels deep", line=self.line
            )
        # What was read before this chunk without an entry being delivered: the chunk itself
        # may be read ahead of the entry's end.
        if self.offset - len(data) - self.mark > self.max_entry:
            raise log_error(
                self.path,
                f"{self.label} is larger than the {self.max_entry:,} bytes one entry of a JSON "
                "log may have (a session is held in memory while it is converted)",
                line=self.line,
            )
        return data
