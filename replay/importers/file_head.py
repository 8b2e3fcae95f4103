"""What ``detect`` and the first checks read of a file: its first bytes, as bytes, as text, as the
first JSONL values, and whether it is text at all (empty and binary files get their own
messages). Nothing here raises except :func:`check_not_binary`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from understudy.replay.importers.log_errors import log_error

__all__ = ["HEAD_BYTES", "ZIP_MAGIC", "check_not_binary", "head_bytes", "head_text", "peek_jsonl"]

HEAD_BYTES = 64 * 1024
"""How much of a file ``detect`` reads by default (:func:`head_bytes`, :func:`head_text`)."""

ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of a zip file (an inspect_ai ``.eval`` log, the only binary format)."""


def head_bytes(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of ``path`` (fewer if the file is shorter; b"" if unreadable).

    Meant for ``detect``: it never raises, so a detector can simply answer False.
    """
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
    return head_bytes(path, size).decode("utf-8", errors="replace").removeprefix("\ufeff")


def check_not_binary(path: Path, head: bytes | None = None) -> None:
    """Raise a clear :class:`LogFormatError` when ``path`` is empty or not text.

    "Not text" means a NUL byte, or bytes that are not UTF-8, in the first :data:`HEAD_BYTES`
    (a multi-byte sequence cut by the end of the window is not counted against it). Zip files
    (inspect ``.eval``) are binary on purpose; call this only for text formats.
    """
    data = head_bytes(path) if head is None else head
    if not data.strip():
        if not data and not _exists(path):
            raise log_error(path, "cannot read the file")
        raise log_error(path, "the file is empty")
    if b"\x00" in data:
        raise log_error(path, "binary data, not a text log (NUL bytes in the first bytes)")
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
    values: list[Any] = []
    for raw in head_bytes(path, size).splitlines(keepends=True):
        if len(values) >= count:
            break
        if not raw.strip():
            continue
        try:
            values.append(json.loads(raw.decode("utf-8").removeprefix("\ufeff")))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            break
    return values
