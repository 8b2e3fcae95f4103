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
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

import pydantic

from understudy.errors import LogFormatError
from understudy.replay.importers import fast_json
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    as_list,
    as_object,
    as_text,
    check_not_binary,
    first_line,
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
from understudy.replay.importers.stream import iter_json_array, json_layout
from understudy.trajectory import (
    EnvSpec,
    Message,
    Provenance,
    Role,
    Session,
    SourceInfo,
    ToolCall,
    ToolSpec,
)

__all__ = ["EXTRA_KEY", "AtifImporter"]

EXTRA_KEY = "understudy"
"""Key under ``extra`` where understudy's own exports keep what ATIF has no field for."""

_VERSION_AT_START = re.compile(r'\s*\[?\s*\{\s*"schema_version"\s*:\s*"ATIF-v\d')
# The indentation of the first key of a pretty-printed document: its top-level keys.
_FIRST_KEY_INDENT = re.compile(r'\s*\[?\s*\{[ \t]*\r?\n([ \t]*)"')
_STEP_ROLES: dict[str, Role] = {"system": "system", "user": "user", "agent": "assistant"}
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "cached_tokens")
_LOGGED_META_KEYS = ("schema_version", "notes", "final_metrics", "continued_trajectory_ref")


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
        first = first_line(head.lstrip())
        try:
            value = fast_json.loads(first)
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
        # The substring tests first: a multi-line regex search of the whole head is slow.
        if '"schema_version"' in head and re.search(
            top.format("schema_version") + '"ATIF-v\\d', head, re.MULTILINE
        ):
            return True
        return (
            '"steps"' in head
            and '"step_id"' in head
            and re.search(top.format("steps") + "\\[", head, re.MULTILINE) is not None
            and re.search(r'"step_id"\s*:\s*\d', head) is not None
            and re.search(r'"source"\s*:\s*"(?:agent|user|system)"', head) is not None
        )

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """The sessions of ``path``: one per trajectory, then its embedded subagents."""
        check_not_binary(path)
        for count, (line, where, item) in enumerate(_documents(path, report, strict)):
            # The only trajectory of a file is named after the file alone.
            only = count == 0 and not where and line in (None, 1)
            place = _Place(path=path, report=report, line=line, where=where)
            yield from _trajectory(item, place=place, index=None if only else count, parent=None)


def _documents(
    path: Path, report: ImportReport, strict: bool
) -> Iterator[tuple[int | None, str, Any]]:
    """``(line, where, trajectory)`` in file order; ``where`` is ``[i]`` within a list.

    A document that is a list of trajectories is streamed (one in memory at a time); a single
    trajectory is read whole; JSONL is streamed line by line.
    """
    layout = json_layout(path)
    if layout.is_list:
        for index, item in iter_json_array(path):
            yield layout.list_line, f"[{index}]", item
        return
    documents: Iterator[tuple[int | None, Any]] = (
        iter_jsonl(path, report, strict) if layout.one_line else iter([(None, load_json(path))])
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


@dataclass(frozen=True)
class _Place:
    """Where a part of a trajectory is -- file, line (JSONL) and field path -- and the report
    its warnings go to."""

    path: Path
    report: ImportReport
    line: int | None
    where: str
    """Field path within the line or document: ``[2].steps[4].tool_calls[0]``; empty for the
    document itself."""

    def at(self, field: str) -> _Place:
        """The place of ``field`` within this one."""
        return replace(self, where=f"{self.where}.{field}" if self.where else field)

    def error(self, message: str) -> LogFormatError:
        return log_error(self.path, message, line=self.line, where=self.where)

    def warn(self, message: str) -> None:
        self.report.warn(self.path, message, line=self.line, where=self.where)

    def warn_orphan(self, call_id: str | None) -> None:
        self.report.warn_orphan(self.path, call_id, line=self.line, where=self.where)


class _SessionFacts(NamedTuple):
    """What a trajectory says about its session besides the messages and tools."""

    source: SourceInfo
    task: str
    env: EnvSpec
    meta: dict[str, Any]


# --------------------------------------------------------------------------- trajectories


def _trajectory(
    doc: Any, *, place: _Place, index: int | None, parent: str | None
) -> Iterator[Session]:
    """The session of one trajectory, then those of its subagents (``index`` numbers it in
    its file, None for the only one; ``parent`` is the id of the session that embeds it)."""
    if not isinstance(doc, dict):
        raise place.error("expected an ATIF trajectory object")
    steps = doc.get("steps")
    if not isinstance(steps, list):
        raise place.at("steps").error("'steps' must be a list")
    agent = as_object(doc.get("agent"))
    extra = dict(as_object(doc.get("extra")))
    ours = as_object(extra.pop(EXTRA_KEY, None))
    messages: list[Message] = []
    call_names: dict[str, str] = {}
    for position, step in enumerate(steps):
        step_place = place.at(f"steps[{position}]")
        messages.extend(_step(step, place=step_place, call_names=call_names))
    own_id = doc.get("session_id") or doc.get("trajectory_id")
    sid = session_id(place.path, index, own_id if isinstance(own_id, str | int) else None)
    if parent is not None and not doc.get("session_id"):
        sid = f"{parent}/{sid}"
    known = _known_tools(agent, ours)
    if ours:
        facts = _exported_facts(ours, messages, place)
    else:
        facts = _logged_facts(doc, agent, extra, messages, place.path, parent)
    yield Session(
        id=sid,
        source=facts.source,
        task=facts.task,
        env=facts.env,
        tools=infer_tool_specs(messages, known),
        messages=messages,
        meta=facts.meta,
    )
    subagents = doc.get("subagent_trajectories")
    if isinstance(subagents, list):
        for position, sub in enumerate(subagents):
            sub_place = place.at(f"subagent_trajectories[{position}]")
            yield from _trajectory(sub, place=sub_place, index=position, parent=sid)


def _known_tools(agent: dict[str, Any], ours: dict[str, Any]) -> list[ToolSpec]:
    """The agent's tool definitions; those our own export inferred are marked so again."""
    inferred = set(_str_list(ours.get("inferred_tools")))
    return [
        spec.model_copy(update={"inferred": True}) if spec.name in inferred else spec
        for spec in tool_specs_from_openai(agent.get("tool_definitions"))
    ]


def _exported_facts(ours: dict[str, Any], messages: list[Message], place: _Place) -> _SessionFacts:
    """The facts our own export saved under ``extra.understudy``."""
    saved_task = ours.get("task")
    return _SessionFacts(
        source=_source(ours.get("source"), place.path),
        task=saved_task if isinstance(saved_task, str) else first_user_text(messages),
        env=_env(ours.get("env"), place.at(f"extra.{EXTRA_KEY}.env")),
        meta=as_object(ours.get("meta")),
    )


def _logged_facts(
    doc: dict[str, Any],
    agent: dict[str, Any],
    extra: dict[str, Any],
    messages: list[Message],
    path: Path,
    parent: str | None,
) -> _SessionFacts:
    """The facts of a trajectory another writer logged: the agent, and in ``meta`` the root
    fields ATIF has and a session has not."""
    source = SourceInfo(
        format="atif",
        path=str(path),
        agent=as_text(agent.get("name")),
        model=as_text(agent.get("model_name")),
        version=as_text(agent.get("version")),
    )
    meta = {key: doc[key] for key in _LOGGED_META_KEYS if doc.get(key) is not None}
    if extra:
        meta["extra"] = extra
    if agent.get("extra"):
        meta["agent_extra"] = agent["extra"]
    if doc.get("trajectory_id") and doc.get("session_id"):
        meta["trajectory_id"] = doc["trajectory_id"]
    if parent is not None:
        meta["parent_session_id"] = parent
    return _SessionFacts(source=source, task=first_user_text(messages), env=EnvSpec(), meta=meta)


# --------------------------------------------------------------------------- steps


def _step(step: Any, *, place: _Place, call_names: dict[str, str]) -> list[Message]:
    """The messages of one step: its own (unless our export made it up), then the results of
    its observation. ``call_names`` gets the step's calls, and names the calls results answer."""
    if not isinstance(step, dict):
        raise place.error("expected a step object")
    role = _step_role(step, place)
    extra = dict(as_object(step.get("extra")))
    ours = as_object(extra.pop(EXTRA_KEY, None))
    timestamp = parse_timestamp(step.get("timestamp"))
    calls = _step_calls(step, as_list(ours.get("calls")), place)
    call_names.update((call.id, call.name) for call in calls)
    messages: list[Message] = []
    if not ours.get("synthetic"):
        messages.append(_step_message(step, role, extra, ours, calls, timestamp))
    saved_results = as_list(ours.get("results"))
    messages.extend(_observation(step, saved_results, timestamp, place, call_names))
    return messages


def _step_role(step: dict[str, Any], place: _Place) -> Role:
    source = step.get("source")
    role = _STEP_ROLES.get(source) if isinstance(source, str) else None
    if role is None:
        problem = f"source must be system, user or agent, got {str(source)[:40]!r}"
        raise place.at("source").error(problem)
    return role


def _step_calls(step: dict[str, Any], saved_calls: list[Any], place: _Place) -> list[ToolCall]:
    """The step's ``tool_calls``, with what our export saved of each (``saved_calls``)."""
    raw_calls = step.get("tool_calls")
    if raw_calls is not None and not isinstance(raw_calls, list):
        raise place.at("tool_calls").error("expected a list")
    calls: list[ToolCall] = []
    for position, raw in enumerate(raw_calls or []):
        call_place = place.at(f"tool_calls[{position}]")
        if not isinstance(raw, dict):
            raise call_place.error("expected a tool call object")
        saved = as_object(saved_calls[position]) if position < len(saved_calls) else {}
        calls.append(_step_call(raw, saved, call_place))
    return calls


def _step_call(raw: dict[str, Any], saved: dict[str, Any], place: _Place) -> ToolCall:
    call = make_tool_call(raw.get("tool_call_id"), raw.get("function_name"), raw.get("arguments"))
    if isinstance(saved.get("raw_arguments"), str):
        # Our export writes a call whose arguments did not parse with none, and saves the text.
        call = call.model_copy(update={"arguments": {}, "raw_arguments": saved["raw_arguments"]})
    if not call.id:
        call = call.model_copy(update={"id": place.where})
        place.warn("tool call without tool_call_id")
    return call


def _step_message(
    step: dict[str, Any],
    role: Role,
    extra: dict[str, Any],
    ours: dict[str, Any],
    calls: list[ToolCall],
    timestamp: datetime | None,
) -> Message:
    saved = as_object(ours.get("message"))
    # Our own exports saved the message meta; otherwise it is built from the step.
    meta = as_object(saved.get("meta")) if ours else _step_meta(step, extra)
    reasoning = step.get("reasoning_content")
    if not isinstance(reasoning, str):
        reasoning = saved.get("reasoning") if isinstance(saved.get("reasoning"), str) else None
    return Message(
        role=role,
        content=flatten_content(step.get("message")),
        reasoning=reasoning,
        tool_calls=calls,
        tool_call_id=as_text(saved.get("tool_call_id")),
        name=as_text(saved.get("name")),
        is_error=saved.get("is_error") is True,
        provenance=_provenance(saved.get("provenance")),
        timestamp=timestamp,
        meta=meta,
    )


def _observation(
    step: dict[str, Any],
    saved_results: list[Any],
    timestamp: datetime | None,
    place: _Place,
    call_names: dict[str, str],
) -> list[Message]:
    """A message for each result of the step's ``observation`` (none without one)."""
    observation = step.get("observation")
    if observation is None:
        return []
    results = as_object(observation).get("results") if isinstance(observation, dict) else None
    if not isinstance(results, list):
        raise place.at("observation.results").error("'results' must be a list")
    messages: list[Message] = []
    for position, result in enumerate(results):
        result_place = place.at(f"observation.results[{position}]")
        if not isinstance(result, dict):
            raise result_place.error("expected an observation result object")
        saved = as_object(saved_results[position]) if position < len(saved_results) else {}
        message = _result(result, saved, timestamp, call_names)
        if message.role == "tool" and message.tool_call_id not in call_names:
            result_place.at("source_call_id").warn_orphan(message.tool_call_id)
        messages.append(message)
    return messages


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
        instance_id=as_text(saved.get("instance_id")),
    )


def _env(value: Any, place: _Place) -> EnvSpec:
    if value is None:
        return EnvSpec()
    try:
        return EnvSpec.model_validate(value)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise place.at(field).error(first["msg"]) from None


def _provenance(value: Any) -> Provenance | None:
    try:
        return Provenance(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _str_list(value: Any) -> list[str]:
    return [item for item in as_list(value) if isinstance(item, str)]
