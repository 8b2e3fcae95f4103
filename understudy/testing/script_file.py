"""Scripts of the scripted server written as a file (YAML, or JSON, which YAML reads too).

The file is a mapping with the replies, or just their list::

    order: turns            # optional: "requests" (the default) or "turns"
    replies:
      - content: Let me look.
        tool_calls:
          - name: bash
            arguments: {command: ls}    # an object, or a string sent as it is
      - fault: {status: 429, retry_after: 0.5}
      - raw: truncated-json             # a named malformed answer, or {body, status, content_type}
      - content: Done.

A reply is an assistant turn (``content``, ``tool_calls``, ``reasoning``, ``finish_reason``,
``delay_s``), a ``fault`` (an HTTP error: ``status``, ``message``, ``error_type``,
``retry_after``, ``should_retry``, ``delay_s``) or a ``raw`` answer (see
:data:`~understudy.testing.malformed.MALFORMED_REPLIES` for the names). With
``order: requests`` each request takes the next reply, retries included, and a request past the
last one gets an HTTP 500 saying the script is exhausted. With ``order: turns`` every
conversation gets the same replies: reply *i* answers a conversation with *i* assistant turns
after its last user message (the last reply answers any later turn), so a script plays the same
in each rollout of a run.

Every problem names the file and the field (``script.yaml: replies[1].fault.status: ...``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import ConfigError, SchemaError
from understudy.jsonl import field_path
from understudy.testing.malformed import MALFORMED_REPLIES
from understudy.testing.request import ChatRequest
from understudy.testing.script import Fault, Policy, RawReply, ScriptedTurn, ScriptItem

__all__ = ["load_script"]


class _ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: dict[str, Any] | str = Field(default_factory=dict)


class _Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str | None = None
    tool_calls: list[_ToolCall] = Field(default_factory=list)
    reasoning: str | None = None
    finish_reason: str | None = None
    delay_s: float = Field(default=0.0, ge=0.0)

    def item(self) -> ScriptedTurn:
        calls = [(call.name, call.arguments) for call in self.tool_calls]
        return ScriptedTurn(**self.model_dump(exclude={"tool_calls"}), tool_calls=calls)


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fault: Fault


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raw: RawReply

    @pydantic.field_validator("raw", mode="before")
    @classmethod
    def _by_name(cls, value: Any) -> Any:
        """A name stands for one of the malformed answers."""
        if not isinstance(value, str):
            return value
        if value not in MALFORMED_REPLIES:
            names = ", ".join(sorted(MALFORMED_REPLIES))
            raise ValueError(f"unknown malformed answer {value!r}; valid names: {names}")
        return MALFORMED_REPLIES[value]


class _Script(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: Literal["requests", "turns"] = "requests"
    replies: list[Any] = Field(min_length=1)


def load_script(path: Path) -> Sequence[ScriptItem] | Policy:
    """The script in ``path``: a list of items, or a policy for ``order: turns``.

    Raises :class:`ConfigError` for a file that cannot be read or parsed and
    :class:`SchemaError` (one line per problem) for one that does not follow the format.
    """
    data = _read(path)
    if isinstance(data, list):
        data = {"replies": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'replies', or a list of replies")
    try:
        script = _Script.model_validate(data)
    except pydantic.ValidationError as exc:
        raise SchemaError(_problems(path, exc, [])) from None
    items: list[ScriptItem] = []
    problems: list[str] = []
    for position, reply in enumerate(script.replies):
        try:
            items.append(_item(reply))
        except pydantic.ValidationError as exc:
            problems += _problems(path, exc, ["replies", position])
        except ValueError as exc:
            problems.append(f"{path}: {field_path(['replies', position])}: {exc}")
    if problems:
        raise SchemaError(problems)
    return items if script.order == "requests" else _by_turn(items)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the script ({exc})") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ConfigError(f"{path}: {where}: not valid JSON: {exc.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"{path}:{where} not valid YAML: {problem}") from None


def _item(reply: Any) -> ScriptItem:
    """One reply of the file as a script item (pydantic errors name fields within it)."""
    if not isinstance(reply, dict):
        raise ValueError("a reply is a mapping: an assistant turn, a 'fault' or a 'raw' answer")
    if "fault" in reply:
        return _Fault.model_validate(reply).fault
    if "raw" in reply:
        return _Raw.model_validate(reply).raw
    return _Turn.model_validate(reply).item()


def _problems(path: Path, error: pydantic.ValidationError, prefix: list[str | int]) -> list[str]:
    lines = []
    for problem in error.errors():
        reason = "required" if problem["type"] == "missing" else problem["msg"]
        lines.append(f"{path}: {field_path([*prefix, *problem['loc']])}: {reason}")
    return lines


def _by_turn(items: list[ScriptItem]) -> Policy:
    """Reply *i* to a conversation with *i* assistant turns after its last user message."""

    def policy(request: ChatRequest) -> ScriptItem:
        messages = request.messages
        users = [i for i, message in enumerate(messages) if message.get("role") == "user"]
        since = messages[users[-1] :] if users else messages
        turn = sum(1 for message in since if message.get("role") == "assistant")
        return items[min(turn, len(items) - 1)]

    return policy
