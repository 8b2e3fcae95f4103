"""What a test scripts and what it is shown: the script items and the recorded chat requests.

A script item is a :class:`ScriptedTurn` (an assistant reply, optionally delayed), a
:class:`Fault` (an HTTP error such as 429 with ``Retry-After`` or 500, optionally delayed) or a
:class:`RawReply` (any status and body, sent as it is: the broken answers of a faulty endpoint or
proxy, see :data:`MALFORMED_REPLIES`). A :data:`Policy` picks the item from each
:class:`ChatRequest`, the parsed request as the server received it, so a scripted agent can react
to tool results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MALFORMED_REPLIES",
    "ChatRequest",
    "Fault",
    "Policy",
    "RawReply",
    "ScriptItem",
    "ScriptedTurn",
    "content_text",
]


class ScriptedTurn(BaseModel):
    """One assistant reply of the scripted model.

    ``tool_calls`` holds ``(name, arguments)`` pairs; arguments given as a dict are sent as its
    JSON, arguments given as a string are sent verbatim (so ``"{not json"`` scripts a malformed
    call). Tool-call ids are ``call_<request index>_<position>``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    content: str | None = None
    """The assistant text (sent as ``null`` when absent)."""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = Field(default_factory=list)
    """``(name, arguments)`` of each tool call, in order."""
    reasoning: str | None = None
    """Sent as ``reasoning_content`` on the message, as vLLM and DeepSeek endpoints do."""
    finish_reason: str | None = None
    """Defaults to ``tool_calls`` when there are tool calls, ``stop`` otherwise."""
    delay_s: float = Field(default=0.0, ge=0.0)
    """Seconds to wait before answering (a slow reply)."""


class Fault(BaseModel):
    """An HTTP error answer: a rate limit, a server error, any status.

    ``retry_after`` sets both ``Retry-After`` (whole seconds, rounded up, as the standard wants)
    and ``retry-after-ms`` (which the openai client prefers), so a test can ask for a 10 ms
    back-off. The openai client ignores a retry-after of 0 and falls back to its own exponential
    back-off (0.5 s, 1 s, ...), so use a small positive value to keep tests fast.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: int = Field(default=500, ge=400, le=599)
    """The HTTP status."""
    message: str = "scripted server error"
    """``error.message`` of the JSON body."""
    error_type: str = "server_error"
    """``error.type`` (and ``error.code``) of the JSON body."""
    retry_after: float | None = Field(default=None, ge=0.0)
    """Seconds the client is asked to wait before retrying."""
    should_retry: bool | None = None
    """Sends ``x-should-retry: true|false``, which the openai client obeys, when set."""
    delay_s: float = Field(default=0.0, ge=0.0)
    """Seconds to wait before answering."""

    @classmethod
    def rate_limit(cls, retry_after: float | None = 0.01, delay_s: float = 0.0) -> Fault:
        """HTTP 429 with a ``Retry-After``."""
        return cls(
            status=429,
            message="scripted rate limit",
            error_type="rate_limit_exceeded",
            retry_after=retry_after,
            delay_s=delay_s,
        )

    @classmethod
    def server_error(
        cls, status: int = 500, retry_after: float | None = 0.01, delay_s: float = 0.0
    ) -> Fault:
        """HTTP 5xx (with a short ``Retry-After`` by default, to keep client back-off short)."""
        return cls(status=status, retry_after=retry_after, delay_s=delay_s)


class RawReply(BaseModel):
    """An answer sent byte for byte as given: any status, content type and body.

    It scripts what a sound endpoint never sends, such as an HTTP 200 whose body is an HTML
    error page or a cut-short JSON document; :data:`MALFORMED_REPLIES` names the usual ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    body: str
    """The body, sent as UTF-8."""
    status: int = Field(default=200, ge=200, le=599)
    """The HTTP status."""
    content_type: str = "application/json"
    """The ``Content-Type`` header."""
    delay_s: float = Field(default=0.0, ge=0.0)
    """Seconds to wait before answering."""


def _completion_body(**changes: Any) -> str:
    """A well-formed chat completion with ``changes`` applied (a None value drops the key)."""
    body: dict[str, Any] = {
        "id": "chatcmpl-raw",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "done"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    body.update(changes)
    return json.dumps({key: value for key, value in body.items() if value is not None})


MALFORMED_REPLIES: dict[str, RawReply] = {
    "html-page": RawReply(
        body="<html><body><h1>Upstream unavailable</h1></body></html>", content_type="text/html"
    ),
    "not-json": RawReply(body="upstream connect error or disconnect/reset before headers"),
    "truncated-json": RawReply(body=_completion_body()[:100]),
    "null-message": RawReply(
        body=_completion_body(choices=[{"index": 0, "message": None, "finish_reason": "stop"}])
    ),
    "no-choices": RawReply(body=_completion_body(choices=None)),
    "empty-choices": RawReply(body=_completion_body(choices=[])),
    "error-body": RawReply(
        body=json.dumps({"error": {"message": "upstream overloaded", "type": "server_error"}})
    ),
}
"""HTTP 200 answers that are not chat completions, by name: an HTML page, text that is not
JSON, a completion cut short, a choice whose ``message`` is null, no ``choices`` key, an empty
``choices`` list, and an error object sent with status 200 (as some proxies do)."""


ScriptItem = ScriptedTurn | Fault | RawReply
"""What the server answers one request with."""


def content_text(content: Any) -> str:
    """Text of a wire ``content`` (a string, null, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text", "")))
            else:
                parts.append(str(part))
        return "".join(parts)
    return str(content)


@dataclass(frozen=True)
class ChatRequest:
    """One ``POST /v1/chat/completions`` as the server received it."""

    index: int
    """Order of arrival among the chat requests, from 0."""
    body: dict[str, Any]
    """The JSON body, as sent."""
    headers: dict[str, str] = field(default_factory=dict)
    """Request headers, names lower-cased (kept in memory only, never logged)."""

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        tools = self.body.get("tools")
        return list(tools) if isinstance(tools, list) else []

    @property
    def tool_names(self) -> list[str]:
        """Names of the function tools on offer."""
        return [str(tool.get("function", {}).get("name", "")) for tool in self.tools]

    @property
    def temperature(self) -> float | None:
        value = self.body.get("temperature")
        return float(value) if isinstance(value, int | float) else None

    @property
    def max_tokens(self) -> int | None:
        value = self.body.get("max_tokens")
        return value if isinstance(value, int) else None

    @property
    def seed(self) -> int | None:
        value = self.body.get("seed")
        return value if isinstance(value, int) else None

    @property
    def retry_count(self) -> int:
        """The openai client's ``x-stainless-retry-count`` header (0 on a first attempt)."""
        try:
            return int(self.headers.get("x-stainless-retry-count", "0"))
        except ValueError:
            return 0

    @property
    def api_key(self) -> str | None:
        """The bearer token sent, if any (so tests can check which key went out)."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None

    @property
    def last_message(self) -> dict[str, Any] | None:
        return self.messages[-1] if self.messages else None

    def tool_results(self) -> list[dict[str, Any]]:
        """The ``role: tool`` messages after the last assistant message."""
        results: list[dict[str, Any]] = []
        for message in reversed(self.messages):
            if message.get("role") == "assistant":
                break
            if message.get("role") == "tool":
                results.append(message)
        return results[::-1]

    def tool_result_text(self) -> str:
        """Contents of :meth:`tool_results`, joined by newlines."""
        return "\n".join(content_text(message.get("content")) for message in self.tool_results())


Policy = Callable[[ChatRequest], ScriptItem]
"""A script as a function of the request."""
