"""How a JSONL file is read line by line: bounded line length, one line of look-ahead so the last
line can be told apart, and a last line cut short (a crash while writing) reported rather than
fatal.

The public readers and their limits are in :mod:`~understudy.replay.importers.common`
(:func:`~understudy.replay.importers.common.iter_jsonl`); this module is their machinery.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from understudy.replay.importers import fast_json
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.log_errors import json_line_error, json_problem, log_error

__all__ = ["UNPARSED", "decode_line", "numbered_lines", "parse_json_line"]

_BOM = b"\xef\xbb\xbf"
_READ_BUFFER = 256 * 1024  # log lines run to kilobytes: most end within one buffer, few reads

UNPARSED: Any = object()
"""The value of a line that was not parsed (every line but the last)."""


def numbered_lines(
    path: Path, report: ImportReport | None, strict: bool, max_line_bytes: int
) -> Iterator[tuple[int, bytes, Any]]:
    """(number, bytes, value) per non-blank line; value is parsed for the last line only.

    The lines are handed over as read: a line orjson parses needs no decoding (see
    :func:`parse_json_line`); :func:`decode_line` gives the text of the others.
    """
    try:
        handle = path.open("rb", buffering=_READ_BUFFER)
    except OSError as exc:
        raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
    with handle:
        number = 0
        pending: tuple[int, bytes] | None = None
        seen_any = False
        while True:
            raw = handle.readline(max_line_bytes + 1)
            if not raw:
                break
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                raise log_error(
                    path,
                    f"line longer than {max_line_bytes:,} bytes; not a JSONL log, "
                    "or a line too long to import",
                    line=number,
                )
            if raw.isspace():  # (never empty here) blank: skipped
                continue
            seen_any = True
            if pending is not None:
                yield pending[0], pending[1], UNPARSED
            pending = (number, raw)
        if pending is None:
            if not seen_any:
                raise log_error(path, "the file is empty")
            return
        line_no, raw = pending
        try:
            text = _decode_line(path, line_no, raw, last=True)
            value = _parse_last_line(path, line_no, text, raw)
        except _TruncatedLine as cut:
            if strict or report is None:
                raise log_error(path, f"truncated last line: {cut.reason}", line=line_no) from None
            report.warn(path, f"truncated last line ignored: {cut.reason}", line=line_no)
            return
        yield line_no, raw, value


class _TruncatedLine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_line(path: Path, number: int, raw: bytes) -> str:
    """The text of line ``number`` (read as ``raw``); LogFormatError when it is not UTF-8."""
    return _decode_line(path, number, raw, last=False)


def _decode_line(path: Path, number: int, raw: bytes, last: bool) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the very end is a truncation too.
        if last and not raw.endswith(b"\n") and exc.start >= len(raw) - 4:
            raise _TruncatedLine("cut inside a UTF-8 character") from None
        raise log_error(
            path, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})", line=number
        ) from None


def parse_json_line(path: Path, number: int, raw: bytes) -> Any:
    """The value of line ``number`` (read as ``raw``), or the error for the line."""
    value = fast_json.vouched(raw)
    if value is not fast_json.UNVOUCHED:
        return value  # orjson read it: it is UTF-8, and JSON
    text = decode_line(path, number, raw)
    try:
        return fast_json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise json_line_error(path, number, text) from None


def _parse_last_line(path: Path, number: int, text: str, raw: bytes) -> Any:
    try:
        return fast_json.loads(text, None if raw.startswith(_BOM) else raw)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or not raw.endswith(b"\n"):
            raise _TruncatedLine(f"invalid JSON ({json_problem(exc)})") from None
        raise json_line_error(path, number, text) from None
    except RecursionError:
        raise json_line_error(path, number, text) from None
