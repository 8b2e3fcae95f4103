"""Export sessions for interchange: ATIF (Harbor) or OpenAI chat messages.

:func:`export_sessions` writes sessions in one of two formats; the layout follows ``out``:

* ``out`` ends in ``.jsonl`` -- one trajectory (ATIF) or conversation object (OpenAI) per
  line, written as the sessions come (streaming);
* ``out`` ends in ``.json`` -- a single object when there is exactly one session, else a JSON
  list of them;
* otherwise ``out`` is a directory (created if needed) holding one ``<session id>.json`` per
  session -- the ATIF convention of one trajectory per file.

ATIF output is ``ATIF-v1.6``: steps for system, user and assistant messages, tool results as
``observation.results`` of the assistant step that made the call (``source_call_id``), token
usage as ``metrics``, the session's tool specs as ``agent.tool_definitions``. Whatever ATIF
has no field for (message meta, error flags, provenance, raw tool arguments, the env, the task,
which specs were inferred) goes under ``extra.understudy`` in the root and the steps, so the
ATIF importer reads an exported file back to the same sessions (the source path aside).

OpenAI output is the Chat Completions shape: ``{"id", "model", "messages", "tools"}`` plus
``env``, ``task`` and ``metadata`` when they carry information, ``reasoning_content`` on
assistant messages, and the non-standard ``is_error``, ``timestamp`` and ``meta`` message keys
that the OpenAI importer reads back. It keeps messages, tool calls, links, env, task and meta;
it loses the source agent and version, result provenance, and which tool specs were inferred.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

from understudy.errors import ConfigError
from understudy.replay.importers.atif import EXTRA_KEY
from understudy.trajectory import Message, Session, ToolCall
from understudy.wire import tool_call_to_wire, tool_to_wire

__all__ = ["ATIF_VERSION", "ExportFormat", "export_sessions", "to_atif", "to_openai"]

ATIF_VERSION = "ATIF-v1.6"
"""The ATIF schema version written."""

ExportFormat = Literal["atif", "openai"]

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "cached_tokens")


def export_sessions(sessions: Iterable[Session], fmt: ExportFormat, out: Path | str) -> int:
    """Write ``sessions`` to ``out`` in ``fmt`` (layout by ``out``'s suffix); return the count."""
    if fmt not in ("atif", "openai"):
        raise ConfigError(f"unknown export format {fmt!r}; valid formats: atif, openai")
    convert = to_atif if fmt == "atif" else to_openai
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        out.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with out.open("w", encoding="utf-8") as handle:
            for session in sessions:
                handle.write(_dumps(convert(session)) + "\n")
                count += 1
        return count
    if suffix == ".json":
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            return _write_json(handle, (convert(session) for session in sessions))
    out.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    count = 0
    for session in sessions:
        name = _file_name(session.id, used)
        (out / name).write_text(_dumps(convert(session), indent=2) + "\n", encoding="utf-8")
        count += 1
    return count


def _write_json(handle: IO[str], documents: Iterator[dict[str, Any]]) -> int:
    """One document as an object, several as a list -- written as they come."""
    first = next(documents, None)
    if first is None:
        handle.write("[]\n")
        return 0
    second = next(documents, None)
    if second is None:
        handle.write(_dumps(first, indent=2) + "\n")
        return 1
    handle.write("[\n" + _dumps(first) + ",\n" + _dumps(second))
    count = 2
    for document in documents:
        handle.write(",\n" + _dumps(document))
        count += 1
    handle.write("\n]\n")
    return count


def _dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def _file_name(session_id: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", session_id).strip("._") or "session"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        name = f"{base}~{n}"
    used.add(name.lower())
    return name + ".json"


# --------------------------------------------------------------------------- ATIF


def to_atif(session: Session) -> dict[str, Any]:
    """One session as an ATIF trajectory object (see the module docs for the mapping)."""
    steps: list[dict[str, Any]] = []
    agent_step: dict[str, Any] | None = None  # the step tool results attach to
    for message in session.messages:
        if message.role == "tool" or (message.role == "user" and message.meta.get("observation")):
            if agent_step is None:
                agent_step = _new_step(steps, "agent", "")
                _ours(agent_step)["synthetic"] = True
            _add_result(agent_step, message)
            continue
        step = _message_step(steps, message)
        agent_step = step if message.role == "assistant" else None
    source = session.source
    agent: dict[str, Any] = {
        "name": source.agent or source.format,
        "version": source.version or "unknown",
    }
    if source.model:
        agent["model_name"] = source.model
    if session.tools:
        agent["tool_definitions"] = [tool_to_wire(spec) for spec in session.tools]
    ours: dict[str, Any] = {
        "source": source.model_dump(exclude_none=True, exclude={"path"}),
        "task": session.task,
        "env": session.env.model_dump(mode="json", exclude_defaults=True),
        "meta": session.meta,
    }
    inferred = [spec.name for spec in session.tools if spec.inferred]
    if inferred:
        ours["inferred_tools"] = inferred
    trajectory: dict[str, Any] = {
        "schema_version": ATIF_VERSION,
        "session_id": session.id,
        "agent": agent,
        "steps": steps,
    }
    totals = _final_metrics(session.messages)
    if totals:
        trajectory["final_metrics"] = totals
    trajectory["extra"] = {EXTRA_KEY: ours}
    return trajectory


def _new_step(steps: list[dict[str, Any]], source: str, text: str) -> dict[str, Any]:
    step: dict[str, Any] = {"step_id": len(steps) + 1, "source": source, "message": text}
    steps.append(step)
    return step


def _ours(step: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = step.setdefault("extra", {})
    saved: dict[str, Any] = extra.setdefault(EXTRA_KEY, {})
    return saved


def _message_step(steps: list[dict[str, Any]], message: Message) -> dict[str, Any]:
    source = {"system": "system", "user": "user", "assistant": "agent"}[message.role]
    step = _new_step(steps, source, message.content)
    if message.timestamp is not None:
        step["timestamp"] = message.timestamp.isoformat()
    saved: dict[str, Any] = {"meta": message.meta}
    for field in ("name", "tool_call_id"):
        if getattr(message, field) is not None:
            saved[field] = getattr(message, field)
    if message.is_error:
        saved["is_error"] = True
    if message.provenance is not None:
        saved["provenance"] = message.provenance.value
    if source == "agent":
        model = message.meta.get("model")
        if isinstance(model, str):
            step["model_name"] = model
        if message.reasoning is not None:
            step["reasoning_content"] = message.reasoning
        if message.tool_calls:
            step["tool_calls"] = [_tool_call(call) for call in message.tool_calls]
            raw = [
                {"raw_arguments": call.raw_arguments} if call.raw_arguments is not None else {}
                for call in message.tool_calls
            ]
            if any(raw):
                _ours(step)["calls"] = raw
        metrics = _metrics(message.meta)
        if metrics:
            step["metrics"] = metrics
    elif message.reasoning is not None:
        saved["reasoning"] = message.reasoning
    _ours(step)["message"] = saved
    return step


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {"tool_call_id": call.id, "function_name": call.name, "arguments": call.arguments}


def _add_result(step: dict[str, Any], message: Message) -> None:
    observation: dict[str, Any] = step.setdefault("observation", {"results": []})
    calls = {call["tool_call_id"] for call in step.get("tool_calls", [])}
    linked = message.role == "tool" and message.tool_call_id in calls
    result: dict[str, Any] = {
        # ATIF ties a result to a call of the same step; other results go unlinked and the
        # true link is kept in extra.
        "source_call_id": message.tool_call_id if linked else None,
        "content": message.content,
    }
    observation["results"].append(result)
    saved: dict[str, Any] = {"role": message.role, "meta": message.meta}
    if message.tool_call_id is not None or message.role == "tool":
        saved["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        saved["name"] = message.name
    if message.is_error:
        saved["is_error"] = True
    if message.provenance is not None:
        saved["provenance"] = message.provenance.value
    if message.timestamp is not None:
        saved["timestamp"] = message.timestamp.isoformat()
    results: list[dict[str, Any]] = _ours(step).setdefault("results", [])
    results.append(saved)


def _metrics(meta: dict[str, Any]) -> dict[str, Any]:
    usage = meta.get("usage")
    metrics: dict[str, Any] = {}
    if isinstance(usage, dict):
        aliases = {
            "prompt_tokens": ("prompt_tokens", "input_tokens"),
            "completion_tokens": ("completion_tokens", "output_tokens"),
            "cached_tokens": ("cached_tokens", "cache_read_input_tokens"),
        }
        for key, names in aliases.items():
            for name in names:
                value = usage.get(name)
                if isinstance(value, int) and not isinstance(value, bool):
                    metrics[key] = value
                    break
    cost = meta.get("cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        metrics["cost_usd"] = cost
    return metrics


def _final_metrics(messages: list[Message]) -> dict[str, Any]:
    totals: dict[str, Any] = {}
    for message in messages:
        for key, value in _metrics(message.meta).items():
            total_key = "total_cost_usd" if key == "cost_usd" else f"total_{key}"
            totals[total_key] = totals.get(total_key, 0) + value
    return totals


# --------------------------------------------------------------------------- OpenAI


def to_openai(session: Session) -> dict[str, Any]:
    """One session as an OpenAI chat conversation object (see the module docs)."""
    conversation: dict[str, Any] = {"id": session.id}
    if session.source.model:
        conversation["model"] = session.source.model
    conversation["messages"] = [_openai_message(message) for message in session.messages]
    if session.tools:
        conversation["tools"] = [tool_to_wire(spec) for spec in session.tools]
    first_user = next((m.content for m in session.messages if m.role == "user" and m.content), "")
    if session.task != first_user:
        conversation["task"] = session.task
    env = session.env.model_dump(mode="json", exclude_defaults=True)
    if env:
        conversation["env"] = env
    if session.meta:
        conversation["metadata"] = session.meta
    return conversation


def _openai_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    if message.reasoning is not None:
        out["reasoning_content"] = message.reasoning
    if message.tool_calls:
        out["tool_calls"] = [tool_call_to_wire(call) for call in message.tool_calls]
    if message.is_error:
        out["is_error"] = True
    if message.timestamp is not None:
        out["timestamp"] = message.timestamp.isoformat()
    if message.meta:
        out["meta"] = message.meta
    return out
