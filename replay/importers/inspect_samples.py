"""One inspect_ai sample to one Session: its messages (content, reasoning, tool calls, tool
results) with the facts its events add, and ``attachment://`` references resolved.

The mapping decisions are listed in :mod:`~understudy.replay.importers.inspect_ai`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from understudy.errors import LogFormatError
from understudy.replay.importers.base import ImportReport
from understudy.replay.importers.common import (
    SHAPE_ERRORS,
    first_user_text,
    flatten_content,
    infer_tool_specs,
    json_type_name,
    log_error,
    make_tool_call,
    parse_timestamp,
    shape_error,
    tool_result,
)
from understudy.replay.importers.inspect_content import message_parts, resolve_attachments
from understudy.replay.importers.inspect_events import scan_events
from understudy.replay.importers.inspect_facts import (
    agent_name,
    plan_tools,
    sample_env,
    sample_meta,
)
from understudy.trajectory import Message, Role, Session, SourceInfo, ToolCall

__all__ = ["FORMAT", "sample_session"]

FORMAT = "inspect"

_ROLES = frozenset({"system", "user", "assistant", "tool"})


def sample_session(
    path: Path, entry: str, header: dict[str, Any], sample: Any, report: ImportReport
) -> Session:
    """The session of one sample (``entry`` names it in errors: a zip member or
    ``samples[i]``); any unexpected shape becomes a LogFormatError naming the entry."""
    try:
        session = _SampleReader(path, entry, header, report).read(sample)
    except LogFormatError:
        raise
    except RecursionError:
        raise log_error(path, "data nested too deeply", where=entry) from None
    except SHAPE_ERRORS as exc:
        raise shape_error(path, exc, where=entry) from None
    # Sample messages map one to one to the session's: name the orphans within their entry.
    report.warn_orphans(path, session, where=entry + ("." if entry.endswith("]") else ": "))
    return session


class _SampleReader:
    """Converts one sample; holds what its parts share: where it is (for errors), the eval
    header, the report, and the sample's attachments with the references found missing."""

    def __init__(
        self, path: Path, entry: str, header: dict[str, Any], report: ImportReport
    ) -> None:
        self.path = path
        self.entry = entry
        self.header = header
        self.report = report
        self.attachments: dict[str, Any] = {}
        self.missing: set[str] = set()

    def error(self, message: str, where: str) -> LogFormatError:
        return log_error(self.path, message, where=f"{self.entry}: {where}")

    def resolve(self, value: Any) -> Any:
        return resolve_attachments(value, self.attachments, self.missing)

    def read(self, sample: Any) -> Session:
        if not isinstance(sample, dict):
            raise log_error(
                self.path,
                f"expected a sample object, got {json_type_name(sample)}",
                where=self.entry,
            )
        attachments = sample.get("attachments")
        if isinstance(attachments, dict):
            self.attachments = attachments
        raw_messages = sample.get("messages")
        if raw_messages is None:
            raw_messages = []
        if not isinstance(raw_messages, list):
            raise self.error(f"expected a list, got {json_type_name(raw_messages)}", "messages")
        events = sample.get("events")
        events = events if isinstance(events, list) else []
        model_facts, offered, tool_facts = scan_events(events, self.resolve)

        messages: list[Message] = []
        for index, raw in enumerate(raw_messages):
            message = self._message(index, raw, model_facts, tool_facts)
            if message is not None:
                messages.append(message)
        if self.missing:
            self.report.warn(
                self.path,
                f"{len(self.missing)} attachment reference(s) without an attachment kept as is",
                where=self.entry,
            )

        eval_info = self.header.get("eval")
        eval_info = eval_info if isinstance(eval_info, dict) else {}
        sample_id = sample.get("id")
        epoch = sample.get("epoch", 1)
        eval_id = eval_info.get("eval_id") or eval_info.get("run_id") or Path(self.path).stem
        sid = f"{eval_id}_{sample_id}_epoch_{epoch}"

        tools = offered or plan_tools(self.header)
        env, env_meta = sample_env(eval_info, sample)
        meta = sample_meta(self.header, eval_info, sample, sample_id, epoch, self.resolve)
        meta.update(env_meta)
        task = first_user_text(messages)
        if not task:
            task = flatten_content(self.resolve(sample.get("input")))
        model = eval_info.get("model")
        packages = eval_info.get("packages")
        version = packages.get("inspect_ai") if isinstance(packages, dict) else None
        return Session(
            id=sid,
            source=SourceInfo(
                format=FORMAT,
                path=str(self.path),
                agent=agent_name(self.header),
                model=model if isinstance(model, str) else None,
                version=version if isinstance(version, str) else None,
                instance_id=str(sample_id) if isinstance(sample_id, str | int) else None,
            ),
            task=task,
            env=env,
            tools=infer_tool_specs(messages, tools),
            messages=messages,
            meta=meta,
        )

    # -------------------------------------------------------------- messages

    def _message(
        self,
        index: int,
        raw: Any,
        model_facts: dict[str, dict[str, Any]],
        tool_facts: dict[str, dict[str, Any]],
    ) -> Message | None:
        where = f"messages[{index}]"
        if not isinstance(raw, dict):
            raise self.error(f"expected a message object, got {json_type_name(raw)}", where)
        role = raw.get("role")
        if role is None and "tool_call_id" in raw:
            role = "tool"  # a tool result whose writer left its role out (R's vitals)
        if isinstance(role, list) and len(role) == 1:
            raise self.error(
                f"the role is {role!r}, a list of one: this log boxes every value in a list (as "
                "R's jsonlite writes without auto_unbox), which inspect_ai logs do not",
                f"{where}.role",
            )
        if not isinstance(role, str) or role not in _ROLES:
            raise self.error(f"unknown role {role!r}", f"{where}.role")
        content_raw = self.resolve(raw.get("content"))
        content, reasoning = message_parts(content_raw)
        meta: dict[str, Any] = {}
        message_id = raw.get("id")
        if isinstance(message_id, str):
            meta["id"] = message_id
        source = raw.get("source")
        if isinstance(source, str):
            meta["source"] = source
        metadata = raw.get("metadata")
        if isinstance(metadata, dict) and metadata:
            meta["metadata"] = self.resolve(metadata)
        if role == "tool":
            return self._tool(where, raw, content, meta, tool_facts)
        timestamp = None
        calls: list[ToolCall] = []
        if role == "assistant":
            facts = model_facts.get(message_id) if isinstance(message_id, str) else None
            if facts:
                for key in ("usage", "model", "requested_model", "duration_s"):
                    if key in facts:
                        meta[key] = facts[key]
                timestamp = parse_timestamp(facts.get("timestamp"))
            if isinstance(raw.get("model"), str):
                meta["model"] = raw["model"]
            calls = self._calls(where, raw.get("tool_calls"), meta)
        return Message(
            role=cast(Role, role),
            content=content,
            reasoning=reasoning,
            tool_calls=calls,
            timestamp=timestamp,
            meta=meta,
        )

    def _calls(self, where: str, raw_calls: Any, meta: dict[str, Any]) -> list[ToolCall]:
        if raw_calls is None:
            return []
        if not isinstance(raw_calls, list):
            raise self.error(
                f"expected a list, got {json_type_name(raw_calls)}", f"{where}.tool_calls"
            )
        calls: list[ToolCall] = []
        for number, raw in enumerate(raw_calls):
            if not isinstance(raw, dict):
                raise self.error(
                    f"expected a tool call object, got {json_type_name(raw)}",
                    f"{where}.tool_calls[{number}]",
                )
            call_id = raw.get("id")
            if not isinstance(call_id, str) or not call_id:
                call_id = f"{where}.tool_calls[{number}]"
                self.report.warn(
                    self.path,
                    f"tool call without an id; using {call_id!r}",
                    where=f"{self.entry}: {where}.tool_calls[{number}].id",
                )
            call = make_tool_call(call_id, raw.get("function"), self.resolve(raw.get("arguments")))
            calls.append(call)
            parse_error = raw.get("parse_error")
            if parse_error:
                meta.setdefault("tool_call_errors", {})[call.id] = str(parse_error)
        return calls

    def _tool(
        self,
        where: str,
        raw: dict[str, Any],
        content: str,
        meta: dict[str, Any],
        tool_facts: dict[str, dict[str, Any]],
    ) -> Message:
        call_id = raw.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            self.report.warn(
                self.path,
                "tool result without tool_call_id",
                where=f"{self.entry}: {where}.tool_call_id",
            )
            call_id = None
        error = raw.get("error")
        is_error = False
        if isinstance(error, dict):
            is_error = True
            error_type = error.get("type")
            if isinstance(error_type, str):
                meta["error_type"] = error_type
            error_message = self.resolve(error.get("message"))
            if isinstance(error_message, str) and error_message:
                if content.strip():
                    meta["error_message"] = error_message
                else:
                    content = error_message
        elif error:
            is_error = True
            meta["error_message"] = str(error)
        timestamp = None
        facts = tool_facts.get(call_id) if call_id else None
        if facts:
            for key in ("duration_s", "exit_code", "sandbox_cmd"):
                if key in facts:
                    meta[key] = facts[key]
            timestamp = parse_timestamp(facts.get("timestamp"))
        function = raw.get("function")
        return tool_result(
            call_id,
            content,
            name=function if isinstance(function, str) else None,
            is_error=is_error,
            timestamp=timestamp,
            meta=meta,
        )
