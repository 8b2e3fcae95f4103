"""What the events of an inspect_ai sample add to its messages: ``model`` events give each
assistant message its usage, model and timestamp and give the tool specs offered; ``tool``
events give results their duration and timestamp; ``sandbox`` exec events give a call its exit
code, found through the tool span that holds them."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from understudy.replay.importers.common import parse_timestamp, tool_specs_from_openai
from understudy.trajectory import ToolSpec

__all__ = ["scan_events"]


def scan_events(
    events: list[Any], resolve: Callable[[Any], Any]
) -> tuple[dict[str, dict[str, Any]], list[ToolSpec], dict[str, dict[str, Any]]]:
    """Facts per assistant message id, the tools offered, facts per tool call id.

    ``resolve`` replaces the sample's attachment references in the tool specs offered.
    """
    model_facts: dict[str, dict[str, Any]] = {}
    tool_facts: dict[str, dict[str, Any]] = {}
    offered: list[ToolSpec] = []
    tool_runs: list[tuple[str, str, Any, Any, Any]] = []  # id, function, start, end, span
    tool_spans: list[tuple[str, Any, Any, Any]] = []  # span id, name, begin, parent
    execs: list[dict[str, Any]] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        if kind == "model":
            tools = event.get("tools")
            if isinstance(tools, list) and tools:
                offered = tool_specs_from_openai(resolve(tools))
            output = event.get("output")
            if not isinstance(output, dict):
                continue
            choices = output.get("choices")
            first = choices[0] if isinstance(choices, list) and choices else None
            reply = first.get("message") if isinstance(first, dict) else None
            reply_id = reply.get("id") if isinstance(reply, dict) else None
            if not isinstance(reply_id, str):
                continue
            facts: dict[str, Any] = {}
            if isinstance(output.get("usage"), dict):
                facts["usage"] = output["usage"]
            if isinstance(output.get("model"), str):
                facts["model"] = output["model"]
            if isinstance(event.get("model"), str):
                facts["requested_model"] = event["model"]
            if isinstance(output.get("time"), int | float):
                facts["duration_s"] = float(output["time"])
            facts["timestamp"] = event.get("completed") or event.get("timestamp")
            model_facts[reply_id] = facts
        elif kind == "tool":
            call_id = event.get("id")
            if not isinstance(call_id, str):
                continue
            facts = {"timestamp": event.get("completed") or event.get("timestamp")}
            if isinstance(event.get("working_time"), int | float):
                facts["duration_s"] = float(event["working_time"])
            nested = event.get("events")
            if isinstance(nested, list):
                for inner in nested:
                    _note_exec(facts, inner)
            tool_facts[call_id] = facts
            tool_runs.append(
                (
                    call_id,
                    str(event.get("function")),
                    parse_timestamp(event.get("timestamp")),
                    parse_timestamp(event.get("completed")),
                    event.get("span_id"),
                )
            )
        elif kind == "span_begin" and event.get("type") == "tool":
            tool_spans.append(
                (
                    str(event.get("id")),
                    event.get("name"),
                    parse_timestamp(event.get("timestamp")),
                    event.get("parent_id"),
                )
            )
        elif kind == "sandbox" and event.get("action") == "exec":
            execs.append(event)
    span_call = _link_tool_spans(tool_runs, tool_spans)
    for event in execs:
        call_id = span_call.get(str(event.get("span_id")))
        if call_id is not None:
            _note_exec(tool_facts[call_id], event)
    return model_facts, offered, tool_facts


def _link_tool_spans(
    runs: list[tuple[str, str, Any, Any, Any]], spans: list[tuple[str, Any, Any, Any]]
) -> dict[str, str]:
    """Tool span id -> call id: the span of a call begins while the call runs.

    The ``tool`` event and the ``tool`` span that holds its sandbox events are not linked by
    id in the log; the span has the call's function as its name, the call's span as its
    parent, and begins between the call's start and completion. The call that started last
    before the span wins; each call gets at most one span.
    """
    by_function: dict[str, list[tuple[Any, str, Any, Any]]] = {}
    for call_id, function, start, end, call_span in runs:
        if start is not None:
            by_function.setdefault(function, []).append((start, call_id, end, call_span))
    for items in by_function.values():
        items.sort(key=lambda item: item[0])
    starts = {name: [item[0] for item in items] for name, items in by_function.items()}
    linked: dict[str, str] = {}
    used: set[str] = set()
    for span_id, name, begin, parent in spans:
        if begin is None or not isinstance(name, str) or name not in by_function:
            continue
        items = by_function[name]
        position = bisect.bisect_right(starts[name], begin)
        for _start, call_id, end, call_span in reversed(items[:position]):
            if call_id in used:
                continue
            if parent is not None and call_span is not None and parent != call_span:
                continue
            if end is not None and begin > end:
                break  # the latest unused call that started before the span already ended
            linked[span_id] = call_id
            used.add(call_id)
            break
    return linked


def _note_exec(facts: dict[str, Any], event: Any) -> None:
    """Record a sandbox ``exec`` event's exit code (the last one wins) on a call's facts."""
    if not isinstance(event, dict) or event.get("event") != "sandbox":
        return
    if event.get("action") != "exec":
        return
    result = event.get("result")
    if isinstance(result, int) and not isinstance(result, bool):
        facts["exit_code"] = result
        cmd = event.get("cmd")
        if isinstance(cmd, str):
            facts["sandbox_cmd"] = cmd
