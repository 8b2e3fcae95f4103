"""The simulators' reply cache: validated replies by request hash, in an append-only JSONL file.

A rerun of a simulated replay (or of ``simcheck``) with the same cache sends no request that
was answered before and gets the same replies, so its results are reproducible even from a
sampling model. The key is the sha256 of the canonical request (model, messages, schema name
and schema, temperature).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import IO, Any

from understudy.logging import get_logger

__all__ = ["ReplyCache", "request_key"]

log = get_logger("simulate.cache")


def request_key(
    model: str,
    messages: list[dict[str, Any]],
    schema: dict[str, Any],
    name: str,
    temperature: float | None,
) -> str:
    """The sha256 of a request's canonical body: what makes two requests the same request."""
    body = {
        "model": model,
        "messages": messages,
        "schema": schema,
        "name": name,
        "temperature": temperature,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ReplyCache:
    """Validated replies by request key, kept in an append-only JSONL file.

    Each line is ``{"key": ..., "reply": {...}}``. A line that cannot be read (the last one of
    a run killed mid-write) is skipped with a warning; the next append starts on a new line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._replies: dict[str, dict[str, Any]] = {}
        self._handle: IO[str] | None = None
        self._needs_newline = False
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        self._needs_newline = bool(text) and not text.endswith("\n")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            entry = _cache_entry(line)
            if entry is None:
                log.warning("simulate.cache_line_skipped", path=str(self.path), line=number)
                continue
            self._replies.setdefault(*entry)  # the first reply stored under a key wins

    def __len__(self) -> int:
        return len(self._replies)

    def get(self, key: str) -> dict[str, Any] | None:
        """A copy of the reply stored under ``key``, or None."""
        reply = self._replies.get(key)
        return copy.deepcopy(reply) if reply is not None else None

    def put(self, key: str, reply: dict[str, Any]) -> dict[str, Any]:
        """Store ``reply`` under ``key`` (appended and flushed) unless one is stored already;
        a copy of the reply that is stored either way."""
        if key not in self._replies:
            self._replies[key] = copy.deepcopy(reply)
            self._append(json.dumps({"key": key, "reply": reply}, ensure_ascii=False))
        return copy.deepcopy(self._replies[key])

    def _append(self, line: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        if self._needs_newline:
            self._handle.write("\n")
            self._needs_newline = False
        self._handle.write(line + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _cache_entry(line: str) -> tuple[str, dict[str, Any]] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    key, reply = entry.get("key"), entry.get("reply")
    if not isinstance(key, str) or not isinstance(reply, dict):
        return None
    return key, reply
