"""Tool calls, tool results and tool specs built from loosely typed log fields: calls (one
reader for OpenAI-style ``tool_calls``), results linked to their calls (orphans warned about),
and specs -- those a log does not carry inferred from the calls made."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from understudy.replay.importers import fast_json
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.log_errors import EntryWarnings, json_type_name
from understudy.replay.importers.log_fields import as_list, as_object
from understudy.replay.importers.message_content import compact_json, flatten_content
from understudy.trajectory import Message, Provenance, ToolCall, ToolSpec

__all__ = [
    "ResultLinks",
    "function_tool_call",
    "infer_tool_specs",
    "make_tool_call",
    "openai_tool_calls",
    "parse_arguments",
    "tool_result",
    "tool_specs_from_openai",
    "warn_unknown_call",
]


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
    if raw is None or (isinstance(raw, str) and (not raw or raw.isspace())):
        return {}, None
    if isinstance(raw, str):
        try:
            parsed = fast_json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return {}, raw
        if isinstance(parsed, dict):
            return parsed, None
        return {}, raw
    return {}, compact_json(raw)


def make_tool_call(call_id: Any, name: Any, arguments: Any) -> ToolCall:
    """A :class:`ToolCall` from loosely typed log fields (see :func:`parse_arguments`).

    ``call_id`` and ``name`` are converted with ``str`` (``None`` becomes ``""``; give a
    synthesized id such as ``f"call_{n}"`` when the log has none).
    """
    args, raw = parse_arguments(arguments)
    fields: dict[str, Any] = {
        "id": "" if call_id is None else str(call_id),
        "name": "" if name is None else str(name),
    }
    if args:
        fields["arguments"] = args
    if raw is not None:
        fields["raw_arguments"] = raw
    return ToolCall.from_fields(fields)


def function_tool_call(call_id: Any, function: Mapping[str, Any]) -> ToolCall:
    """A :class:`ToolCall` from an OpenAI function object ``{name, arguments}`` (the
    ``function`` of a ``tool_calls`` entry, a legacy ``function_call``, a Responses API
    ``function_call`` item); see :func:`make_tool_call`."""
    return make_tool_call(call_id, function.get("name"), function.get("arguments"))


def openai_tool_calls(
    raw_calls: Any, where: str, warn: EntryWarnings, synthetic_id: Callable[[int], str]
) -> list[ToolCall]:
    """The calls of an OpenAI-style ``tool_calls`` list ``[{id, function: {name, arguments}}]``
    found at ``where`` (a message's field path).

    Anything but a list holds no calls. An entry that is not an object is skipped with a lossy
    warning; an entry without a string id gets ``synthetic_id(position)``, with a warning.
    """
    calls: list[ToolCall] = []
    for position, entry in enumerate(as_list(raw_calls)):
        entry_where = f"{where}.tool_calls[{position}]"
        if not isinstance(entry, dict):
            warn(entry_where, "not an object; skipped", True)
            continue
        call_id = entry.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = synthetic_id(position)
            warn(f"{entry_where}.id", f"no call id; using {call_id}")
        calls.append(function_tool_call(call_id, as_object(entry.get("function"))))
    return calls


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


def warn_unknown_call(report: ImportReport, path: Path, call_id: str, where: str) -> None:
    """Warn about a tool result for ``call_id``, a call no earlier message made (an orphan)."""
    report.warn_orphan(
        path,
        call_id,
        where=where,
        message=f"tool result for call {call_id!r}, which no earlier message made; "
        "kept as an orphan result",
    )


@dataclass(frozen=True)
class ResultLinks:
    """Links the tool results of one log to the calls they answer, warning about orphans (a
    result without a call id, or whose call no earlier message made) in the words of the
    log's format."""

    report: ImportReport
    path: Path
    without_id: str
    """The warning for a result that names no call: ``"tool_result without tool_use_id"``."""
    result_noun: str
    """What the log calls a result, for the warning about an unknown call: ``"tool result"``."""

    def call_of(
        self, call_id: Any, call_names: Mapping[str, str], line: int | None, where: str
    ) -> tuple[str | None, str | None]:
        """``(call_id, tool name)`` of a result naming ``call_id``, given the names of the calls
        made so far; an orphan keeps its id (None when it has no usable one) and has no name."""
        if not isinstance(call_id, str) or not call_id:
            self.report.warn_orphan(
                self.path, None, line, where, f"{self.without_id} (orphan, kept)"
            )
            return None, None
        name = call_names.get(call_id)
        if name is None:
            message = f"{self.result_noun} for unknown call {call_id!r} (orphan, kept)"
            self.report.warn_orphan(self.path, call_id, line, where, message)
        return call_id, name


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
        fields: dict[str, Any] = {
            "name": name,
            "parameters": dict(params) if isinstance(params, Mapping) else _empty_schema(),
        }
        if isinstance(description, str):
            fields["description"] = description
        specs.append(ToolSpec.from_fields(fields))
    return specs


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
