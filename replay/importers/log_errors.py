"""How importers word a bad log: errors that name the file, line and field, warnings that
``strict`` makes fatal when something was skipped, and the phrases they use for JSON that does
not parse or has the wrong type."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from understudy.errors import LogFormatError
from understudy.replay.importers.base import ImportReport

__all__ = ["EntryWarnings", "json_line_error", "json_problem", "json_type_name", "log_error"]


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


@dataclass(frozen=True)
class EntryWarnings:
    """Warnings about the entries of one log (or of one line of it): called with the entry's
    field path and the message. A ``lossy`` one (something was skipped) is an error under
    ``strict``."""

    report: ImportReport
    path: Path
    strict: bool
    line: int | None = None

    def __call__(self, where: str, message: str, lossy: bool = False) -> None:
        if lossy and self.strict:
            raise log_error(self.path, message, line=self.line, where=where)
        self.report.warn(self.path, message, line=self.line, where=where)


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
