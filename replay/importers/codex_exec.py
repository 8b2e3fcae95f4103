"""Codex CLI's headless output (``codex exec --json``), read as a Codex session.

Harnesses that run Codex without its interface record what ``codex exec --json`` prints: one
event per line (codex-rs ``exec/src/exec_events.rs``), not the rollout the CLI keeps under
``~/.codex/sessions``:

* ``thread.started`` (``thread_id``: the session id), ``turn.started``, ``turn.completed``
  (``usage``), ``turn.failed`` and ``error`` (``message``);
* ``item.started`` / ``item.updated`` / ``item.completed`` with an ``item`` of a type:
  ``reasoning`` and ``agent_message`` (``text``), ``command_execution`` (``command``,
  ``aggregated_output``, ``exit_code``, ``status``), ``file_change`` (``changes``: paths and
  kinds, no patch), ``mcp_tool_call`` (``server``, ``tool``, ``arguments``, ``result``,
  ``error``), ``web_search`` (``query``), ``todo_list`` (``items``), ``error`` (``message``).

Mapping: each item is taken in its last state (completed, else the last one seen: a run stopped
during a command leaves that call without a result). Reasoning becomes the ``reasoning`` of the
assistant message that follows; an agent message is an assistant message; every other item is
an assistant message holding one call, then its result. An item's id is its call's id (with
``-turnN`` in a later turn, which may number its items from 0 again):

* a command is a ``shell`` call with its argv (the command line split as a shell would: the
  shape of Codex's own ``shell`` calls in rollouts, so its tool adapter replays it), its output
  the result, ``meta.exit_code`` and ``is_error`` from the exit code or a failed or declined
  status;
* a file change is a ``file_change`` call naming the paths and kinds (the patch is not in the
  output, so it is served from the log); an MCP call is ``SERVER__TOOL``; a web search is a
  ``web_search`` call and a to-do list an ``update_plan`` call, both without a result (the
  output has none; rollouts have none for searches either); an item of another type is a call
  of that name, without a result;
* errors (events, failed turns and error items) go to ``meta.errors``, turn usage is summed
  into ``meta.usage``.

The task is not in this output: ``codex exec`` takes it as an argument.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    UsageTally,
    feed_jsonl,
    infer_tool_specs,
    json_type_name,
    log_error,
    make_tool_call,
    session_id,
    tool_result,
)
from understudy.trajectory import EnvSpec, Message, Session, SourceInfo

__all__ = ["is_exec_event", "load_exec_events"]

_ITEM_EVENTS = ("item.started", "item.updated", "item.completed")


def is_exec_event(value: Any) -> bool:
    """Whether ``value`` (a log's first line) is an event of ``codex exec --json``."""
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    if kind == "thread.started":
        return isinstance(value.get("thread_id"), str)
    if kind in _ITEM_EVENTS:
        item = value.get("item")
        return isinstance(item, dict) and "id" in item and isinstance(item.get("type"), str)
    return kind == "turn.started" and len(value) == 1


def load_exec_events(path: Path, report: ImportReport, strict: bool, fmt: str) -> Iterator[Session]:
    """The one session of a ``codex exec --json`` output (none when it holds no item)."""
    events = _Events(path)
    feed_jsonl(path, report, strict, events.feed)
    if not events.items:
        report.warn(path, "no items; nothing imported")
        return
    messages = _messages(events.items)
    meta: dict[str, Any] = {}
    if events.usage.totals:
        meta["usage"] = events.usage.totals
    if events.errors:
        meta["errors"] = list(events.errors)
    yield Session(
        id=session_id(path, own_id=events.thread_id),
        source=SourceInfo(format=fmt, path=str(path), agent="codex"),
        task="",
        env=EnvSpec(),
        tools=infer_tool_specs(messages),
        messages=messages,
        meta=meta,
    )


class _Events:
    """The events of one output: each item in its last state, in the order first seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.thread_id: str | None = None
        self.items: dict[str, tuple[dict[str, Any], bool]] = {}
        """Each item in its last state, and whether that was its completion."""
        self.usage = UsageTally()
        self.errors: list[str] = []
        self.turns = 0

    def feed(self, number: int, value: Any) -> None:
        if not isinstance(value, dict):
            raise log_error(
                self.path, f"expected a JSON object, got {json_type_name(value)}", line=number
            )
        kind = value.get("type")
        if kind == "thread.started" and isinstance(value.get("thread_id"), str):
            self.thread_id = self.thread_id or value["thread_id"]
        elif kind == "turn.started":
            self.turns += 1
        elif kind == "turn.completed" and isinstance(value.get("usage"), dict):
            self.usage.add(value["usage"])
        elif kind in ("turn.failed", "error"):
            error = value.get("error") if kind == "turn.failed" else value
            message = error.get("message") if isinstance(error, dict) else None
            self.errors.append(message if isinstance(message, str) else str(error))
        elif kind in _ITEM_EVENTS:
            item = value.get("item")
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                raise log_error(self.path, "expected an item with a type", number, "item")
            if item["type"] == "error":
                if kind == "item.completed":
                    self.errors.append(str(item.get("message")))
                return
            key = str(item.get("id", f"line-{number}"))
            if self.turns > 1:  # a later turn may number its items from 0 again
                key = f"{key}-turn{self.turns}"
            self.items[key] = (item, kind == "item.completed")


def _messages(items: dict[str, tuple[dict[str, Any], bool]]) -> list[Message]:
    messages: list[Message] = []
    reasoning: list[str] = []
    for key, (item, completed) in items.items():
        kind = item["type"]
        text = item.get("text")
        text = text if isinstance(text, str) else ""
        if kind == "reasoning":
            reasoning.append(text)
            continue
        thought = "\n".join(part for part in reasoning if part) or None
        reasoning = []
        if kind in ("agent_message", "plan"):
            messages.append(Message(role="assistant", content=text, reasoning=thought))
        else:
            messages.extend(_call(key, item, completed, thought))
    return messages


def _call(key: str, item: dict[str, Any], completed: bool, thought: str | None) -> list[Message]:
    """The assistant message making an item's call, and the call's result when it has one."""
    name, arguments, result = _CALLS.get(item["type"], _other)(item)
    call = make_tool_call(key, name, arguments)
    made = Message(role="assistant", reasoning=thought, tool_calls=[call])
    if result is None or not completed:
        return [made]
    content, is_error, meta = result
    return [made, tool_result(key, content, name=name, is_error=is_error, meta=meta)]


_Result = tuple[Any, bool, dict[str, Any]]
"""A result: its content (flattened as tool results are), whether it failed, its meta."""


def _command(item: dict[str, Any]) -> tuple[str, dict[str, Any], _Result | None]:
    command = str(item.get("command", ""))
    try:
        argv: list[str] | str = shlex.split(command)
    except ValueError:  # unbalanced quotes: the command line as it is
        argv = command
    exit_code = item.get("exit_code")
    failed = item.get("status") in ("failed", "declined")
    meta: dict[str, Any] = {"status": item.get("status")}
    if isinstance(exit_code, int):
        meta["exit_code"] = exit_code
    output = str(item.get("aggregated_output") or "")
    is_error = failed or (isinstance(exit_code, int) and exit_code != 0)
    return "shell", {"command": argv}, (output, is_error, meta)


def _file_change(item: dict[str, Any]) -> tuple[str, dict[str, Any], _Result | None]:
    changes = _list(item, "changes")
    failed = item.get("status") == "failed"
    listed = "\n".join(
        f"{change.get('kind')} {change.get('path')}"
        for change in changes
        if isinstance(change, dict)
    )
    return "file_change", {"changes": changes}, (listed, failed, {"status": item.get("status")})


def _mcp(item: dict[str, Any]) -> tuple[str, dict[str, Any], _Result | None]:
    name = f"{item.get('server')}__{item.get('tool')}"
    arguments = item.get("arguments")
    arguments = arguments if isinstance(arguments, dict) else {}
    error = item.get("error")
    if isinstance(error, dict):
        return name, arguments, (str(error.get("message", "")), True, {})
    result = item.get("result")
    content = result.get("content") if isinstance(result, dict) else None
    return name, arguments, (content if content is not None else "", False, {})


def _web_search(item: dict[str, Any]) -> tuple[str, dict[str, Any], _Result | None]:
    return "web_search", {"query": item.get("query")}, None


def _todo_list(item: dict[str, Any]) -> tuple[str, dict[str, Any], _Result | None]:
    entries = _list(item, "items")
    plan = [
        {"step": entry.get("text"), "status": "completed" if entry.get("completed") else "pending"}
        for entry in entries
        if isinstance(entry, dict)
    ]
    return "update_plan", {"plan": plan}, None  # what the tool answered is not in the output


def _other(item: dict[str, Any]) -> tuple[str, dict[str, Any], _Result | None]:
    fields = {k: v for k, v in item.items() if k not in ("id", "type", "status")}
    return str(item["type"]), fields, None


def _list(item: dict[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    return value if isinstance(value, list) else []


_CALLS = {
    "command_execution": _command,
    "file_change": _file_change,
    "mcp_tool_call": _mcp,
    "web_search": _web_search,
    "todo_list": _todo_list,
}
