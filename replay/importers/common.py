"""Helpers shared by the importers, all importable from here: the size limits and the readers
that apply them (streaming JSONL with line numbers, bounded JSON loading) are defined in this
module; the rest live in sibling modules and are re-exported:

* :mod:`~understudy.replay.importers.log_errors` -- error messages, entry warnings, JSON type
  names;
* :mod:`~understudy.replay.importers.file_head` -- what ``detect`` reads, the binary check;
* :mod:`~understudy.replay.importers.jsonl_lines` -- the line reader behind :func:`iter_jsonl`;
* :mod:`~understudy.replay.importers.message_content` -- content flattening;
* :mod:`~understudy.replay.importers.tool_calls` -- tool calls, results linked to their calls,
  spec inference;
* :mod:`~understudy.replay.importers.log_fields` -- lenient accessors, usage and other facts of
  model responses, timestamps, ids.

Every function here is format-neutral and safe on hostile input: they never raise anything but
:class:`~understudy.errors.LogFormatError` (and only the functions documented to raise).

Conventions the importers follow (so that ``import_paths`` can rely on them):

* Errors name the file, then the line (JSONL) or entry, then the field:
  ``trace.jsonl:12: payload.arguments: ...`` -- build them with :func:`log_error`.
* ``load`` does not need to call ``report.count``; ``import_paths`` counts every session it
  yields (and the orphan tool results in it) unless the importer already counted it.
* Tool results are ``role="tool"`` messages with ``provenance=recorded``; build them with
  :func:`tool_result`.
* Tool specs missing from a log are inferred from the calls with :func:`infer_tool_specs`
  (marked ``inferred=True``).
* Session ids come from :func:`session_id` (the log's own id, else the file stem and an index);
  ``import_paths`` makes them unique across the files of one import.
* JSONL formats stream with :func:`iter_jsonl` (bounded memory, truncated last line reported,
  over-long lines refused). A JSON document that is a list of many sessions streams its
  entries with :mod:`understudy.replay.importers.stream` (ijson); a document that is one
  session is read whole with :func:`load_json`, bounded by :data:`MAX_JSON_BYTES`. Text
  formats call :func:`check_not_binary` first so empty files and binary garbage get their own
  messages.
* ``detect`` reads only the start of a file (:func:`head_text`, :func:`peek_jsonl`) and
  never raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from understudy.errors import LogFormatError
from understudy.replay.importers import fast_json
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.file_head import (
    HEAD_BYTES,
    check_not_binary,
    first_line,
    head_bytes,
    head_jsonl,
    head_text,
    peek_jsonl,
)
from understudy.replay.importers.jsonl_lines import (
    UNPARSED,
    decode_line,
    numbered_lines,
    parse_json_line,
)
from understudy.replay.importers.log_errors import (
    EntryWarnings,
    json_line_error,
    json_problem,
    json_type_name,
    log_error,
)
from understudy.replay.importers.log_fields import (
    ResponseFacts,
    UsageTally,
    as_int,
    as_list,
    as_object,
    as_text,
    file_stem,
    parse_timestamp,
    reasoning_content,
    response_message,
    session_id,
)
from understudy.replay.importers.message_content import (
    IMAGE_PLACEHOLDER,
    first_user_text,
    flatten_content,
)
from understudy.replay.importers.tool_calls import (
    ResultLinks,
    function_tool_call,
    infer_tool_specs,
    make_tool_call,
    openai_tool_calls,
    parse_arguments,
    tool_result,
    tool_specs_from_openai,
    warn_unknown_call,
)

__all__ = [
    "HEAD_BYTES",
    "IMAGE_PLACEHOLDER",
    "MAX_JSON_BYTES",
    "MAX_LINE_BYTES",
    "SHAPE_ERRORS",
    "EntryWarnings",
    "ResponseFacts",
    "ResultLinks",
    "UsageTally",
    "as_int",
    "as_list",
    "as_object",
    "as_text",
    "check_not_binary",
    "feed_entries",
    "feed_jsonl",
    "file_stem",
    "first_line",
    "first_line_is_json",
    "first_user_text",
    "flatten_content",
    "function_tool_call",
    "head_bytes",
    "head_jsonl",
    "head_text",
    "infer_tool_specs",
    "iter_jsonl",
    "iter_jsonl_text",
    "json_line_error",
    "json_problem",
    "json_type_name",
    "load_json",
    "log_error",
    "make_tool_call",
    "openai_tool_calls",
    "parse_arguments",
    "parse_timestamp",
    "peek_jsonl",
    "reasoning_content",
    "response_message",
    "session_id",
    "shape_error",
    "tool_result",
    "tool_specs_from_openai",
    "warn_unknown_call",
]

# The limits are read from this module at call time (tests lower them with monkeypatch, and
# stream.py reads MAX_JSON_BYTES from here), so the readers that apply them live here too.

_BOM = b"\xef\xbb\xbf"

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest JSONL line :func:`iter_jsonl` accepts; longer lines are a clear error, not an OOM."""

MAX_JSON_BYTES = 256 * 1024 * 1024
"""Largest JSON document that is read whole (:func:`load_json`), and largest single entry of a
streamed one.

Why a cap, and why this one: a document that is one session (a SWE-agent ``.traj``, an
OpenHands event list, one ATIF trajectory, one inspect sample) cannot be streamed, since the
session is built from all of it. Parsed into Python objects, JSON takes several times its size
in memory (a 256 MiB log can need 1-2 GiB while it is converted), so a larger cap would let
one odd file exhaust a machine that imports thousands. Real single-session logs are far
smaller (a few MB); documents holding many sessions are streamed instead and are not bound by
it as a whole. Read at call time, so tests can lower it."""


def iter_jsonl(
    path: Path,
    report: ImportReport | None = None,
    strict: bool = False,
    max_line_bytes: int | None = None,
) -> Iterator[tuple[int, Any]]:
    """Stream the JSON values of a JSONL file as ``(line_number, value)``; blank lines skipped.

    Memory stays bounded: one line (plus one line of look-ahead) is held at a time, and a line
    longer than ``max_line_bytes`` (default: :data:`MAX_LINE_BYTES`, read at call time) raises
    a clear error instead of being read whole.

    Errors, all :class:`LogFormatError` naming ``path:line``:

    * a line that is not UTF-8, or not JSON, in the middle of the file;
    * an empty or whitespace-only file;
    * a line longer than ``max_line_bytes``.

    A last line that is not valid JSON is a file cut short (a crash while writing): it is
    reported on ``report`` with its line number and iteration simply ends, so the values before
    it are kept. With ``strict`` (or without a report) it raises instead.
    """
    lines = numbered_lines(path, report, strict, _line_limit(max_line_bytes))
    for number, raw, value in lines:
        yield number, parse_json_line(path, number, raw) if value is UNPARSED else value


def iter_jsonl_text(
    path: Path,
    report: ImportReport | None = None,
    strict: bool = False,
    max_line_bytes: int | None = None,
) -> Iterator[tuple[int, str]]:
    """Like :func:`iter_jsonl`, but yield each line's text unparsed: ``(line_number, text)``.

    For importers that hand the text to a faster parser (``Model.model_validate_json``). The
    same errors and truncation rule apply, except that lines other than the last are not
    checked for being JSON -- parse them and raise :func:`json_line_error` on failure.
    """
    for number, raw, _ in numbered_lines(path, report, strict, _line_limit(max_line_bytes)):
        yield number, decode_line(path, number, raw)


def feed_jsonl(
    path: Path, report: ImportReport, strict: bool, feed: Callable[[int, Any], None]
) -> None:
    """Pass each JSONL value with its line number to ``feed``; a value of an unexpected shape
    that ``feed`` trips over becomes a LogFormatError naming the line."""
    for number, value in iter_jsonl(path, report, strict):
        try:
            feed(number, value)
        except LogFormatError:
            raise
        except SHAPE_ERRORS as exc:
            raise shape_error(path, exc, line=number) from None


LineT = TypeVar("LineT", bound=int | None)
"""A line number: always one in JSONL, none for the elements of a list that spans lines."""


def feed_entries(
    path: Path,
    entries: Iterable[tuple[LineT, str | None, Any]],
    feed: Callable[[LineT, Any], None],
) -> None:
    """Pass each ``(line, where, value)`` entry's line and value to ``feed``; a value of an
    unexpected shape that ``feed`` trips over becomes a LogFormatError naming its line and
    ``where``."""
    for line, where, value in entries:
        try:
            feed(line, value)
        except LogFormatError:
            raise
        except SHAPE_ERRORS as exc:
            raise shape_error(path, exc, line=line, where=where) from None


SHAPE_ERRORS = (ValidationError, TypeError, ValueError, KeyError, AttributeError)
"""What reading a value of an unexpected shape raises (a field of another type, a key missing):
a LogFormatError for the user (:func:`shape_error`), not a crash."""


def shape_error(
    path: Path, exc: Exception, line: int | None = None, where: str | None = None
) -> LogFormatError:
    """The LogFormatError of a value of an unexpected shape (``exc``, one of
    :data:`SHAPE_ERRORS`), naming where it is."""
    return log_error(path, f"unexpected structure: {exc}", line=line, where=where)


def _line_limit(max_line_bytes: int | None) -> int:
    """The line limit asked for, else :data:`MAX_LINE_BYTES` as it is now."""
    return MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes


def first_line_is_json(path: Path) -> bool:
    """Whether the first non-blank line of ``path`` is a complete JSON value on its own.

    Tells JSONL (and one-line JSON documents, which read the same way) from pretty-printed
    JSON, whose first line is ``{`` or ``[``. A first line longer than :data:`MAX_LINE_BYTES`
    answers True, so that :func:`iter_jsonl` reports it clearly. Raises LogFormatError only
    when the file cannot be read.
    """
    try:
        with path.open("rb") as handle:
            while True:
                raw = handle.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return False
                if raw.strip():
                    break
    except OSError as exc:
        raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_LINE_BYTES:
        return True  # iter_jsonl reports the over-long line clearly
    try:
        fast_json.loads(raw.decode("utf-8", errors="strict").removeprefix("\ufeff"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return True


def load_json(path: Path, max_bytes: int | None = None) -> Any:
    """Parse a whole-file JSON document (SWE-agent ``.traj``, OpenHands event lists, ...).

    Raises :class:`LogFormatError` for an empty, binary, oversized (over ``max_bytes``, by
    default :data:`MAX_JSON_BYTES` as it is at call time), non-UTF-8 or invalid file; a
    document that ends early says so ("truncated at line N") so the user knows the file was
    cut rather than garbled.
    """
    if max_bytes is None:
        max_bytes = MAX_JSON_BYTES
    check_not_binary(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise log_error(
                path,
                f"{size:,} bytes, more than the {max_bytes:,} bytes a JSON log read whole may "
                "have (a document holding one session is held in memory while it is "
                "converted)",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise log_error(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise log_error(path, f"not UTF-8 text ({exc.reason})", line=line) from None
    try:
        # The bytes read are the text's encoding, unless a BOM was dropped from the text.
        return fast_json.loads(text, None if data.startswith(_BOM) else data)
    except json.JSONDecodeError as exc:
        # A string without its closing quote runs to the end: the document ends inside it.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            line = text.count("\n", 0, len(text.rstrip())) + 1
            raise log_error(path, "truncated: the JSON document ends early", line=line) from None
        raise log_error(path, f"invalid JSON: {json_problem(exc)}", line=exc.lineno) from None
    except RecursionError:
        raise log_error(path, "JSON nested too deeply") from None
