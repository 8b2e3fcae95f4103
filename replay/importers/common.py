"""Helpers shared by the importers: content flattening, tool-call parsing, spec inference,
streaming JSONL with line numbers, bounded JSON loading, timestamps, ids and error messages.

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
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from understudy.errors import LogFormatError
from understudy.replay.importers.base import ImportReport
from understudy.trajectory import Message, Provenance, ToolCall, ToolSpec

__all__ = [
    "HEAD_BYTES",
    "IMAGE_PLACEHOLDER",
    "MAX_JSON_BYTES",
    "MAX_LINE_BYTES",
    "check_not_binary",
    "file_stem",
    "first_line_is_json",
    "first_user_text",
    "flatten_content",
    "head_bytes",
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
    "parse_arguments",
    "parse_timestamp",
    "peek_jsonl",
    "session_id",
    "tool_result",
    "tool_specs_from_openai",
]

IMAGE_PLACEHOLDER = "[image]"
"""What an image part of a multi-part message becomes."""

HEAD_BYTES = 64 * 1024
"""How much of a file ``detect`` reads by default (:func:`head_bytes`, :func:`head_text`)."""

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


# --------------------------------------------------------------------------- errors


def log_error(
    path: Path | str, message: str, line: int | None = None, where: str | None = None
) -> LogFormatError:
    """A :class:`LogFormatError` whose text is ``path[:line][: where]: message``.

    Raise the result: ``raise log_error(path, "not a JSON object", line=3, where="payload")``.
    """
    location = str(path) if line is None else f"{path}:{line}"
    if where:
        location += f": {where}"
    return LogFormatError(f"{location}: {message}")


# --------------------------------------------------------------------------- reading files


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


_ZIP_MAGIC = b"PK\x03\x04"


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
    for number, text, value in _jsonl_lines(path, report, strict, max_line_bytes):
        yield number, _parse_json_line(path, number, text) if value is _UNPARSED else value


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
    for number, text, _ in _jsonl_lines(path, report, strict, max_line_bytes):
        yield number, text


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
        except (ValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise log_error(path, f"unexpected structure: {exc}", line=number) from None


def json_problem(exc: json.JSONDecodeError, with_line: bool = False) -> str:
    """What a JSONDecodeError says, with its position: ``Expecting value at column 3``.

    Some of :mod:`json`'s messages already end in "at" ("Unterminated string starting at"):
    the position follows them directly rather than after a second "at".
    """
    position = f"line {exc.lineno} column {exc.colno}" if with_line else f"column {exc.colno}"
    joiner = " " if exc.msg.endswith(" at") else " at "
    return f"{exc.msg}{joiner}{position}"


def json_line_error(path: Path, number: int, text: str) -> LogFormatError:
    """The LogFormatError for a JSONL line that does not parse (``path:line: invalid JSON``)."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return log_error(path, f"invalid JSON: {json_problem(exc)}", line=number)
    except RecursionError:
        return log_error(path, "JSON nested too deeply", line=number)
    return log_error(path, "invalid JSON", line=number)


_UNPARSED: Any = object()


def _jsonl_lines(
    path: Path, report: ImportReport | None, strict: bool, max_line_bytes: int | None
) -> Iterator[tuple[int, str, Any]]:
    """(number, text, value) per non-blank line; value is parsed for the last line only."""
    if max_line_bytes is None:
        max_line_bytes = MAX_LINE_BYTES
    try:
        handle = path.open("rb")
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
            if not raw.strip():
                continue
            seen_any = True
            if pending is not None:
                yield pending[0], _decode_line(path, *pending, last=False), _UNPARSED
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
        yield line_no, text, value


class _TruncatedLine(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _parse_json_line(path: Path, number: int, text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise json_line_error(path, number, text) from None


def _parse_last_line(path: Path, number: int, text: str, raw: bytes) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or not raw.endswith(b"\n"):
            raise _TruncatedLine(f"invalid JSON ({json_problem(exc)})") from None
        raise json_line_error(path, number, text) from None
    except RecursionError:
        raise json_line_error(path, number, text) from None


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
        json.loads(raw.decode("utf-8", errors="strict").removeprefix("\ufeff"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return True


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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # A string without its closing quote runs to the end: the document ends inside it.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            line = text.count("\n", 0, len(text.rstrip())) + 1
            raise log_error(path, "truncated: the JSON document ends early", line=line) from None
        raise log_error(path, f"invalid JSON: {json_problem(exc)}", line=exc.lineno) from None
    except RecursionError:
        raise log_error(path, "JSON nested too deeply") from None


# --------------------------------------------------------------------------- content


def flatten_content(content: Any) -> str:
    """Flatten message content of any common shape to text.

    * ``None`` -> ``""``; a string is returned as is.
    * A list of parts (OpenAI, Anthropic, Codex, inspect): text parts (``type`` in ``text``,
      ``input_text``, ``output_text``, or any part with a string ``text``) keep their text;
      image parts (``image_url``, ``image``, ``input_image``, ``output_image``) become
      :data:`IMAGE_PLACEHOLDER`; ``refusal`` parts keep their refusal text; nested ``content``
      (Anthropic ``tool_result`` blocks) is flattened recursively; other parts (audio, files,
      ``thinking``/``reasoning`` -- take those separately) are dropped. Parts are joined with
      ``"\\n"``.
    * A single part dict is treated as a one-part list.
    * Anything else (numbers, unknown objects) is rendered as compact JSON.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        content = [content]
    if isinstance(content, list | tuple):
        texts = [text for part in content if (text := _part_text(part)) is not None]
        return "\n".join(texts)
    return _compact_json(content)


_IMAGE_TYPES = frozenset({"image", "image_url", "input_image", "output_image", "image_file"})
_DROPPED_TYPES = frozenset(
    {"thinking", "redacted_thinking", "reasoning", "audio", "input_audio", "file", "input_file"}
)


def _part_text(part: Any) -> str | None:
    if part is None:
        return None
    if isinstance(part, str):
        return part
    if not isinstance(part, Mapping):
        return _compact_json(part)
    kind = part.get("type")
    if not isinstance(kind, str):
        kind = None
    if kind in _IMAGE_TYPES:
        return IMAGE_PLACEHOLDER
    if kind in _DROPPED_TYPES:
        return None
    if isinstance(part.get("text"), str):
        return str(part["text"])
    if kind == "refusal" and isinstance(part.get("refusal"), str):
        return str(part["refusal"])
    if "content" in part:
        return flatten_content(part["content"])
    return None


def _compact_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        return str(value)


def first_user_text(messages: Iterable[Message]) -> str:
    """The content of the first user message (the usual ``Session.task``), or ``""``."""
    for message in messages:
        if message.role == "user" and message.content:
            return message.content
    return ""


# --------------------------------------------------------------------------- tool calls


def parse_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Tool-call arguments as ``(arguments, raw_arguments)`` for :class:`ToolCall`.

    * a dict is taken as is: ``(raw, None)``;
    * ``None`` or a blank string means no arguments: ``({}, None)``;
    * a string holding a JSON object is parsed: ``(obj, None)``;
    * anything else (a string that is not JSON, JSON that is not an object, a list) is kept
      verbatim: ``({}, text)`` -- strings as they are, other values as compact JSON.
    """
    if isinstance(raw, Mapping):
        return dict(raw), None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return {}, raw
        if isinstance(parsed, dict):
            return parsed, None
        return {}, raw
    return {}, _compact_json(raw)


def make_tool_call(call_id: Any, name: Any, arguments: Any) -> ToolCall:
    """A :class:`ToolCall` from loosely typed log fields (see :func:`parse_arguments`).

    ``call_id`` and ``name`` are converted with ``str`` (``None`` becomes ``""``; give a
    synthesized id such as ``f"call_{n}"`` when the log has none).
    """
    args, raw = parse_arguments(arguments)
    return ToolCall(
        id="" if call_id is None else str(call_id),
        name="" if name is None else str(name),
        arguments=args,
        raw_arguments=raw,
    )


def tool_result(
    call_id: str | None,
    content: Any,
    *,
    name: str | None = None,
    is_error: bool = False,
    timestamp: datetime | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """A recorded tool result: ``role="tool"``, linked by ``tool_call_id``, content flattened."""
    return Message(
        role="tool",
        content=flatten_content(content),
        tool_call_id=call_id,
        name=name,
        is_error=is_error,
        provenance=Provenance.RECORDED,
        timestamp=timestamp,
        meta=meta or {},
    )


def tool_specs_from_openai(tools: Any) -> list[ToolSpec]:
    """ToolSpecs from an OpenAI-style ``tools`` list; tolerant of the common variants.

    Accepts ``{"type": "function", "function": {name, description, parameters}}``, the flat
    Responses-API form ``{"type": "function", name, description, parameters}``, and Anthropic's
    ``{name, description, input_schema}``. Entries without a name are skipped; a missing or
    non-object schema becomes an empty object schema.
    """
    specs: list[ToolSpec] = []
    if not isinstance(tools, list):
        return specs
    for entry in tools:
        if not isinstance(entry, Mapping):
            continue
        body = entry.get("function") if isinstance(entry.get("function"), Mapping) else entry
        assert isinstance(body, Mapping)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            continue
        params = body.get("parameters", body.get("input_schema"))
        description = body.get("description")
        specs.append(
            ToolSpec(
                name=name,
                description=description if isinstance(description, str) else "",
                parameters=dict(params) if isinstance(params, Mapping) else _empty_schema(),
            )
        )
    return specs


# -- lenient accessors: logs are untyped JSON; a field of the wrong type reads as absent --------


def as_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    """``value`` if it is a string, else None."""
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """``value`` if it is an integer (not a boolean), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class UsageTally:
    """Token usage summed over a session, each API response counted once.

    Logs repeat a response's usage on every line or event that came from it; ``add`` with the
    response id skips the repeats (usage without an id is always counted).
    """

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self._seen: set[str] = set()

    def add(self, usage: Any, response_id: str | None = None) -> bool:
        """Count ``usage`` (a dict of token counts); False if it was a repeat or not a dict."""
        if not isinstance(usage, dict) or (response_id is not None and response_id in self._seen):
            return False
        if response_id is not None:
            self._seen.add(response_id)
        for key, value in usage.items():
            if (count := as_int(value)) is not None:
                self.totals[key] = self.totals.get(key, 0) + count
        return True


def json_type_name(value: Any) -> str:
    """The JSON Schema type of a Python value (``bool`` is ``boolean``, not ``integer``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def _empty_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


def infer_tool_specs(messages: Iterable[Message], known: Iterable[ToolSpec] = ()) -> list[ToolSpec]:
    """Specs for the tools called in ``messages``, keeping ``known`` specs first and unchanged.

    Every tool called but absent from ``known`` gets a spec with ``inferred=True`` whose
    ``parameters`` list each argument name seen in any call, typed by the JSON types observed
    (several types become a list; ``integer`` is folded into ``number`` when both occur).
    An argument is ``required`` when every parsed call of that tool passed it. Calls whose
    arguments did not parse (``raw_arguments``) add the tool but no properties. Order: known
    specs, then inferred ones in order of first call.
    """
    specs = list(known)
    have = {spec.name for spec in specs}
    seen: dict[str, dict[str, set[str]]] = {}
    calls: dict[str, int] = {}
    present: dict[str, dict[str, int]] = {}
    for message in messages:
        for call in message.tool_calls:
            if not call.name or call.name in have:
                continue
            props = seen.setdefault(call.name, {})
            counts = present.setdefault(call.name, {})
            if call.raw_arguments is not None and not call.arguments:
                continue
            calls[call.name] = calls.get(call.name, 0) + 1
            for key, value in call.arguments.items():
                props.setdefault(key, set()).add(json_type_name(value))
                counts[key] = counts.get(key, 0) + 1
    for name, props in seen.items():
        properties: dict[str, Any] = {}
        for key, types in props.items():
            if {"integer", "number"} <= types:
                types = types - {"integer"}
            ordered = sorted(types)
            properties[key] = {"type": ordered[0] if len(ordered) == 1 else ordered}
        total = calls.get(name, 0)
        required = [k for k, n in present.get(name, {}).items() if total and n == total]
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        specs.append(ToolSpec(name=name, parameters=schema, inferred=True))
    return specs


# --------------------------------------------------------------------------- time and ids


_EPOCH_MS_THRESHOLD = 1e11  # seconds-since-epoch values stay below this until the year 5138


def parse_timestamp(value: Any) -> datetime | None:
    """A timezone-aware datetime from a log timestamp, or None when it is absent or unusable.

    Accepts ISO 8601 strings (``Z`` suffix, fractional seconds of any length, a space instead
    of ``T``), and numbers (or numeric strings) of seconds -- or milliseconds when larger than
    1e11 -- since the Unix epoch. Naive values are taken as UTC. Never raises.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    text = re.sub(r"[zZ]$", "+00:00", text)
    # Python 3.11 accepts only 3 or 6 fraction digits in some forms: normalize to 6.
    text = re.sub(r"(\.\d+)", lambda m: "." + (m.group(1)[1:] + "000000")[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_epoch(seconds: float) -> datetime | None:
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    if abs(seconds) >= _EPOCH_MS_THRESHOLD:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


_STEM_SUFFIXES = (".traj.json", ".jsonl", ".json", ".traj", ".eval", ".zip")


def file_stem(path: Path | str) -> str:
    """A file's name without its log suffix: ``a.traj.json`` -> ``a``, ``b.jsonl`` -> ``b``."""
    name = Path(path).name
    for suffix in _STEM_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name


def session_id(path: Path | str, index: int | None = None, own_id: Any = None) -> str:
    """A stable session id.

    The log's own id (``own_id``: a session id, instance id, sample id) wins when it is a
    non-empty string or number; otherwise the id is the file stem (:func:`file_stem`),
    followed by ``-<index>`` for files that hold several sessions. ``import_paths`` makes ids
    unique across the files of one import by suffixing repeats with ``~2``, ``~3``, ...
    """
    if isinstance(own_id, str) and own_id.strip():
        return own_id.strip()
    if isinstance(own_id, int | float) and not isinstance(own_id, bool):
        return str(own_id)
    stem = file_stem(path)
    return stem if index is None else f"{stem}-{index}"
