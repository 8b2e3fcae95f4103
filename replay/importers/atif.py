"""Harbor's ATIF, the Agent Trajectory Interchange Format (RFC 0001, versions 1.0 to 1.7).

Supported subset (everything else is kept in ``meta`` or ignored, never an error):

* Layout: one trajectory object per file (the ATIF convention), a JSON list of trajectories
  (streamed, one trajectory in memory at a time), or JSONL with one trajectory per line
  (streamed).
* Root: ``schema_version``, ``session_id`` (or ``trajectory_id``) as the session id,
  ``agent{name, version, model_name, tool_definitions, extra}`` -> ``source.agent``,
  ``source.version``, ``source.model`` and the tool specs (OpenAI function definitions),
  ``notes``, ``final_metrics``, ``continued_trajectory_ref`` and ``extra`` -> session ``meta``.
  Embedded ``subagent_trajectories`` (v1.7) are imported as sessions of their own, after
  their parent, with ``meta.parent_session_id``.
* Steps, in order: ``source: system|user|agent`` -> a system, user or assistant message;
  ``message`` (a string or, v1.6, a list of text/image content parts -- images become
  ``[image]``); ``timestamp``; for agent steps ``reasoning_content`` -> reasoning,
  ``tool_calls[{tool_call_id, function_name, arguments}]`` -> tool calls (string arguments
  are parsed, or kept raw), ``model_name``, ``reasoning_effort``, and ``metrics`` ->
  ``meta.usage`` (``prompt_tokens``, ``completion_tokens``, ``cached_tokens``) and
  ``meta.cost_usd``; token ids and logprobs are dropped; ``is_copied_context`` ->
  ``meta.copied_context``; step ``extra`` -> ``meta.extra``.
* ``observation.results[]``: a result with ``source_call_id`` becomes a ``role="tool"``
  message linked to that call (its name taken from the call); ``content`` is flattened;
  ``is_error`` / ``extra.is_error`` / ``extra.exit_code`` are honoured when a writer records
  them; ``subagent_trajectory_ref`` is kept in ``meta.subagent_refs``. A result without
  ``source_call_id`` (an action outside tool calling) becomes a user message marked
  ``meta.observation = true``, which is how such agents show output to the model.

Files written by :func:`understudy.replay.export.export_sessions` carry what ATIF has no field
for (message meta, error flags, provenance, raw arguments, env, task, inferred specs) under
``extra.understudy`` at the root and in each step, so that exported sessions import back
unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pydantic

from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    as_list,
    as_object,
    as_text,
    check_not_binary,
    first_line_is_json,
    first_user_text,
    flatten_content,
    head_text,
    infer_tool_specs,
    iter_jsonl,
    load_json,
    log_error,
    make_tool_call,
    parse_timestamp,
    session_id,
    tool_specs_from_openai,
)
from understudy.replay.importers.stream import first_json_byte, is_single_line, iter_json_array
from understudy.trajectory import (
    EnvSpec,
    Message,
    Provenance,
    Role,
    Session,
    SourceInfo,
    ToolCall,
)

__all__ = ["EXTRA_KEY", "AtifImporter"]

EXTRA_KEY = "understudy"
"""Key under ``extra`` where understudy's own exports keep what ATIF has no field for."""

_VERSION_AT_START = re.compile(r'\s*\[?\s*\{\s*"schema_version"\s*:\s*"ATIF-v\d')
# The indentation of the first key of a pretty-printed document: its top-level keys.
_FIRST_KEY_INDENT = re.compile(r'\s*\[?\s*\{[ \t]*\r?\n([ \t]*)"')
_STEP_ROLES: dict[str, Role] = {"system": "system", "user": "user", "agent": "assistant"}
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "cached_tokens")


class AtifImporter:
    """Agent Trajectory Interchange Format files (Harbor)."""

    name = "atif"

    def detect(self, path: Path) -> bool:
        """A trajectory object (or a list or JSONL of them) with ``steps`` and an ATIF
        ``schema_version`` -- or, without one, ``agent`` and ``step_id``-numbered steps.

        Only top-level keys count, so a session that merely mentions ATIF in its content (a
        native file of imported ATIF sessions, say) is not taken for one.
        """
        head = head_text(path)
        first = head.lstrip().split("\n", 1)[0]
        try:
            value = json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            value = None
        if value is not None:
            doc = value[0] if isinstance(value, list) and value else value
            return _looks_like_trajectory(doc)
        # Pretty-printed (or too long for the window): look for top-level keys only.
        if not head.lstrip().startswith(("{", "[")):
            return False
        if _VERSION_AT_START.match(head):
            return True
        indent = _FIRST_KEY_INDENT.match(head)
        if indent is None:
            return False
        top = "^" + re.escape(indent.group(1)) + '"{}"\\s*:\\s*'
        if re.search(top.format("schema_version") + '"ATIF-v\\d', head, re.MULTILINE):
            return True
        return (
            re.search(top.format("steps") + "\\[", head, re.MULTILINE) is not None
            and re.search(r'"step_id"\s*:\s*\d', head) is not None
            and re.search(r'"source"\s*:\s*"(?:agent|user|system)"', head) is not None
        )

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """The sessions of ``path``: one per trajectory, then its embedded subagents."""
        check_not_binary(path)
        for count, (line, where, item) in enumerate(_documents(path, report, strict)):
            # The only trajectory of a file is named after the file alone.
            only = count == 0 and not where and line in (None, 1)
            yield from _trajectory(item, path, line, where, None if only else count, report, None)


def _documents(
    path: Path, report: ImportReport, strict: bool
) -> Iterator[tuple[int | None, str, Any]]:
    """``(line, where, trajectory)`` in file order; ``where`` is ``[i]`` within a list.

    A document that is a list of trajectories is streamed (one in memory at a time); a single
    trajectory is read whole; JSONL is streamed line by line.
    """
    one_line = first_line_is_json(path)
    if first_json_byte(path) == b"[" and (not one_line or is_single_line(path)):
        line = 1 if one_line else None
        for index, item in iter_json_array(path):
            yield line, f"[{index}]", item
        return
    documents: Iterator[tuple[int | None, Any]] = (
        iter_jsonl(path, report, strict) if one_line else iter([(None, load_json(path))])
    )
    for number, value in documents:
        if isinstance(value, list):
            for position, item in enumerate(value):
                yield number, f"[{position}]", item
        else:
            yield number, "", value


def _looks_like_trajectory(doc: Any) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        return False
    version = doc.get("schema_version")
    if isinstance(version, str):
        return version.startswith("ATIF")
    steps = doc["steps"]
    return "agent" in doc and bool(steps) and isinstance(steps[0], dict) and "step_id" in steps[0]


def _trajectory(
    doc: Any,
    path: Path,
    line: int | None,
    where: str,
    index: int | None,
    report: ImportReport,
    parent: str | None,
) -> Iterator[Session]:
    if not isinstance(doc, dict):
        raise log_error(path, "expected an ATIF trajectory object", line=line, where=where or None)
    steps = doc.get("steps")
    if not isinstance(steps, list):
        raise log_error(path, "'steps' must be a list", line=line, where=_at(where, "steps"))
    agent = as_object(doc.get("agent"))
    extra = dict(as_object(doc.get("extra")))
    ours = as_object(extra.pop(EXTRA_KEY, None))
    messages: list[Message] = []
    call_names: dict[str, str] = {}
    for position, step in enumerate(steps):
        messages.extend(
            _step(step, path, line, _at(where, f"steps[{position}]"), call_names, report)
        )
    own_id = doc.get("session_id") or doc.get("trajectory_id")
    sid = session_id(path, index, own_id if isinstance(own_id, str | int) else None)
    if parent is not None and not doc.get("session_id"):
        sid = f"{parent}/{sid}"
    known = tool_specs_from_openai(agent.get("tool_definitions"))
    inferred = set(_str_list(ours.get("inferred_tools")))
    known = [
        spec.model_copy(update={"inferred": True}) if spec.name in inferred else spec
        for spec in known
    ]
    if ours:
        source = _source(ours.get("source"), path)
        meta = as_object(ours.get("meta"))
        saved_task = ours.get("task")
        task = saved_task if isinstance(saved_task, str) else first_user_text(messages)
        env = _env(ours.get("env"), path, line, _at(where, f"extra.{EXTRA_KEY}.env"))
    else:
        model = agent.get("model_name")
        source = SourceInfo(
            format="atif",
            path=str(path),
            agent=as_text(agent.get("name")),
            model=as_text(model),
            version=as_text(agent.get("version")),
        )
        meta = {
            key: doc[key]
            for key in ("schema_version", "notes", "final_metrics", "continued_trajectory_ref")
            if doc.get(key) is not None
        }
        if extra:
            meta["extra"] = extra
        if agent.get("extra"):
            meta["agent_extra"] = agent["extra"]
        if doc.get("trajectory_id") and doc.get("session_id"):
            meta["trajectory_id"] = doc["trajectory_id"]
        if parent is not None:
            meta["parent_session_id"] = parent
        task = first_user_text(messages)
        env = EnvSpec()
    yield Session(
        id=sid,
        source=source,
        task=task,
        env=env,
        tools=infer_tool_specs(messages, known),
        messages=messages,
        meta=meta,
    )
    subagents = doc.get("subagent_trajectories")
    if isinstance(subagents, list):
        for position, sub in enumerate(subagents):
            sub_where = _at(where, f"subagent_trajectories[{position}]")
            yield from _trajectory(sub, path, line, sub_where, position, report, sid)


def _step(
    step: Any,
    path: Path,
    line: int | None,
    where: str,
    call_names: dict[str, str],
    report: ImportReport,
) -> list[Message]:
    if not isinstance(step, dict):
        raise log_error(path, "expected a step object", line=line, where=where)
    source = step.get("source")
    role = _STEP_ROLES.get(source) if isinstance(source, str) else None
    if role is None:
        raise log_error(
            path,
            f"source must be system, user or agent, got {str(source)[:40]!r}",
            line=line,
            where=f"{where}.source",
        )
    extra = dict(as_object(step.get("extra")))
    ours = as_object(extra.pop(EXTRA_KEY, None))
    timestamp = parse_timestamp(step.get("timestamp"))
    raw_calls = step.get("tool_calls")
    if raw_calls is not None and not isinstance(raw_calls, list):
        raise log_error(path, "expected a list", line=line, where=f"{where}.tool_calls")
    call_extras = as_list(ours.get("calls"))
    calls: list[ToolCall] = []
    for position, raw in enumerate(raw_calls or []):
        if not isinstance(raw, dict):
            raise log_error(
                path,
                "expected a tool call object",
                line=line,
                where=f"{where}.tool_calls[{position}]",
            )
        call = make_tool_call(
            raw.get("tool_call_id"), raw.get("function_name"), raw.get("arguments")
        )
        saved = as_object(call_extras[position]) if position < len(call_extras) else {}
        if isinstance(saved.get("raw_arguments"), str):
            call = call.model_copy(
                update={"arguments": {}, "raw_arguments": saved["raw_arguments"]}
            )
        if not call.id:
            call = call.model_copy(update={"id": f"{where}.tool_calls[{position}]"})
            report.warn(
                path,
                "tool call without tool_call_id",
                line=line,
                where=f"{where}.tool_calls[{position}]",
            )
        calls.append(call)
        call_names[call.id] = call.name
    out: list[Message] = []
    if not ours.get("synthetic"):
        saved_message = as_object(ours.get("message"))
        # Our own exports saved the message meta; otherwise it is built from the step.
        meta = as_object(saved_message.get("meta")) if ours else _step_meta(step, extra)
        reasoning = step.get("reasoning_content")
        if not isinstance(reasoning, str):
            reasoning = (
                saved_message.get("reasoning")
                if isinstance(saved_message.get("reasoning"), str)
                else None
            )
        out.append(
            Message(
                role=role,
                content=flatten_content(step.get("message")),
                reasoning=reasoning,
                tool_calls=calls,
                tool_call_id=as_text(saved_message.get("tool_call_id")),
                name=as_text(saved_message.get("name")),
                is_error=saved_message.get("is_error") is True,
                provenance=_provenance(saved_message.get("provenance")),
                timestamp=timestamp,
                meta=meta,
            )
        )
    observation = step.get("observation")
    if observation is None:
        return out
    results = as_object(observation).get("results") if isinstance(observation, dict) else None
    if not isinstance(results, list):
        raise log_error(
            path, "'results' must be a list", line=line, where=f"{where}.observation.results"
        )
    saved_results = as_list(ours.get("results"))
    for position, result in enumerate(results):
        rwhere = f"{where}.observation.results[{position}]"
        if not isinstance(result, dict):
            raise log_error(path, "expected an observation result object", line=line, where=rwhere)
        saved = as_object(saved_results[position]) if position < len(saved_results) else {}
        message = _result(result, saved, timestamp, call_names)
        if message.role == "tool" and message.tool_call_id not in call_names:
            report.warn_orphan(
                path, message.tool_call_id, line=line, where=f"{rwhere}.source_call_id"
            )
        out.append(message)
    return out


def _result(
    result: dict[str, Any], saved: dict[str, Any], step_time: Any, call_names: dict[str, str]
) -> Message:
    content = flatten_content(result.get("content"))
    if saved:
        role = cast(Role, saved.get("role")) if saved.get("role") in ("tool", "user") else "tool"
        call_id = saved.get("tool_call_id", result.get("source_call_id"))
        return Message(
            role=role,
            content=content,
            tool_call_id=as_text(call_id),
            name=as_text(saved.get("name")),
            is_error=saved.get("is_error") is True,
            provenance=_provenance(saved.get("provenance")),
            timestamp=parse_timestamp(saved.get("timestamp")),
            meta=as_object(saved.get("meta")),
        )
    extra = as_object(result.get("extra"))
    meta: dict[str, Any] = {}
    if extra:
        meta["extra"] = extra
    if "exit_code" in extra:
        meta["exit_code"] = extra["exit_code"]
    refs = result.get("subagent_trajectory_ref")
    if refs:
        meta["subagent_refs"] = refs
    source_call = result.get("source_call_id")
    if source_call is None or source_call == "":
        meta["observation"] = True
        return Message(role="user", content=content, timestamp=step_time, meta=meta)
    call_id = str(source_call)
    is_error = result.get("is_error") is True or extra.get("is_error") is True
    return Message(
        role="tool",
        content=content,
        tool_call_id=call_id,
        name=call_names.get(call_id),
        is_error=is_error,
        provenance=Provenance.RECORDED,
        timestamp=step_time,
        meta=meta,
    )


def _step_meta(step: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"step_id": step.get("step_id")} if "step_id" in step else {}
    if isinstance(step.get("model_name"), str):
        meta["model"] = step["model_name"]
    if step.get("reasoning_effort") is not None:
        meta["reasoning_effort"] = step["reasoning_effort"]
    metrics = as_object(step.get("metrics"))
    usage = {
        key: metrics[key]
        for key in _USAGE_KEYS
        if isinstance(metrics.get(key), int) and not isinstance(metrics.get(key), bool)
    }
    if usage:
        meta["usage"] = usage
    if isinstance(metrics.get("cost_usd"), int | float):
        meta["cost_usd"] = metrics["cost_usd"]
    if metrics.get("extra"):
        meta["metrics_extra"] = metrics["extra"]
    if step.get("is_copied_context") is True:
        meta["copied_context"] = True
    if extra:
        meta["extra"] = extra
    return meta


def _source(value: Any, path: Path) -> SourceInfo:
    saved = as_object(value)
    return SourceInfo(
        format="atif",
        path=str(path),
        agent=as_text(saved.get("agent")),
        model=as_text(saved.get("model")),
        version=as_text(saved.get("version")),
    )


def _env(value: Any, path: Path, line: int | None, where: str) -> EnvSpec:
    if value is None:
        return EnvSpec()
    try:
        return EnvSpec.model_validate(value)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise log_error(path, first["msg"], line=line, where=f"{where}.{field}") from None


def _provenance(value: Any) -> Provenance | None:
    try:
        return Provenance(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _at(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def _str_list(value: Any) -> list[str]:
    return [item for item in as_list(value) if isinstance(item, str)]
