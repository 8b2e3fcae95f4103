"""One chat request as the scripted server received it, for a policy or a test to look at.

:class:`ChatRequest` reads the request body as the OpenAI chat-completions format has it (see
:mod:`understudy.wire`): the messages, the tools on offer, the sampling settings, the tool
results a scripted agent reacts to, and the headers the openai client sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from understudy.wire import content_text

__all__ = ["ChatRequest"]


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
