"""OpenAI Codex CLI rollout logs (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``); the output of
``codex exec --json`` that harnesses record is read by :mod:`~understudy.replay.importers
.codex_exec` as the same format.

One ``{timestamp, type, payload}`` object per line:

* ``session_meta``: ``id``, ``cwd``, ``cli_version``, ``originator``, ``instructions`` and
  ``git{commit_hash, branch, repository_url}`` -> session id, ``env.workdir``, ``env.repo``,
  ``source.version``;
* ``turn_context``: ``model`` (-> ``source.model`` and ``meta.model`` of the assistant messages
  that follow), ``cwd``, approval and sandbox policy (-> ``meta.turn_context``, first one);
* ``response_item``: what went to and came from the model -- ``message`` (role + content parts),
  ``reasoning``, ``function_call``, ``function_call_output``, and the rarer
  ``custom_tool_call``/``custom_tool_call_output``, ``local_shell_call``, ``web_search_call``;
  ``ghost_snapshot`` (0.58 on: a git commit of the working tree that Codex keeps to undo with,
  nothing the model saw) is passed over without a warning;
* ``event_msg``: UI events that repeat the messages (ignored) and ``token_count`` (usage);
* ``compacted``: a summary that replaced the history.

Mapping decisions:

* One assistant :class:`Message` per model response: the reasoning, text and tool calls the
  API returned together. ``reasoning`` items (summary, or content when present; encrypted
  content is dropped) become the ``reasoning`` of the next assistant message. Function calls
  that follow each other (only their outputs in between: parallel calls) are merged into one
  message; a ``token_count``, ``turn_context``, reasoning or message starts a new response.
* ``function_call.arguments`` is a JSON string: parsed, kept in ``raw_arguments`` when it is
  not a JSON object. ``custom_tool_call.input`` (free text, e.g. ``apply_patch``) becomes
  ``arguments={"input": ...}``; ``local_shell_call.action`` becomes the arguments of a
  ``local_shell`` call; ``web_search_call.action`` those of a ``web_search`` call (no result).
* ``function_call_output.output`` is a JSON string ``{"output", "metadata": {"exit_code",
  "duration_seconds"}}`` -> content, ``meta.exit_code``, ``meta.duration_s``; a plain string
  (sandbox failure, rejection, newer "Exit code: N / Wall time: S seconds / Output:" text) is
  kept as content, with exit code and duration read from such a header when present.
  ``is_error`` is set for a non-zero exit code and for outputs that report a failure
  (``success: false``, "failed in sandbox", "rejected by user", "aborted").
* ``token_count`` events: ``last_token_usage`` -> ``meta.usage`` of the assistant message of
  that response (the event may come before or after the response's items, depending on the
  Codex version); the last ``total_token_usage`` -> session ``meta.usage``.
* Developer messages become ``role="system"`` with ``meta.original_role``; they and user
  messages that carry harness context (``<user_instructions>``, ``<environment_context>``,
  ``# AGENTS.md instructions``, ...) are kept with ``meta.injected = True``. ``compacted``
  summaries become injected user messages (``meta.compacted``).
* Tool specs are not in the log: inferred from the calls (``inferred=True``).
* Legacy rollouts (no ``payload`` envelope: a first line with ``id``/``timestamp``, then bare
  response items and ``record_type: state`` lines) are read the same way.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from understudy.replay.importers import fast_json
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.codex_exec import is_exec_event, load_exec_events
from understudy.replay.importers.common import (
    ResultLinks,
    check_not_binary,
    feed_jsonl,
    flatten_content,
    function_tool_call,
    infer_tool_specs,
    json_type_name,
    log_error,
    parse_timestamp,
    peek_jsonl,
    session_id,
    tool_result,
)
from understudy.trajectory import EnvSpec, Message, RepoSpec, Session, SourceInfo, ToolCall

__all__ = ["CodexImporter", "parse_function_output"]

FORMAT = "codex"

_ENVELOPE_TYPES = frozenset(
    {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}
)
_ITEM_TYPES = frozenset(
    {
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
        "web_search_call",
    }
)
_SNAPSHOT_ITEM_TYPES = frozenset({"ghost_snapshot"})
"""Response items that record the working tree for Codex's undo, not the conversation."""
_INJECTED_PREFIXES = (
    "<user_instructions>",
    "<environment_context>",
    "<INSTRUCTIONS>",
    "# AGENTS.md instructions",
    "<user_shell_command>",
    "<turn_aborted>",
)
_FAILURE_PREFIXES = (
    "failed in sandbox",
    "exec command rejected",
    "rejected by user",
    "aborted",
    "error:",
    "execution error",
    "apply_patch verification failed",
)
_HEADER_LINE = re.compile(
    r"^(?:Exit code: (?P<exit>-?\d+)"
    r"|Process exited with code (?P<exit2>-?\d+)"
    r"|Wall time: (?P<wall>[\d.]+) seconds?"
    r"|Total output lines: \d+"
    r"|Chunk ID: \S+"
    r"|Original token count: \d+"
    r"|Process running with session ID \S+)$"
)


class CodexImporter:
    """Reads Codex CLI rollout JSONL files."""

    name = FORMAT

    def detect(self, path: Path) -> bool:
        """True when the first lines are rollout envelopes (or a legacy rollout header), or
        events of ``codex exec --json``."""
        values = peek_jsonl(path, count=2)
        if not values or not isinstance(values[0], dict):
            return False
        first = values[0]
        if is_exec_event(first):
            return True
        kind = first.get("type")
        if "payload" in first and kind in _ENVELOPE_TYPES:
            return isinstance(first["payload"], dict) and "timestamp" in first
        if kind is None and "id" in first and "timestamp" in first and "source" not in first:
            second = values[1] if len(values) > 1 else None
            return isinstance(second, dict) and (
                second.get("type") in _ITEM_TYPES or "record_type" in second
            )
        return False

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """The one session of a rollout file (or of ``codex exec --json`` output)."""
        check_not_binary(path)
        if is_exec_event(next(iter(peek_jsonl(path, count=1)), None)):
            yield from load_exec_events(path, report, strict, FORMAT)
            return
        reader = _Reader(path, report)
        feed_jsonl(path, report, strict, reader.feed)
        session = reader.session()
        if session is not None:
            yield session


def parse_function_output(output: Any) -> tuple[str, dict[str, Any], bool]:
    """``(content, meta, is_error)`` of a ``function_call_output.output``.

    A JSON string ``{"output": ..., "metadata": {"exit_code", "duration_seconds"}}`` gives the
    output text and ``exit_code``/``duration_s``; a plain string is the content itself, with
    ``exit_code``/``duration_s`` read from an ``Exit code:``/``Wall time:`` header when present.
    Newer logs may hold an object ``{"content", "success"}`` or a list of content parts.
    """
    meta: dict[str, Any] = {}
    success: Any = None
    if isinstance(output, dict):
        success = output.get("success")
        output = output.get("content", output.get("output", ""))
    if isinstance(output, list):
        return flatten_content(output), meta, success is False
    if not isinstance(output, str):
        return flatten_content(output), meta, success is False
    parsed: Any = None
    if output.lstrip().startswith("{"):
        try:
            parsed = fast_json.loads(output)
        except (json.JSONDecodeError, RecursionError):
            parsed = None
    if isinstance(parsed, dict) and "output" in parsed:
        content = parsed["output"]
        content = content if isinstance(content, str) else flatten_content(content)
        metadata = parsed.get("metadata")
        if isinstance(metadata, dict):
            exit_code = metadata.get("exit_code")
            if isinstance(exit_code, int) and not isinstance(exit_code, bool):
                meta["exit_code"] = exit_code
            duration = metadata.get("duration_seconds")
            if isinstance(duration, int | float) and not isinstance(duration, bool):
                meta["duration_s"] = float(duration)
        meta["output_format"] = "json"
    else:
        content = _strip_header(output, meta)
        meta["output_format"] = "text"
        if "exit_code" not in meta and output.strip().lower().startswith(_FAILURE_PREFIXES):
            success = False
    exit_code = meta.get("exit_code")
    is_error = success is False or (isinstance(exit_code, int) and exit_code != 0)
    return content, meta, is_error


def _strip_header(text: str, meta: dict[str, Any]) -> str:
    """Read an ``Exit code: / Wall time: / Output:`` header off ``text`` into ``meta``."""
    lines = text.split("\n")
    found: dict[str, Any] = {}
    for index, line in enumerate(lines[:8]):
        if line == "Output:":
            if not found:
                return text
            if "exit" in found:
                meta["exit_code"] = found["exit"]
            if "wall" in found:
                meta["duration_s"] = found["wall"]
            return "\n".join(lines[index + 1 :])
        match = _HEADER_LINE.match(line)
        if not match:
            return text
        exit_text = match.group("exit") or match.group("exit2")
        if exit_text is not None:
            found["exit"] = int(exit_text)
        if match.group("wall") is not None:
            with contextlib.suppress(ValueError):
                found["wall"] = float(match.group("wall"))
    return text


class _Reader:
    """Feeds on the lines of one rollout and assembles its session."""

    def __init__(self, path: Path, report: ImportReport) -> None:
        self.path = path
        self.report = report
        self.links = ResultLinks(
            report, path, without_id="tool output without a call_id", result_noun="output"
        )
        self.messages: list[Message] = []
        self.session_meta: dict[str, Any] | None = None
        self.other_session_ids: list[str] = []
        self.turn_context: dict[str, Any] | None = None
        self.model: str | None = None
        self.models: list[str] = []
        self.current: Message | None = None
        self.calls_joinable = False
        self.text_joinable = False
        self.pending_reasoning: list[str] = []
        self.pending_usage: dict[str, Any] | None = None
        self.total_usage: dict[str, Any] | None = None
        self.call_names: dict[str, str] = {}
        self.events: dict[str, int] = {}
        self.ignored: dict[str, int] = {}
        self.dropped_reasoning = 0
        self.warned: set[str] = set()
        self.web_searches = 0

    # ------------------------------------------------------------------ lines

    def feed(self, number: int, value: Any) -> None:
        if not isinstance(value, dict):
            raise log_error(
                self.path, f"expected a JSON object, got {json_type_name(value)}", line=number
            )
        kind = value.get("type")
        timestamp = value.get("timestamp")
        if "payload" in value:
            payload = value["payload"]
            if not isinstance(payload, dict):
                raise log_error(
                    self.path,
                    f"expected an object, got {json_type_name(payload)}",
                    line=number,
                    where="payload",
                )
        elif "record_type" in value:
            self._ignore(str(value.get("record_type")))
            return
        elif kind in _ITEM_TYPES:
            kind, payload = "response_item", value
        elif kind is None and number == 1 and "id" in value:
            kind, payload = "session_meta", value
        else:
            self._unknown(number, kind, "type")
            return
        where = "payload"
        if kind == "session_meta":
            self._session_meta(payload)
        elif kind == "turn_context":
            self._turn_context(payload)
        elif kind == "response_item":
            self._item(number, payload, parse_timestamp(timestamp), where)
        elif kind == "event_msg":
            self._event(payload)
        elif kind == "compacted":
            self._close()
            summary = payload.get("message")
            self.messages.append(
                Message(
                    role="user",
                    content=summary if isinstance(summary, str) else flatten_content(summary),
                    timestamp=parse_timestamp(timestamp),
                    meta={"injected": True, "compacted": True},
                )
            )
        else:
            self._unknown(number, kind, "type")

    def _unknown(self, number: int, kind: Any, where: str) -> None:
        label = kind if isinstance(kind, str) else json_type_name(kind)
        self._ignore(label)
        if label not in self.warned:
            self.warned.add(label)
            self.report.warn(self.path, f"unknown line type {label!r} ignored", number, where)

    def _ignore(self, label: str) -> None:
        self.ignored[label] = self.ignored.get(label, 0) + 1

    def _session_meta(self, payload: dict[str, Any]) -> None:
        body = payload.get("meta") if isinstance(payload.get("meta"), dict) else payload
        assert isinstance(body, dict)
        if self.session_meta is None:
            self.session_meta = dict(body)
            if "git" not in body and isinstance(payload.get("git"), dict):
                self.session_meta["git"] = payload["git"]
            base = body.get("base_instructions")
            text = base.get("text") if isinstance(base, dict) else base
            if isinstance(text, str) and text.strip():
                self.messages.append(
                    Message(
                        role="system",
                        content=text,
                        meta={"injected": True, "source": "base_instructions"},
                    )
                )
        else:
            other = body.get("id")
            if isinstance(other, str) and other not in self.other_session_ids:
                self.other_session_ids.append(other)

    def _turn_context(self, payload: dict[str, Any]) -> None:
        self._separate()
        if self.turn_context is None:
            self.turn_context = {
                key: payload[key]
                for key in ("cwd", "approval_policy", "sandbox_policy", "model", "effort")
                if key in payload
            }
        model = payload.get("model")
        if isinstance(model, str) and model:
            self.model = model
            if model not in self.models:
                self.models.append(model)

    def _event(self, payload: dict[str, Any]) -> None:
        kind = payload.get("type")
        label = kind if isinstance(kind, str) else json_type_name(kind)
        self.events[label] = self.events.get(label, 0) + 1
        if kind != "token_count":
            return
        info = payload.get("info") if "info" in payload else payload
        if not isinstance(info, dict):
            return
        last = info.get("last_token_usage")
        total = info.get("total_token_usage")
        if not isinstance(last, dict) and "input_tokens" in info:
            last = {k: v for k, v in info.items() if isinstance(v, int | float)}
        if isinstance(total, dict):
            self.total_usage = total
        if isinstance(last, dict):
            current = self.current
            if current is not None and "usage" not in current.meta:
                current.meta["usage"] = last
            else:
                self.pending_usage = last
        self._separate()

    # ------------------------------------------------------------------ response items

    def _item(self, number: int, item: dict[str, Any], timestamp: Any, where: str) -> None:
        kind = item.get("type")
        if kind == "message":
            self._message(number, item, timestamp)
        elif kind == "reasoning":
            self._reasoning(item)
        elif kind in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call"):
            self._call(number, item, timestamp)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            self._output(number, item, timestamp)
        elif kind in _SNAPSHOT_ITEM_TYPES:
            self._ignore(f"response_item:{kind}")
        else:
            self._unknown(number, f"response_item:{kind}", f"{where}.type")

    def _message(self, number: int, item: dict[str, Any], timestamp: Any) -> None:
        role = item.get("role")
        content = item.get("content")
        if content is not None and not isinstance(content, str | list):
            raise log_error(
                self.path,
                f"expected a list of content parts, got {json_type_name(content)}",
                line=number,
                where="payload.content",
            )
        text = flatten_content(content)
        if role == "assistant":
            message = self._assistant(timestamp, for_text=True)
            message.content = "\n".join(filter(None, [message.content, text]))
            self.text_joinable = True
            return
        self._close()
        if role in ("developer", "system"):
            self.messages.append(
                Message(
                    role="system",
                    content=text,
                    timestamp=timestamp,
                    meta={"injected": True, "original_role": role},
                )
            )
            return
        if role != "user":
            self.report.warn(
                self.path,
                f"message with role {role!r} kept as a user message",
                number,
                "payload.role",
            )
        meta: dict[str, Any] = {}
        if text.lstrip().startswith(_INJECTED_PREFIXES):
            meta["injected"] = True
        if role not in ("user", None):
            meta["original_role"] = role
        self.messages.append(Message(role="user", content=text, timestamp=timestamp, meta=meta))

    def _reasoning(self, item: dict[str, Any]) -> None:
        current = self.current
        if current is not None and (current.content or current.tool_calls):
            self.current = None
        self._separate()
        texts = [_part_texts(item.get("content")), _part_texts(item.get("summary"))]
        text = texts[0] or texts[1]
        if text:
            self.pending_reasoning.append(text)

    def _call(self, number: int, item: dict[str, Any], timestamp: Any) -> None:
        kind = item.get("type")
        call_id = item.get("call_id", item.get("id"))
        if not isinstance(call_id, str) or not call_id:
            if kind == "web_search_call":
                self.web_searches += 1
                call_id = f"web_search_{self.web_searches}"
            else:
                call_id = f"call_line{number}"
                self.report.warn(
                    self.path,
                    f"{kind} without a call_id; using {call_id}",
                    number,
                    "payload.call_id",
                )
        call: ToolCall
        if kind == "function_call":
            call = function_tool_call(call_id, item)
        elif kind == "custom_tool_call":
            raw = item.get("input")
            call = ToolCall(
                id=call_id,
                name=str(item.get("name") or ""),
                arguments={"input": raw if isinstance(raw, str) else flatten_content(raw)},
            )
        elif kind == "local_shell_call":
            action = item.get("action")
            arguments = (
                {k: v for k, v in action.items() if k != "type"} if isinstance(action, dict) else {}
            )
            call = ToolCall(id=call_id, name="local_shell", arguments=arguments)
        else:
            action = item.get("action")
            call = ToolCall(
                id=call_id,
                name="web_search",
                arguments=dict(action) if isinstance(action, dict) else {},
            )
        if not call.name:
            self.report.warn(self.path, "tool call without a name", number, "payload.name")
        message = self._assistant(timestamp, for_text=False)
        message.tool_calls.append(call)
        self.call_names[call.id] = call.name
        self.calls_joinable = True
        self.text_joinable = True

    def _output(self, number: int, item: dict[str, Any], timestamp: Any) -> None:
        call_id, name = self.links.call_of(
            item.get("call_id"), self.call_names, number, "payload.call_id"
        )
        content, meta, is_error = parse_function_output(item.get("output"))
        self.messages.append(
            tool_result(
                call_id, content, name=name, is_error=is_error, timestamp=timestamp, meta=meta
            )
        )
        self.text_joinable = False

    # ------------------------------------------------------------------ assembling

    def _assistant(self, timestamp: Any, for_text: bool) -> Message:
        """The open assistant message, or a new one for a new response."""
        current = self.current
        joinable = self.text_joinable if for_text else self.calls_joinable
        if current is not None and joinable:
            return current
        message = Message(role="assistant", timestamp=timestamp, meta={})
        if self.pending_reasoning:
            message.reasoning = "\n\n".join(self.pending_reasoning)
            self.pending_reasoning = []
        if self.pending_usage is not None:
            message.meta["usage"] = self.pending_usage
            self.pending_usage = None
        if self.model:
            message.meta["model"] = self.model
        self.messages.append(message)
        self.current = message
        self.calls_joinable = True
        self.text_joinable = True
        return message

    def _separate(self) -> None:
        """A new model response may start: nothing joins the open message any more."""
        self.calls_joinable = False
        self.text_joinable = False

    def _close(self) -> None:
        self._separate()
        self.current = None
        if self.pending_reasoning:
            self.dropped_reasoning += len(self.pending_reasoning)
            self.pending_reasoning = []

    def session(self) -> Session | None:
        self._close()
        if not self.messages:
            self.report.warn(self.path, "no conversation items; nothing imported")
            return None
        meta_line = self.session_meta or {}
        own_id = meta_line.get("id")
        env = EnvSpec()
        cwd = meta_line.get("cwd")
        if not (isinstance(cwd, str) and cwd) and self.turn_context:
            cwd = self.turn_context.get("cwd")
        if isinstance(cwd, str) and cwd:
            env.workdir = cwd
        git = meta_line.get("git")
        if isinstance(git, dict):
            repo = RepoSpec(
                url=_str_or_none(git.get("repository_url")),
                commit=_str_or_none(git.get("commit_hash")),
                branch=_str_or_none(git.get("branch")),
            )
            if repo.url or repo.commit or repo.branch:
                env.repo = repo
        meta: dict[str, Any] = {}
        for key in ("originator", "instructions", "timestamp", "source", "model_provider"):
            value = meta_line.get(key)
            if value not in (None, ""):
                meta[key] = value
        if self.turn_context:
            meta["turn_context"] = self.turn_context
        if len(self.models) > 1:
            meta["models"] = list(self.models)
        if self.total_usage is not None:
            meta["usage"] = self.total_usage
        if self.other_session_ids:
            meta["other_session_ids"] = list(self.other_session_ids)
        if self.events:
            meta["events"] = dict(self.events)
        if self.ignored:
            meta["ignored_lines"] = dict(self.ignored)
        if self.dropped_reasoning:
            meta["reasoning_without_reply"] = self.dropped_reasoning
        if self.pending_usage is not None:
            meta["usage_without_reply"] = self.pending_usage
        task = next(
            (
                m.content
                for m in self.messages
                if m.role == "user" and m.content.strip() and not m.meta.get("injected")
            ),
            "",
        )
        version = meta_line.get("cli_version")
        return Session(
            id=session_id(self.path, own_id=own_id),
            source=SourceInfo(
                format=FORMAT,
                path=str(self.path),
                agent="codex",
                model=self.models[0] if self.models else None,
                version=version if isinstance(version, str) else None,
            ),
            task=task,
            env=env,
            tools=infer_tool_specs(self.messages),
            messages=self.messages,
            meta=meta,
        )


def _part_texts(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        return ""
    texts = [
        part["text"]
        for part in parts
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
    ]
    return "\n\n".join(texts)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
