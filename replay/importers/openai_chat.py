"""Plain OpenAI chat logs: the ``messages`` list as sent to the Chat Completions API.

Accepted layouts (``.json`` or ``.jsonl``, decided by content, not by suffix):

* a JSON list of messages -- one session;
* a JSON list of conversations, each a list of messages or an object
  ``{"messages": [...], "tools": [...]}`` -- one session each, streamed (one conversation in
  memory at a time, :mod:`~understudy.replay.importers.stream`);
* a single object ``{"messages": [...], "tools": [...]}`` -- one session;
* JSONL with one conversation (a message list or such an object) per line -- one session per
  line, streamed;
* JSONL with one message object per line -- one session for the whole file.

A conversation object may also carry ``id``, ``model``, ``task``, ``env`` (an EnvSpec),
``metadata``/``meta``, and the legacy ``functions`` list; other keys are kept in the session's
``meta``. Messages follow the Chat Completions shapes: multi-part content is flattened
(images become ``[image]``), ``reasoning_content``/``reasoning`` becomes the reasoning,
``tool_calls`` become ToolCalls (arguments that are not a JSON object are kept raw), ``role:
"tool"`` results link by ``tool_call_id``, ``developer`` is a system message, and the legacy
``function_call`` / ``role: "function"`` pair is linked by a synthesized call id. An optional
sidecar ``<file>.env.json`` (``chat.env.json`` or ``chat.json.env.json`` beside ``chat.json``)
holds the EnvSpec of every session in the file that does not carry its own ``env``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from understudy.errors import LogFormatError, SchemaError
from understudy.jsonl import validate_document
from understudy.replay.importers import fast_json
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    check_not_binary,
    file_stem,
    first_line,
    first_user_text,
    flatten_content,
    function_tool_call,
    head_text,
    infer_tool_specs,
    iter_jsonl,
    load_json,
    log_error,
    parse_timestamp,
    session_id,
    tool_specs_from_openai,
)
from understudy.replay.importers.stream import iter_json_array, json_layout
from understudy.trajectory import (
    EnvSpec,
    Message,
    Provenance,
    Session,
    SourceInfo,
    ToolCall,
)

_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}
_KNOWN_MESSAGE_KEYS = frozenset(
    {
        "role",
        "content",
        "name",
        "tool_calls",
        "tool_call_id",
        "function_call",
        "reasoning",
        "reasoning_content",
        "thinking",
        "timestamp",
        "created_at",
        "is_error",
        "refusal",
        "meta",
        "audio",
        "annotations",
    }
)
_REASONING_KEYS_IN_ORDER = ("reasoning_content", "reasoning", "thinking")
_REASONING_KEYS = frozenset(_REASONING_KEYS_IN_ORDER)
_KNOWN_CONVERSATION_KEYS = frozenset(
    {"messages", "tools", "functions", "id", "model", "task", "env", "metadata", "meta"}
)
_ROLE_IN_HEAD = re.compile(r'"role"\s*:\s*"(?:system|developer|user|assistant|tool|function)"')
_LIST_HEAD = re.compile(r"^\s*\[\s*(?:\[\s*)?\{")


class OpenAIChatImporter:
    """Chat Completions message lists (JSON or JSONL), with an optional env sidecar."""

    name = "openai"

    def detect(self, path: Path) -> bool:
        """A message list, a list of them, or ``{"messages": [...]}`` objects."""
        if path.name.endswith(".env.json"):
            return False
        head = head_text(path).lstrip()
        if not head:
            return False
        first = first_line(head)
        try:
            value = fast_json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            try:  # a small pretty-printed file fits in the window whole
                value = fast_json.loads(head)
            except (json.JSONDecodeError, RecursionError):
                value = None
        if value is not None:
            return _looks_like_chat(value)
        # Too long to parse in the detection window: judge from the visible start.
        if not _ROLE_IN_HEAD.search(head):
            return False
        if _LIST_HEAD.match(head):
            return True
        return head.startswith("{") and re.search(r'"messages"\s*:\s*\[', head) is not None

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """The sessions of ``path`` (streamed for JSONL and JSON lists of conversations)."""
        check_not_binary(path)
        sidecar = _sidecar_env(path)
        layout = json_layout(path)
        if layout.is_list:
            yield from _load_list(path, report, strict, sidecar, layout.list_line)
            return
        if not layout.one_line:
            value = load_json(path)
            for index, conversation in _conversations(value, path, None):
                where = "" if index is None else f"[{index}]"
                yield _session(conversation, path, index, where, sidecar, report, strict, None)
            return
        lines = iter_jsonl(path, report, strict=strict)
        first = next(lines, None)
        second = next(lines, None)
        if first is None:
            return
        if second is None and not _is_loose_message(first[1]):
            # One line holding a whole document: the same ids as its pretty-printed form.
            number, value = first
            for index, conversation in _conversations(value, path, number):
                where = "" if index is None else f"[{index}]"
                yield _session(conversation, path, index, where, sidecar, report, strict, number)
            return
        head = [first] if second is None else [first, second]
        yield from _load_lines(path, report, strict, sidecar, itertools.chain(head, lines))


def _load_list(
    path: Path, report: ImportReport, strict: bool, sidecar: EnvSpec | None, line: int | None
) -> Iterator[Session]:
    """A document that is a JSON list: of conversations (streamed), or of messages (one
    conversation, read whole). ``line`` is 1 for a document on one line, for messages."""
    entries = iter_json_array(path)
    first = next(entries, None)
    if first is not None and not _is_conversation(first[1]):
        entries.close()  # a list of messages is one session: it is held whole anyway
        for index, conversation in _conversations(load_json(path), path, line):
            where = "" if index is None else f"[{index}]"
            yield _session(conversation, path, index, where, sidecar, report, strict, line)
        return
    if first is None:  # an empty list: one empty conversation, as _conversations has it
        yield _session([], path, None, "", sidecar, report, strict, line)
        return
    for index, item in itertools.chain([first], entries):
        if not isinstance(item, list | dict):
            raise log_error(
                path, f"expected a conversation, got {_kind(item)}", line=line, where=f"[{index}]"
            )
        yield _session(item, path, index, f"[{index}]", sidecar, report, strict, line)


def _is_conversation(value: Any) -> bool:
    """A list of messages, or a conversation object -- not a single message."""
    return isinstance(value, list) or (isinstance(value, dict) and "messages" in value)


def _load_lines(
    path: Path,
    report: ImportReport,
    strict: bool,
    sidecar: EnvSpec | None,
    lines: Iterator[tuple[int, Any]],
) -> Iterator[Session]:
    """JSONL: one conversation per line (numbered from 0), or one message per line."""
    loose: list[Any] = []  # one message per line: the whole file is one conversation
    count = 0
    for number, value in lines:
        if _is_loose_message(value):
            if count:
                raise log_error(path, "a single message after conversation lines", line=number)
            loose.append(value)
            continue
        if loose:
            raise log_error(
                path, "a conversation line after lines holding single messages", line=number
            )
        for offset, conversation in _conversations(value, path, number):
            where = "" if offset is None else f"[{offset}]"
            yield _session(conversation, path, count, where, sidecar, report, strict, number)
            count += 1
    if loose:
        yield _session(loose, path, None, "", sidecar, report, strict, None)


def _is_loose_message(value: Any) -> bool:
    return isinstance(value, dict) and "role" in value and "messages" not in value


def _looks_like_chat(value: Any) -> bool:
    if isinstance(value, dict):
        if "messages" in value:
            return _is_message_list(value["messages"], allow_empty=True)
        return _is_message(value)
    if isinstance(value, list) and value:
        first = value[0]
        if isinstance(first, list):
            return _is_message_list(first, allow_empty=False)
        if isinstance(first, dict) and "messages" in first:
            return _is_message_list(first["messages"], allow_empty=True)
        return _is_message_list(value, allow_empty=False)
    return False


def _is_message(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    role = value.get("role")
    return isinstance(role, str) and role in _ROLES


def _is_message_list(value: Any, allow_empty: bool) -> bool:
    if not isinstance(value, list):
        return False
    if not value:
        return allow_empty
    # The first message must have a known role; later ones only need a role (an unknown one
    # is reported at import rather than making the whole file unrecognizable).
    return _is_message(value[0]) and all(
        isinstance(item, dict) and "role" in item for item in value[1:3]
    )


def _conversations(value: Any, path: Path, line: int | None) -> Iterator[tuple[int | None, Any]]:
    """(index within the value, conversation) for each conversation a top-level value holds.

    The index is None when the value is a single conversation.
    """
    if isinstance(value, dict):
        if "messages" not in value:
            raise log_error(path, "expected a conversation object with 'messages'", line=line)
        yield None, value
        return
    if not isinstance(value, list):
        raise log_error(
            path, f"expected a list of messages or conversations, got {_kind(value)}", line=line
        )
    if not value or all(isinstance(item, dict) and "messages" not in item for item in value):
        yield None, value
        return
    for index, item in enumerate(value):
        if not isinstance(item, list | dict):
            raise log_error(
                path, f"expected a conversation, got {_kind(item)}", line=line, where=f"[{index}]"
            )
        yield index, item


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def _sidecar_env(path: Path) -> EnvSpec | None:
    candidates = [
        path.with_name(path.name + ".env.json"),
        path.with_name(file_stem(path) + ".env.json"),
    ]
    for candidate in candidates:
        if candidate.is_file():
            return _env(load_json(candidate), str(candidate))
    return None


def _env(value: Any, where: str) -> EnvSpec:
    try:
        return validate_document(value, EnvSpec, where)
    except SchemaError as exc:
        raise LogFormatError("\n".join(exc.problems[:20])) from None


class _Links:
    """Call ids of one conversation: synthesized ids, legacy function_call pairing."""

    def __init__(self) -> None:
        self.count = 0
        self.pending_function: list[ToolCall] = []
        self.names: dict[str, str] = {}

    def new_id(self) -> str:
        self.count += 1
        return f"call_{self.count}"


def _session(
    conversation: Any,
    path: Path,
    index: int | None,
    where_prefix: str,
    sidecar: EnvSpec | None,
    report: ImportReport,
    strict: bool,
    line: int | None,
) -> Session:
    """One conversation as a Session; ``index`` numbers it in its file (None: the only one)."""
    if isinstance(conversation, dict):
        messages_raw = conversation.get("messages")
        extra = conversation
        msg_where = f"{where_prefix}.messages" if where_prefix else "messages"
    else:
        messages_raw = conversation
        extra = {}
        msg_where = where_prefix
    if not isinstance(messages_raw, list):
        raise log_error(path, "'messages' must be a list", line=line, where=msg_where or None)
    links = _Links()
    messages: list[Message] = []
    for position, raw in enumerate(messages_raw):
        where = f"{msg_where}[{position}]"
        message = _message(raw, path, line, where, links, report, strict)
        if message is not None:
            messages.append(message)
    known = tool_specs_from_openai(extra.get("tools")) + tool_specs_from_openai(
        extra.get("functions")
    )
    model = extra.get("model")
    if not isinstance(model, str):
        model = next(
            (m.meta["model"] for m in messages if isinstance(m.meta.get("model"), str)), None
        )
    env = sidecar or EnvSpec()
    if "env" in extra and extra["env"] is not None:
        env = _env(extra["env"], f"{path}" + (f":{line}" if line else "") + f": {where_prefix}env")
    meta = {key: value for key, value in extra.items() if key not in _KNOWN_CONVERSATION_KEYS}
    for key in ("metadata", "meta"):
        if isinstance(extra.get(key), dict):
            meta.update(extra[key])
    task = extra.get("task")
    own_id = extra.get("id")
    return Session(
        id=session_id(path, index, own_id if isinstance(own_id, str | int) else None),
        source=SourceInfo(format="openai", path=str(path), model=model),
        task=task if isinstance(task, str) else first_user_text(messages),
        env=env,
        tools=infer_tool_specs(messages, known),
        messages=messages,
        meta=meta,
    )


def _message(
    raw: Any,
    path: Path,
    line: int | None,
    where: str,
    links: _Links,
    report: ImportReport,
    strict: bool,
) -> Message | None:
    if not isinstance(raw, dict):
        raise log_error(
            path, f"expected a message object, got {_kind(raw)}", line=line, where=where
        )
    role = raw.get("role")
    mapped = _ROLES.get(role) if isinstance(role, str) else None
    if mapped is None:
        problem = f"unknown role {json.dumps(role)[:40]}; message skipped"
        if strict:
            raise log_error(path, problem, line=line, where=f"{where}.role")
        report.warn(path, problem, line=line, where=f"{where}.role")
        return None
    meta: dict[str, Any] = {
        key: value for key, value in raw.items() if key not in _KNOWN_MESSAGE_KEYS
    }
    if isinstance(raw.get("meta"), dict):
        meta.update(raw["meta"])
    if role != mapped:
        meta["original_role"] = role
    content_raw = raw.get("content")
    reasoning = _reasoning(raw, content_raw)
    content = flatten_content(content_raw)
    if isinstance(raw.get("refusal"), str) and raw["refusal"]:
        meta["refusal"] = raw["refusal"]
        content = content or raw["refusal"]
    timestamp = parse_timestamp(raw.get("timestamp", raw.get("created_at")))
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    # Only the fields that differ from their defaults: the fewer, the faster (a log has a
    # message for every turn and every tool result).
    if mapped == "tool":
        fields = _result_fields(raw, name, path, line, where, links, report)
    else:
        fields = {"role": mapped}
        if name is not None:
            fields["name"] = name
        if reasoning is not None:
            fields["reasoning"] = reasoning
        if mapped == "assistant":
            calls = _tool_calls(raw, path, line, where, links)
            if calls:
                links.names.update((call.id, call.name) for call in calls)
                fields["tool_calls"] = calls
    fields["content"] = content
    if timestamp is not None:
        fields["timestamp"] = timestamp
    if meta:
        fields["meta"] = meta
    return Message.from_fields(fields)


def _result_fields(
    raw: dict[str, Any],
    name: str | None,
    path: Path,
    line: int | None,
    where: str,
    links: _Links,
    report: ImportReport,
) -> dict[str, Any]:
    """A tool result's own fields: the call it answers (a legacy function result, which names
    none, answers the oldest call pending) and the tool's name; an orphan is warned about."""
    call_id = raw.get("tool_call_id")
    if not isinstance(call_id, str | int) or isinstance(call_id, bool):
        call_id = None
    if call_id is None and links.pending_function:
        call = links.pending_function.pop(0)
        call_id = call.id
        name = name or call.name
    if call_id is not None:
        name = name or links.names.get(str(call_id))
    if call_id is None or str(call_id) not in links.names:
        report.warn_orphan(
            path,
            None if call_id is None else str(call_id),
            line=line,
            where=f"{where}.tool_call_id",
        )
    fields: dict[str, Any] = {"role": "tool", "provenance": Provenance.RECORDED}
    if call_id is not None:
        fields["tool_call_id"] = str(call_id)
    if name is not None:
        fields["name"] = name
    if raw.get("is_error") is True:
        fields["is_error"] = True
    return fields


def _reasoning(raw: dict[str, Any], content: Any) -> str | None:
    # Most messages have no reasoning key: one set operation instead of three lookups.
    for key in () if _REASONING_KEYS.isdisjoint(raw) else _REASONING_KEYS_IN_ORDER:
        value = raw.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict | list):
            text = flatten_content(value)
            if text:
                return text
    if isinstance(content, list):
        parts = [
            str(part.get("thinking") or part.get("text") or "")
            for part in content
            if isinstance(part, dict) and part.get("type") in ("thinking", "reasoning")
        ]
        text = "\n".join(p for p in parts if p)
        if text:
            return text
    return None


def _tool_calls(
    raw: dict[str, Any], path: Path, line: int | None, where: str, links: _Links
) -> list[ToolCall]:
    """The calls of an assistant message: its ``tool_calls`` (each entry with its ``function``
    nested or flat; an entry or list of another type is an error) and a legacy
    ``function_call``. Ids the log lacks are synthesized."""
    calls: list[ToolCall] = []
    raw_calls = raw.get("tool_calls")
    if raw_calls is not None and not isinstance(raw_calls, list):
        raise log_error(path, "expected a list", line=line, where=f"{where}.tool_calls")
    for position, item in enumerate(raw_calls or []):
        if not isinstance(item, dict):
            raise log_error(
                path,
                "expected a tool call object",
                line=line,
                where=f"{where}.tool_calls[{position}]",
            )
        nested = item.get("function")
        function: dict[str, Any] = nested if isinstance(nested, dict) else item
        call_id = item.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = links.new_id()
        calls.append(function_tool_call(call_id, function))
    legacy = raw.get("function_call")
    if isinstance(legacy, dict):
        call = function_tool_call(links.new_id(), legacy)
        calls.append(call)
        links.pending_function.append(call)
    return calls
