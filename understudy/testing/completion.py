"""The chat completion the server answers a :class:`ScriptedTurn` with, token usage included.

The body's shapes are those of :mod:`understudy.wire`. Token counts are rough but deterministic
(one token per four characters), so tests can assert on ``usage`` without a tokenizer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from understudy.testing.request import ChatRequest
from understudy.testing.script import ScriptedTurn
from understudy.wire import (
    content_text,
    wire_assistant_message,
    wire_choice,
    wire_completion,
    wire_tool_call,
    wire_usage,
)

__all__ = ["chat_completion", "count_tokens"]


def count_tokens(text: str) -> int:
    """A rough, deterministic token count: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    total = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            continue
        total += 3 + count_tokens(content_text(message.get("content")))
        if message.get("tool_calls"):
            total += count_tokens(json.dumps(message["tool_calls"], sort_keys=True))
    if body.get("tools"):
        total += count_tokens(json.dumps(body["tools"], sort_keys=True))
    return total


def chat_completion(
    request: ChatRequest, turn: ScriptedTurn, *, created: int, model: str
) -> dict[str, Any]:
    """The ``chat.completion`` JSON answering ``request`` with ``turn``."""
    tool_calls = [
        wire_tool_call(
            f"call_{request.index}_{position}",
            name,
            arguments if isinstance(arguments, str) else json.dumps(arguments),
        )
        for position, (name, arguments) in enumerate(turn.tool_calls)
    ]
    message = wire_assistant_message(turn.content, tool_calls, reasoning=turn.reasoning)
    completion_text = (turn.content or "") + (turn.reasoning or "")
    completion_tokens = count_tokens(completion_text) + sum(
        count_tokens(call["function"]["name"] + call["function"]["arguments"])
        for call in tool_calls
    )
    prompt_tokens = _prompt_tokens(request.body)
    finish_reason = turn.finish_reason or ("tool_calls" if tool_calls else "stop")
    return wire_completion(
        f"chatcmpl-scripted-{request.index}",
        created=created,
        model=model,
        choices=[wire_choice(message, finish_reason)],
        usage=wire_usage(prompt_tokens, completion_tokens),
    )
