"""What ``detect`` and the first checks read of a file: its first bytes, as bytes, as text, as the
first JSONL values, and whether it is text at all (empty and binary files get their own
messages). Nothing here raises except :func:`check_not_binary`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from understudy.replay.importers import fast_json
from understudy.replay.importers.log_errors import log_error

__all__ = [
    "HEAD_BYTES",
    "ZIP_MAGIC",
    "check_not_binary",
    "first_line",
    "head_bytes",
    "head_jsonl",
    "head_text",
    "holding_head",
    "peek_jsonl",
]

HEAD_BYTES = 64 * 1024
"""How much of a file ``detect`` reads by default (:func:`head_bytes`, :func:`head_text`)."""

ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of a zip file (an inspect_ai ``.eval`` log, the only binary format)."""


_held: dict[Path, list[Any]] = {}
"""The head of the file being detected: ``[bytes, text or None, whether the bytes are UTF-8
(None: not known)]`` (one entry at most)."""


@contextmanager
def holding_head(path: Path) -> Iterator[None]:
    """Within: :func:`head_bytes` and :func:`head_text` of ``path`` read the file only once,
    though each detector asks for its head."""
    _held.clear()
    _held[path] = [_read_head(path, HEAD_BYTES), None, None]
    try:
        yield
    finally:
        _held.clear()


def head_bytes(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (fewer if the file is shorter; b"" if unreadable).

    Meant for ``detect``: it never raises, so a detector can simply answer False.
    """
    held = _held.get(path)
    if held is not None and size <= HEAD_BYTES:
        head: bytes = held[0]
        return head if size == HEAD_BYTES else head[:size]
    return _read_head(path, size)


def _read_head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def head_text(path: Path, size: int = HEAD_BYTES) -> str:
    """The start of ``path`` as text (undecodable bytes replaced, BOM dropped); never raises.

    Typical detector: ``'"trajectory_format"' in head_text(path)``. The last character may be
    half a multi-byte sequence cut off (it is replaced, not an error).
    """
    held = _held.get(path) if size == HEAD_BYTES else None
    if held is not None and held[1] is not None:
        text: str = held[1]
        return text
    data = head_bytes(path, size)
    if held is None:
        return data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:  # the same text when the bytes are UTF-8, and check_not_binary need not look again
        text = data.decode("utf-8")
        held[2] = True
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
    held[1] = text = text.removeprefix("\ufeff")
    return text


def first_line(text: str) -> str:
    """``text.split("\n", 1)[0]``, without copying the rest of a head."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def check_not_binary(path: Path, head: bytes | None = None) -> None:
    """Raise a clear :class:`LogFormatError` when ``path`` is empty or not text.

    "Not text" means a NUL byte, or bytes that are not UTF-8, in the first :data:`HEAD_BYTES`
    (a multi-byte sequence cut by the end of the window is not counted against it). Zip files
    (inspect ``.eval``) are binary on purpose; call this only for text formats.
    """
    data = head_bytes(path) if head is None else head
    if not data or data.isspace():
        if not data and not _exists(path):
            raise log_error(path, "cannot read the file")
        raise log_error(path, "the file is empty")
    if b"\x00" in data:
        raise log_error(path, "binary data, not a text log (NUL bytes in the first bytes)")
    held = _held.get(path)
    if held is not None and held[0] is data and held[2]:
        return  # head_text found the bytes to be UTF-8
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 4:
            raise log_error(
                path, f"binary data, not a UTF-8 text log ({exc.reason} at byte {exc.start + 1})"
            ) from None


def _exists(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def peek_jsonl(path: Path, count: int = 3, size: int = HEAD_BYTES) -> list[Any]:
    """The first ``count`` JSON values of a JSONL file that fit in its first ``size`` bytes.

    For ``detect``: never raises; a line that does not parse (or does not fit) ends the list.
    A file that is one pretty-printed JSON document yields ``[]`` (its first line is not JSON),
    unless the whole document is on one line.
    """
    return list(head_jsonl(path, count, size))


def head_jsonl(path: Path, count: int = 3, size: int = HEAD_BYTES) -> Iterator[Any]:
    """:func:`peek_jsonl`, one value at a time: a detector that knows from the first line
    does not parse the others (nor cut the whole head into lines)."""
    found = 0
    for raw in _lines(head_bytes(path, size)):
        if found >= count:
            return
        if raw.isspace():  # (never empty here) blank: skipped
            continue
        try:
            text = raw.decode("utf-8")
            data = None if text.startswith("\ufeff") else raw  # the bytes, unless a BOM goes
            value = fast_json.loads(text.removeprefix("\ufeff"), data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return
        yield value
        found += 1


def _lines(data: bytes) -> Iterator[bytes]:
    """The lines of ``data`` as ``data.splitlines(keepends=True)`` cuts them (ended by
    ``\n``, ``\r\n`` or ``\r``), one at a time."""
    start = 0
    while start < len(data):
        newline = data.find(b"\n", start)
        limit = len(data) if newline < 0 else newline
        ret = data.find(b"\r", start, limit)
        if ret >= 0:
            end = ret + 2 if data[ret + 1 : ret + 2] == b"\n" else ret + 1
        else:
            end = limit if newline < 0 else newline + 1
        yield data[start:end]
        start = end
