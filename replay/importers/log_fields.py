"""Reading loosely typed log fields: lenient accessors (a field of the wrong type reads as
absent), token usage summed once per response, the model, id, usage, reply and reasoning of a
logged model response, timestamps in any common form, and session ids."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "ResponseFacts",
    "UsageTally",
    "as_int",
    "as_list",
    "as_object",
    "as_text",
    "file_stem",
    "parse_timestamp",
    "reasoning_content",
    "response_message",
    "session_id",
]


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


class ResponseFacts:
    """What the logged model responses of a session tell: the first model named, and the
    usage summed over them (:class:`UsageTally`)."""

    def __init__(self) -> None:
        self.usage = UsageTally()
        self.first_model: str | None = None

    def note(self, response: dict[str, Any], meta: dict[str, Any]) -> None:
        """Put the ``model``, ``id`` (as ``response_id``) and ``usage`` of a chat completion
        response in the ``meta`` of the message it gave; its usage only the first time the
        response is seen."""
        model = as_text(response.get("model"))
        if model:
            meta["model"] = model
            self.first_model = self.first_model or model
        response_id = as_text(response.get("id"))
        if response_id:
            meta["response_id"] = response_id
        usage = response.get("usage")
        if self.usage.add(usage, response_id or None):
            meta["usage"] = usage


def response_message(response: dict[str, Any]) -> dict[str, Any]:
    """The message of the first choice of a logged chat completion response, or ``{}``."""
    choices = as_list(response.get("choices"))
    return as_object(as_object(choices[0]).get("message")) if choices else {}


def reasoning_content(message: dict[str, Any]) -> str | None:
    """A chat message's non-empty ``reasoning_content``, at the top level or under
    ``provider_specific_fields`` (where litellm keeps it for some providers); else None."""
    for candidate in (
        message.get("reasoning_content"),
        as_object(message.get("provider_specific_fields")).get("reasoning_content"),
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


# --------------------------------------------------------------------------- time and ids


_FRACTION = re.compile(r"\.\d+")
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
    if ":" not in text:  # else no number (an ISO time): spare the failing float()
        try:
            return _from_epoch(float(text))
        except ValueError:
            pass
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    # Python 3.11 accepts only 3 or 6 fraction digits in some forms: normalize to 6.
    fraction = _FRACTION.search(text)
    if fraction is not None and fraction.end() - fraction.start() != 7:
        digits = (fraction.group()[1:] + "000000")[:6]
        text = f"{text[: fraction.start()]}.{digits}{text[fraction.end() :]}"
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


LOG_SUFFIXES = (".traj.json", ".jsonl", ".json", ".traj", ".eval", ".zip")
"""The endings of the names the agents give their logs (longest first where one ends another)."""


@functools.lru_cache(maxsize=64)  # asked once per session: a list holds thousands
def file_stem(path: Path | str) -> str:
    """A file's name without its log suffix: ``a.traj.json`` -> ``a``, ``b.jsonl`` -> ``b``."""
    name = Path(path).name
    for suffix in LOG_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name


def has_log_suffix(path: Path | str) -> bool:
    """Whether the file's name ends as a log's does (:data:`LOG_SUFFIXES`)."""
    return Path(path).name.lower().endswith(LOG_SUFFIXES)


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
