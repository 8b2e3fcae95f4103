"""Claude Code session logs (``~/.claude/projects/<project>/<session>.jsonl``).

One JSON object per line. Conversation lines are ``type: "user"`` or ``type: "assistant"`` and
carry ``message`` (an Anthropic API message, usually holding ONE content block), ``uuid``,
``parentUuid``, ``sessionId``, ``cwd``, ``gitBranch``, ``version``, ``timestamp``,
``isSidechain`` and sometimes ``isMeta``. Other line types (``summary``,
``file-history-snapshot``, ``queue-operation``, ``system``) are not part of the conversation.

Mapping decisions:

* Assistant lines that share ``message.id`` are one API message and become ONE
  :class:`Message`: text blocks concatenated (``"\\n"``), ``tool_use`` blocks as tool calls in
  order, ``thinking`` blocks as ``reasoning``. Usage is taken once per ``message.id`` (the last
  line's copy; the copies repeat, they are not increments) into ``meta.usage``; the session's
  ``meta.usage`` sums the distinct messages. ``meta.model``, ``meta.message_id``,
  ``meta.request_id``, ``meta.uuids`` keep the originals.
* ``tool_result`` blocks in user lines become ``role="tool"`` messages (``is_error`` from the
  block). The line's structured ``toolUseResult`` is kept in ``meta.tool_use_result`` with long
  strings shortened and base64 payloads dropped; ``meta.exit_code`` is set only when the result
  text states it (``Exit code N``), since Claude Code records no exit status otherwise.
  Text or images in the same user line become a user message after the results.
* A compaction run (its task is :data:`COMPACTION_PROMPT`) gets ``meta.compaction_summary`` and
  its replies ``meta.recounts_conversation``: what they tell was done in the session compacted.
* Injected text is kept but marked: ``isMeta`` lines, compaction summaries, and user messages
  that consist only of ``<system-reminder>`` blocks get ``meta.injected = True``; any message
  containing a ``<system-reminder>`` gets ``meta.system_reminder = True``. Slash-command echoes
  (``<command-name>``, ``<local-command-stdout>``) get ``meta.local_command = True``.
* Sidechains (``isSidechain: true``: subagent conversations) never enter the main
  conversation. Each becomes its own Session, yielded after the main one, with id
  ``<main id>-agent-<agentId>`` (or ``<main id>-sidechain-<n>`` when the log has no
  ``agentId``; lines are grouped by following ``parentUuid``), ``meta.sidechain = True`` and
  ``meta.parent_session``. The main session lists them in ``meta.sidechains``. A file holding
  only sidechain lines (``agent-*.jsonl``) yields only those sessions.
* ``cwd`` -> ``env.workdir``; ``gitBranch`` -> ``env.repo.branch`` (the log has no remote URL or
  commit); ``sessionId`` -> session id; ``version`` -> ``source.version``; ``message.model`` ->
  ``source.model`` (the first real one; ``<synthetic>`` is skipped).
* Tool specs are not in the log: they are inferred from the calls (``inferred=True``).
* ``summary`` lines go to ``meta.summaries``; other non-conversation lines are counted in
  ``meta.ignored_lines``; repeated lines (same ``uuid``) are skipped and counted.
* Claude Code's headless output (``claude -p --verbose --output-format stream-json``, what
  harnesses record, or ``json``: the same lines as one list) is read the same way, its keys renamed
  (:mod:`~understudy.replay.importers.claude_stream`): a subagent's lines (``parent_tool_use_id``)
  are a sidechain named by the ``Task`` call, the ``init`` line gives ``cwd``, the session id and
  the version, and the ``result`` line goes to ``meta.result`` (how the run ended, its turns and
  cost). The task is not in that output (it is the command's argument).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.claude_stream import (
    STREAM_TYPES,
    feed_list,
    init_context,
    is_headless_list,
    is_stream_line,
    result_meta,
    session_line,
)
from understudy.replay.importers.common import (
    IMAGE_PLACEHOLDER,
    ResultLinks,
    UsageTally,
    check_not_binary,
    feed_jsonl,
    flatten_content,
    head_jsonl,
    head_text,
    infer_tool_specs,
    json_type_name,
    log_error,
    make_tool_call,
    parse_timestamp,
    session_id,
    tool_result,
)
from understudy.replay.importers.stream import first_json_byte
from understudy.trajectory import EnvSpec, Message, RepoSpec, Session, SourceInfo, ToolCall

__all__ = ["ClaudeCodeImporter"]

FORMAT = "claude-code"

_CONVERSATION_TYPES = frozenset({"user", "assistant"})
_OTHER_TYPES = frozenset(
    {"summary", "file-history-snapshot", "queue-operation", "system", "progress", "attachment"}
    | STREAM_TYPES
)
_REMINDER = re.compile(r"<system-reminder>.*?(?:</system-reminder>|\Z)", re.DOTALL)
_LOCAL_COMMAND = re.compile(
    r"^\s*<(?:command-name|command-message|command-args|local-command-stdout|local-command-stderr)>"
)
_EXIT_CODE = re.compile(r"^(?:Error: )?Exit code (-?\d+)\b")
COMPACTION_PROMPT = "Your task is to create a detailed summary of the conversation so far"
"""How Claude Code's compaction run (a subagent log, ``agent-acompact-*``) is asked for its
summary: its replies retell another session (``meta.recounts_conversation``)."""
_LONG_STRING = 2000
"""Strings in ``toolUseResult`` longer than this are replaced by their length in meta."""


class ClaudeCodeImporter:
    """Reads Claude Code session JSONL files."""

    name = FORMAT

    def detect(self, path: Path) -> bool:
        """True when the first lines look like Claude Code session lines (or the headless
        output's list of them)."""
        start = head_text(path).lstrip()
        if start.startswith("["):
            return is_headless_list(start)
        seen = headless = False
        for value in head_jsonl(path, count=8):  # most files tell from their first line
            seen = True
            if not isinstance(value, dict):
                return False
            kind = value.get("type")
            if kind in _CONVERSATION_TYPES:
                return isinstance(value.get("message"), dict) and (
                    ("sessionId" in value and ("uuid" in value or "parentUuid" in value))
                    # The headless output's (after its init line, in versions without it too).
                    or ("session_id" in value and ("parent_tool_use_id" in value or headless))
                )
            headless = headless or (init_context(value) is not None and "session_id" in value)
            if kind == "summary" and "leafUuid" in value:
                return True
            if kind == "file-history-snapshot" and "snapshot" in value:
                return True
            if kind == "queue-operation" and "sessionId" in value:
                continue
            if kind == "system" and "sessionId" in value and "uuid" in value:
                return True
            if kind not in _OTHER_TYPES:
                return False
        if seen:
            return False
        # A first line too long to peek at: look for the keys every conversation line has.
        head = head_text(path)
        return head.lstrip().startswith("{") and (
            all(key in head for key in ('"parentUuid"', '"sessionId"', '"isSidechain"'))
            or all(key in head for key in ('"session_id"', '"parent_tool_use_id"'))
        )

    def load(self, path: Path, report: ImportReport, strict: bool = False) -> Iterator[Session]:
        """The main conversation of ``path``, then one session per sidechain."""
        check_not_binary(path)
        reader = _Reader(path, report)
        if first_json_byte(path) == b"[":  # the headless output's ``--output-format json``
            feed_list(path, reader.feed)
        else:
            feed_jsonl(path, report, strict, reader.feed)
        yield from reader.sessions()


@dataclass
class _Conversation:
    """Messages of one conversation (the main one or a sidechain) as they are assembled."""

    key: str
    messages: list[Message] = field(default_factory=list)
    by_message_id: dict[str, Message] = field(default_factory=dict)
    call_names: dict[str, str] = field(default_factory=dict)
    usage: dict[str, dict[str, Any]] = field(default_factory=dict)
    agent_id: str | None = None


class _Reader:
    """Feeds on the lines of one file and assembles its sessions."""

    def __init__(self, path: Path, report: ImportReport) -> None:
        self.path = path
        self.report = report
        self.links = ResultLinks(
            report, path, without_id="tool_result without tool_use_id", result_noun="tool result"
        )
        self.main = _Conversation("main")
        self.sidechains: dict[str, _Conversation] = {}
        self.sidechain_of: dict[str, str] = {}
        self.unnamed_sidechains = 0
        self.seen_uuids: set[str] = set()
        self.session_ids: list[str] = []
        self.cwds: list[str] = []
        self.branches: list[str] = []
        self.version: str | None = None
        self.models: list[str] = []
        self.summaries: list[str] = []
        self.ignored: dict[str, int] = {}
        self.duplicates = 0
        self.warned_kinds: set[str] = set()
        self.result: dict[str, Any] | None = None
        """How a headless run ended (its ``result`` line), when the log is its output."""

    # ------------------------------------------------------------------ lines

    def feed(self, number: int | None, value: Any) -> None:
        if not isinstance(value, dict):
            raise log_error(
                self.path, f"expected a JSON object, got {json_type_name(value)}", line=number
            )
        kind = value.get("type")
        if kind in _CONVERSATION_TYPES:
            self._conversation_line(number, session_line(value) if is_stream_line(value) else value)
            return
        if self._stream_line(value):
            return
        if kind == "summary":
            summary = value.get("summary")
            if isinstance(summary, str):
                self.summaries.append(summary)
            return
        label = kind if isinstance(kind, str) else json_type_name(kind)
        self.ignored[label] = self.ignored.get(label, 0) + 1
        if label not in _OTHER_TYPES and label not in self.warned_kinds:
            self.warned_kinds.add(label)
            self.report.warn(self.path, f"unknown line type {label!r} ignored", number, "type")

    def _stream_line(self, value: dict[str, Any]) -> bool:
        """Take the ``init`` and ``result`` lines of the headless output; whether it was one."""
        context = init_context(value)
        if context is not None:
            self._note_context(context)
            return True
        result = result_meta(value)
        if result is not None:
            self.result = result
            return True
        return False

    def _conversation_line(self, number: int | None, value: dict[str, Any]) -> None:
        uuid = value.get("uuid")
        if isinstance(uuid, str) and uuid:
            if uuid in self.seen_uuids:
                self.duplicates += 1
                return
            self.seen_uuids.add(uuid)
        self._note_context(value)
        conversation = self._conversation_for(value)
        message = value.get("message")
        if not isinstance(message, dict):
            raise log_error(
                self.path,
                f"expected an object, got {json_type_name(message)}",
                line=number,
                where="message",
            )
        content = message.get("content")
        if content is None:
            content = []
        if not isinstance(content, str | list):
            raise log_error(
                self.path,
                f"expected a string or a list of blocks, got {json_type_name(content)}",
                line=number,
                where="message.content",
            )
        blocks: list[Any] = (
            [{"type": "text", "text": content}] if isinstance(content, str) else content
        )
        if value["type"] == "assistant":
            self._assistant(number, value, message, blocks, conversation)
        else:
            self._user(number, value, blocks, conversation)

    def _note_context(self, value: dict[str, Any]) -> None:
        sid = value.get("sessionId")
        if isinstance(sid, str) and sid and sid not in self.session_ids:
            self.session_ids.append(sid)
        cwd = value.get("cwd")
        if isinstance(cwd, str) and cwd and cwd not in self.cwds:
            self.cwds.append(cwd)
        branch = value.get("gitBranch")
        if isinstance(branch, str) and branch and branch not in self.branches:
            self.branches.append(branch)
        version = value.get("version")
        if self.version is None and isinstance(version, str) and version:
            self.version = version

    def _conversation_for(self, value: dict[str, Any]) -> _Conversation:
        if value.get("isSidechain") is not True:
            return self.main
        agent_id = value.get("agentId")
        key: str | None
        if isinstance(agent_id, str) and agent_id:
            key = f"agent-{agent_id}"
        else:
            parent = value.get("parentUuid")
            key = self.sidechain_of.get(parent) if isinstance(parent, str) else None
            if key is None:
                self.unnamed_sidechains += 1
                key = f"sidechain-{self.unnamed_sidechains}"
        uuid = value.get("uuid")
        if isinstance(uuid, str) and uuid:
            self.sidechain_of[uuid] = key
        conversation = self.sidechains.get(key)
        if conversation is None:
            conversation = _Conversation(key)
            if isinstance(agent_id, str) and agent_id:
                conversation.agent_id = agent_id
            self.sidechains[key] = conversation
        return conversation

    # ------------------------------------------------------------------ assistant

    def _assistant(
        self,
        number: int | None,
        line: dict[str, Any],
        api_message: dict[str, Any],
        blocks: list[Any],
        conversation: _Conversation,
    ) -> None:
        message_id = api_message.get("id")
        key = message_id if isinstance(message_id, str) and message_id else None
        message = conversation.by_message_id.get(key) if key else None
        if message is None:
            message = Message(
                role="assistant", timestamp=parse_timestamp(line.get("timestamp")), meta={}
            )
            if key:
                message.meta["message_id"] = key
                conversation.by_message_id[key] = message
            conversation.messages.append(message)
        meta = message.meta
        uuid = line.get("uuid")
        if isinstance(uuid, str):
            meta.setdefault("uuids", []).append(uuid)
        model = api_message.get("model")
        if isinstance(model, str) and model:
            meta["model"] = model
            if model != "<synthetic>" and model not in self.models:
                self.models.append(model)
        request_id = line.get("requestId")
        if isinstance(request_id, str) and request_id:
            meta["request_id"] = request_id
        stop_reason = api_message.get("stop_reason")
        if isinstance(stop_reason, str) and stop_reason:
            meta["stop_reason"] = stop_reason
        if line.get("isApiErrorMessage") is True:
            meta["api_error"] = True
        usage = api_message.get("usage")
        if isinstance(usage, dict):
            meta["usage"] = usage
            conversation.usage[key or f"line-{number}"] = usage

        texts: list[str] = []
        reasoning: list[str] = []
        server_results: list[Message] = []
        for index, block in enumerate(blocks):
            where = f"message.content[{index}]"
            if not isinstance(block, dict):
                self.report.warn(
                    self.path, "content block is not an object; skipped", number, where
                )
                continue
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text:
                    texts.append(text)
            elif kind == "thinking":
                thought = block.get("thinking")
                if isinstance(thought, str) and thought:
                    reasoning.append(thought)
            elif kind == "redacted_thinking":
                meta["redacted_thinking"] = meta.get("redacted_thinking", 0) + 1
            elif kind in ("tool_use", "server_tool_use"):
                self._add_call(number, where, block, message, conversation, kind)
            elif isinstance(kind, str) and kind.endswith("_tool_result"):
                server_results.append(self._server_result(line, block))
            else:
                self._warn_block(number, where, kind)
        if texts:
            message.content = "\n".join(filter(None, [message.content, *texts]))
        if reasoning:
            message.reasoning = "\n".join(filter(None, [message.reasoning, *reasoning]))
        conversation.messages.extend(server_results)

    def _add_call(
        self,
        number: int | None,
        where: str,
        block: dict[str, Any],
        message: Message,
        conversation: _Conversation,
        kind: str,
    ) -> None:
        call_id = block.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = f"toolu_line{number}_{len(message.tool_calls)}"
            self.report.warn(self.path, f"tool_use without an id; using {call_id}", number, where)
        if any(call.id == call_id for call in message.tool_calls):
            return  # the same block repeated on another line of this message
        call: ToolCall = make_tool_call(call_id, block.get("name"), block.get("input"))
        if not call.name:
            self.report.warn(self.path, "tool_use without a name", number, f"{where}.name")
        message.tool_calls.append(call)
        conversation.call_names[call.id] = call.name
        if kind == "server_tool_use":
            message.meta.setdefault("server_tool_calls", []).append(call.id)

    def _server_result(self, line: dict[str, Any], block: dict[str, Any]) -> Message:
        """A result the API produced itself (web search), as a tool message."""
        body = block.get("content")
        if isinstance(body, list):
            rows = []
            for item in body:
                if isinstance(item, dict):
                    title, url = item.get("title"), item.get("url")
                    rows.append(" ".join(str(part) for part in (title, url) if part))
            text = "\n".join(rows)
        else:
            text = flatten_content(body)
        is_error = isinstance(body, dict) and "error_code" in body
        call_id = block.get("tool_use_id")
        return tool_result(
            call_id if isinstance(call_id, str) else None,
            text,
            name=str(block.get("type")),
            is_error=is_error,
            timestamp=parse_timestamp(line.get("timestamp")),
            meta={"server_tool": True},
        )

    # ------------------------------------------------------------------ user

    def _user(
        self,
        number: int | None,
        line: dict[str, Any],
        blocks: list[Any],
        conversation: _Conversation,
    ) -> None:
        timestamp = parse_timestamp(line.get("timestamp"))
        results = [
            (index, block)
            for index, block in enumerate(blocks)
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]
        others: list[Any] = []
        for index, block in enumerate(blocks):
            if not isinstance(block, dict):
                self.report.warn(
                    self.path,
                    "content block is not an object; skipped",
                    number,
                    f"message.content[{index}]",
                )
            elif block.get("type") != "tool_result":
                if block.get("type") not in ("text", "image", "document"):
                    self._warn_block(number, f"message.content[{index}]", block.get("type"))
                others.append(block)
        structured = line.get("toolUseResult")
        for index, block in results:
            conversation.messages.append(
                self._result(
                    number,
                    f"message.content[{index}]",
                    line,
                    block,
                    conversation,
                    structured if len(results) == 1 else None,
                    timestamp,
                )
            )
        if not others:
            return
        text = _flatten_user(others)
        texts = [b.get("text") for b in others if b.get("type") == "text"]
        texts = [t for t in texts if isinstance(t, str) and t.strip()]
        meta: dict[str, Any] = {}
        uuid = line.get("uuid")
        if isinstance(uuid, str):
            meta["uuid"] = uuid
        has_reminder = any("<system-reminder>" in t for t in texts)
        only_reminders = bool(texts) and all(_only_reminders(t) for t in texts)
        if has_reminder:
            meta["system_reminder"] = True
        if line.get("isMeta") is True or line.get("isCompactSummary") is True or only_reminders:
            meta["injected"] = True
        if line.get("isCompactSummary") is True:
            meta["compact_summary"] = True
        if texts and _LOCAL_COMMAND.match(texts[0]):
            meta["local_command"] = True
        if results:
            meta["with_tool_results"] = True
        conversation.messages.append(
            Message(role="user", content=text, timestamp=timestamp, meta=meta)
        )

    def _result(
        self,
        number: int | None,
        where: str,
        line: dict[str, Any],
        block: dict[str, Any],
        conversation: _Conversation,
        structured: Any,
        timestamp: Any,
    ) -> Message:
        call_id, name = self.links.call_of(
            block.get("tool_use_id"), conversation.call_names, number, f"{where}.tool_use_id"
        )
        content = flatten_content(block.get("content"))
        meta: dict[str, Any] = {}
        uuid = line.get("uuid")
        if isinstance(uuid, str):
            meta["uuid"] = uuid
        if structured is not None:
            meta["tool_use_result"] = _summarize(structured)
            if isinstance(structured, dict) and structured.get("interrupted") is True:
                meta["interrupted"] = True
        match = _EXIT_CODE.match(content)
        if match:
            meta["exit_code"] = int(match.group(1))
        if "<system-reminder>" in content:
            meta["system_reminder"] = True
        return tool_result(
            call_id,
            content,
            name=name,
            is_error=block.get("is_error") is True,
            timestamp=timestamp,
            meta=meta,
        )

    def _warn_block(self, number: int | None, where: str, kind: Any) -> None:
        label = f"block:{kind}"
        if label not in self.warned_kinds:
            self.warned_kinds.add(label)
            self.report.warn(
                self.path, f"unknown content block type {kind!r} ignored", number, f"{where}.type"
            )

    # ------------------------------------------------------------------ sessions

    def sessions(self) -> Iterator[Session]:
        if not self.main.messages and not self.sidechains:
            self.report.warn(self.path, "no conversation lines; nothing imported")
            return
        main_id = session_id(self.path, own_id=self.session_ids[0] if self.session_ids else None)
        side_ids = {key: f"{main_id}-{key}" for key in self.sidechains}
        env = self._env()
        if self.main.messages:
            meta = self._file_meta()
            if side_ids:
                meta["sidechains"] = list(side_ids.values())
            yield self._session(main_id, self.main, env, meta)
        for key, conversation in self.sidechains.items():
            meta = {"sidechain": True, "parent_session": main_id}
            if conversation.agent_id:
                meta["agent_id"] = conversation.agent_id
            if not self.main.messages:
                meta.update(self._file_meta())
            yield self._session(side_ids[key], conversation, env, meta)

    def _env(self) -> EnvSpec:
        env = EnvSpec(repo=RepoSpec(branch=self.branches[0]) if self.branches else None)
        if self.cwds:
            env.workdir = self.cwds[0]
        return env

    def _file_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if len(self.session_ids) > 1:
            meta["session_ids"] = list(self.session_ids)
        if len(self.cwds) > 1:
            meta["cwds"] = list(self.cwds)
        if len(self.branches) > 1:
            meta["branches"] = list(self.branches)
        if len(self.models) > 1:
            meta["models"] = list(self.models)
        if self.summaries:
            meta["summaries"] = list(self.summaries)
        if self.ignored:
            meta["ignored_lines"] = dict(self.ignored)
        if self.duplicates:
            meta["duplicate_lines"] = self.duplicates
        if self.result is not None:
            meta["result"] = dict(self.result)
        return meta

    def _session(
        self, sid: str, conversation: _Conversation, env: EnvSpec, meta: dict[str, Any]
    ) -> Session:
        tally = UsageTally()
        for usage_of_message in conversation.usage.values():
            tally.add(usage_of_message)
        usage = tally.totals
        if usage:
            meta["usage"] = usage
        model = next(
            (
                m.meta["model"]
                for m in conversation.messages
                if m.role == "assistant" and m.meta.get("model") not in (None, "<synthetic>")
            ),
            self.models[0] if self.models else None,
        )
        task = next(
            (
                m.content
                for m in conversation.messages
                if m.role == "user"
                and m.content.strip()
                and not m.meta.get("injected")
                and not m.meta.get("local_command")
            ),
            "",
        )
        if task.startswith(COMPACTION_PROMPT):
            _mark_summary(conversation.messages)
            meta["compaction_summary"] = True
        return Session(
            id=sid,
            source=SourceInfo(
                format=FORMAT,
                path=str(self.path),
                agent="claude-code",
                model=model,
                version=self.version,
            ),
            task=task,
            env=env.model_copy(deep=True),
            tools=infer_tool_specs(conversation.messages),
            messages=conversation.messages,
            meta=meta,
        )


def _mark_summary(messages: list[Message]) -> None:
    """The replies of a compaction run retell the conversation it compacts (its calls are in
    that session's log, not in this one)."""
    for message in messages:
        if message.role == "assistant":
            message.meta["recounts_conversation"] = True


def _flatten_user(blocks: list[Any]) -> str:
    parts: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "image":
            parts.append(IMAGE_PLACEHOLDER)
        elif kind == "document":
            parts.append("[document]")
        else:
            text = flatten_content(block)
            if text:
                parts.append(text)
    return "\n".join(parts)


def _only_reminders(text: str) -> bool:
    return "<system-reminder>" in text and not _REMINDER.sub("", text).strip()


def _summarize(value: Any, depth: int = 0) -> Any:
    """``toolUseResult`` for meta: structure kept, long strings and base64 data shortened."""
    if isinstance(value, str):
        return value if len(value) <= _LONG_STRING else f"[{len(value)} characters]"
    if depth > 6:
        return "[nested]"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in ("base64", "data") and isinstance(item, str):
                out[key] = f"[{len(item)} characters]"
            else:
                out[str(key)] = _summarize(item, depth + 1)
        return out
    if isinstance(value, list):
        return [_summarize(item, depth + 1) for item in value[:200]]
    return value
