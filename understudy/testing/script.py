"""What a test scripts: the items the scripted server answers with, or a policy that picks them.

A script item is a :class:`ScriptedTurn` (an assistant reply, optionally delayed), a
:class:`Fault` (an HTTP error such as 429 with ``Retry-After`` or 500, optionally delayed) or a
:class:`RawReply` (any status and body, sent as it is: the broken answers of a faulty endpoint or
proxy, see :mod:`understudy.testing.malformed`). A :data:`Policy` picks the item from each
:class:`~understudy.testing.request.ChatRequest`, the parsed request as the server received it,
so a scripted agent can react to tool results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from understudy.testing.request import ChatRequest

__all__ = ["Fault", "Policy", "RawReply", "ScriptItem", "ScriptedTurn"]


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
    error page or a cut-short JSON document;
    :data:`~understudy.testing.malformed.MALFORMED_REPLIES` names the usual ones.
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


ScriptItem = ScriptedTurn | Fault | RawReply
"""What the server answers one request with."""


Policy = Callable[[ChatRequest], ScriptItem]
"""A script as a function of the request."""
