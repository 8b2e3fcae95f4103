"""The native format: JSONL with one :class:`~understudy.trajectory.Session` per line.

This is what ``understudy import`` writes, so importing it again is the identity (apart from
de-identification, which is idempotent). Every line is validated against the published JSON
Schema through :mod:`understudy.jsonl`, and problems name the file, line and field. A last line
cut short (a crash while writing) is reported as a warning with its line number and the
sessions before it are kept, unless ``strict``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic

from understudy.errors import LogFormatError, SchemaError
from understudy.jsonl import parse_line
from understudy.replay.importers import fast_json
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    check_not_binary,
    first_line,
    head_text,
    iter_jsonl_text,
    json_line_error,
)
from understudy.trajectory import Session

# What the start of a dumped Session looks like when its first line is too long to parse in
# the detection window: ``{"id":"...","source":{"format":"...``.
_HEAD = re.compile(
    r'^\ufeff?\s*\{\s*"id"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"source"\s*:\s*\{\s*"format"'
)


class NativeImporter:
    """Sessions written by understudy itself (``sessions.jsonl``)."""

    name = "native"

    def detect(self, path: Path) -> bool:
        """The first line is a JSON object shaped like a Session (``id`` and ``source.format``)."""
        head = head_text(path)
        first = first_line(head)
        try:
            value = fast_json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            return bool(_HEAD.match(head))
        return _looks_like_session(value)

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """Stream the sessions; a bad line stops the import with its file, line and field."""
        check_not_binary(path)
        for number, text in iter_jsonl_text(path, report, strict=strict):
            try:  # the fast path: pydantic parses and validates the line in one go
                session = Session.model_validate_json(text, strict=True)
            except pydantic.ValidationError:
                session = _session_slowly(path, number, text)
            report.warn_orphans(path, session, line=number)  # with the line it is on
            yield session


def _looks_like_session(value: Any) -> bool:
    if not isinstance(value, dict) or not {"id", "source"} <= value.keys():
        return False
    source = value.get("source")
    # Unknown keys are allowed here: validation then names them precisely.
    return isinstance(source, dict) and "format" in source


def _session_slowly(path: Path, number: int, text: str) -> Session:
    """Validate a line the fast path refused with :func:`understudy.jsonl.parse_line`, as
    ``understudy validate`` does (JSON Schema first, for errors naming each field; then
    pydantic, which also accepts what strict mode is too strict for), raising LogFormatError
    with every problem found. A line that is not JSON gets the importers' own message."""
    try:
        json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise json_line_error(path, number, text) from None
    try:
        return parse_line(text, Session, f"{path}:{number}")
    except SchemaError as exc:  # its message lists the problems, each naming file:line: field
        raise LogFormatError(str(exc)) from None
