"""Claude Code's headless output (``claude -p --verbose --output-format stream-json``), read as
its session log.

Harnesses that run Claude Code without its interface record what it prints: one JSON object per
line, the same conversation lines as the session log under ``~/.claude/projects`` but with their
own key names, and two kinds of line of their own:

* ``{"type": "system", "subtype": "init", "cwd", "session_id", "tools", "model",
  "claude_code_version", ...}`` first;
* ``{"type": "assistant"|"user", "message", "session_id", "parent_tool_use_id", "uuid",
  "tool_use_result"}`` for the conversation, where ``parent_tool_use_id`` names the ``Task``
  call a subagent's line belongs to (null in the main conversation);
* ``{"type": "result", "subtype", "is_error", "num_turns", "result", "total_cost_usd", ...}``
  last.

``--output-format json`` (with ``--verbose``) prints the same lines at the end, as the elements
of one JSON list on one line (:func:`feed_list`).

The task is not among them: ``claude -p`` takes it as an argument. So a session read from this
output starts with the agent's first reply, unless the harness fed the prompt as a line of its
own (``--input-format stream-json``).

:func:`session_line` gives a conversation line the session log's keys (``sessionId``,
``toolUseResult``, ``isSidechain`` and ``agentId`` for a subagent's line), so that the Claude
Code importer reads both alike; :func:`init_context` and :func:`result_meta` read the other two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from understudy.replay.importers.common import feed_entries
from understudy.replay.importers.stream import iter_json_array, json_layout

__all__ = [
    "STREAM_TYPES",
    "feed_list",
    "init_context",
    "is_headless_list",
    "is_stream_line",
    "result_meta",
    "session_line",
]

STREAM_TYPES = frozenset({"result", "rate_limit_event", "stream_event"})
"""Line types of the headless output that are not in a session log (``system`` is in both)."""

_RESULT_KEYS = (
    "subtype",
    "is_error",
    "num_turns",
    "duration_ms",
    "duration_api_ms",
    "total_cost_usd",
    "stop_reason",
    "terminal_reason",
    "permission_denials",
)
"""What :func:`result_meta` keeps of the ``result`` line (its text repeats the last reply)."""


_LIST_HEAD = re.compile(r'\[\s*\{\s*"type"\s*:\s*"system"\s*,\s*"subtype"\s*:\s*"init"\s*,')


def is_headless_list(head: str) -> bool:
    """Whether a file starting with ``head`` is the ``--output-format json`` kind: a list whose
    first element is the ``init`` line (as Claude Code writes it, ``type`` first)."""
    return _LIST_HEAD.match(head) is not None and '"session_id"' in head


def feed_list(path: Path, feed: Callable[[int | None, Any], None]) -> None:
    """Pass each element of the list in ``path`` to ``feed``, with the line it is on when the
    list is on one line (as Claude Code writes it), else None; an element of an unexpected shape
    that ``feed`` trips over becomes a LogFormatError naming it."""
    line = json_layout(path).list_line
    entries = ((line, f"[{index}]", value) for index, value in iter_json_array(path))
    feed_entries(path, entries, feed)


def is_stream_line(line: dict[str, Any]) -> bool:
    """Whether ``line`` is written the headless output's way (``session_id``, not
    ``sessionId``)."""
    return "session_id" in line and "sessionId" not in line


def session_line(line: dict[str, Any]) -> dict[str, Any]:
    """A conversation line of the headless output with the session log's keys (a copy)."""
    renamed = dict(line)
    renamed["sessionId"] = renamed.pop("session_id")
    if "tool_use_result" in renamed:
        renamed["toolUseResult"] = renamed.pop("tool_use_result")
    parent = renamed.pop("parent_tool_use_id", None)
    if isinstance(parent, str) and parent:
        # A subagent's line: its own conversation, named by the Task call that started it.
        renamed["isSidechain"] = True
        renamed.setdefault("agentId", parent)
    return renamed


def init_context(line: dict[str, Any]) -> dict[str, Any] | None:
    """The ``system``/``init`` line's context with the session log's keys (``sessionId``,
    ``cwd``, ``version``), or None for any other line."""
    if line.get("type") != "system" or line.get("subtype") != "init":
        return None
    return {
        "sessionId": line.get("session_id"),
        "cwd": line.get("cwd"),
        "version": line.get("claude_code_version"),
    }


def result_meta(line: dict[str, Any]) -> dict[str, Any] | None:
    """What the session's meta keeps of a ``result`` line (how the run ended, its turns and
    cost), or None for any other line."""
    if line.get("type") != "result":
        return None
    return {key: line[key] for key in _RESULT_KEYS if key in line}
