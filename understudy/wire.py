"""The OpenAI chat-completions wire format: tool specs, tool calls, messages and completions.

Both ends of the API write and read these shapes: candidates and exports send requests
(:func:`message_to_wire`, :func:`tool_to_wire`, :func:`tool_call_to_wire`) and read completions
(:func:`reply_message`, :func:`reply_usage`); the scripted server of :mod:`understudy.testing`
reads requests (:func:`content_text`) and writes completions (:func:`wire_completion` and the
``wire_*`` parts it is built from). Keeping both ends here keeps them one format.

Outgoing, a :class:`~understudy.trajectory.Message` keeps only what the API takes (tool-call
arguments as JSON text, or verbatim when they were not valid JSON). Incoming, a completion's
first choice becomes an assistant message: reasoning from ``reasoning_content`` or
``reasoning``, tool-call arguments parsed when they are a JSON object and kept raw otherwise, a
refusal as the content. The body has been checked before (see
:func:`understudy.endpoints.completion_problem`), so the fields read here are there and typed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from understudy.trajectory import Message, ToolCall, ToolSpec

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

__all__ = [
    "content_text",
    "message_to_wire",
    "parse_arguments",
    "reply_message",
    "reply_usage",
    "tool_call_to_wire",
    "tool_to_wire",
    "wire_assistant_message",
    "wire_choice",
    "wire_completion",
    "wire_tool_call",
    "wire_usage",
]

# -- tool specs and tool calls -----------------------------------------------------------------


def tool_to_wire(tool: ToolSpec) -> dict[str, Any]:
    """A tool spec as a chat-completions ``tools`` entry."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def wire_tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """A ``tool_calls`` entry: a function call with its arguments as sent (JSON text)."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_call_to_wire(call: ToolCall) -> dict[str, Any]:
    """A tool call as a chat-completions ``tool_calls`` entry: arguments as JSON text, or
    verbatim from ``raw_arguments`` when they were not valid JSON."""
    arguments = call.raw_arguments
    if arguments is None:
        arguments = json.dumps(call.arguments, ensure_ascii=False)
    return wire_tool_call(call.id, call.name, arguments)


def parse_arguments(raw: str | dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """``(arguments, raw_arguments)``: parsed when ``raw`` is a JSON object, kept raw otherwise.

    Some endpoints send the arguments as an object rather than as its JSON text; it is taken
    as it is.
    """
    if isinstance(raw, dict):
        return dict(raw), None
    if raw is None or not raw.strip():
        return {}, None  # no arguments at all: the same as ``{}``
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}, raw
    if not isinstance(parsed, dict):
        return {}, raw
    return parsed, None


# -- messages ----------------------------------------------------------------------------------


def wire_assistant_message(
    content: str | None,
    tool_calls: Sequence[dict[str, Any]] = (),
    reasoning: str | None = None,
) -> dict[str, Any]:
    """An assistant message: ``tool_calls`` only when there are some, ``reasoning_content``
    (as vLLM and DeepSeek send it) only when ``reasoning`` is given."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return message


def message_to_wire(message: Message) -> dict[str, Any]:
    """A message in the chat-completions request format.

    Assistant tool-call arguments go out as a JSON string, or verbatim from ``raw_arguments``
    when that is set; ``reasoning``, ``meta`` and the other bookkeeping fields are not sent.
    """
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": _as_the_model_saw_it(message),
        }
    if message.role == "assistant":
        calls = [tool_call_to_wire(call) for call in message.tool_calls]
        # "content": null is what the API itself returns for a turn of tool calls only.
        content = (message.content or None) if calls else message.content
        return wire_assistant_message(content, calls)
    return {"role": message.role, "content": message.content}


def codex_function_output(output: str, exit_code: int, duration_s: float) -> str:
    """The ``function_call_output`` JSON that Codex CLI 0.40 sent the model for a shell call."""
    metadata = {"exit_code": exit_code, "duration_seconds": duration_s}
    payload = {"output": output, "metadata": metadata}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _as_the_model_saw_it(message: Message) -> str:
    """A tool result's content as its harness showed it to the model: a Codex result that the
    importer took out of its JSON (``meta.output_format == "json"``) goes back into it, as a
    live Codex result is shown, so that a replay's conversation is in one form throughout."""
    meta = message.meta
    if meta.get("output_format") != "json":
        return message.content
    exit_code = meta.get("exit_code", 0)
    duration = meta.get("duration_s", 0.0)
    return codex_function_output(
        message.content,
        exit_code if isinstance(exit_code, int) else 0,
        float(duration) if isinstance(duration, int | float) else 0.0,
    )


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


# -- completions -------------------------------------------------------------------------------


def wire_choice(message: Mapping[str, Any], finish_reason: str) -> dict[str, Any]:
    """The first (and only) entry of a completion's ``choices``."""
    return {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}


def wire_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """A completion's ``usage``, its total included."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def wire_completion(
    completion_id: str,
    *,
    created: int,
    model: str,
    choices: list[dict[str, Any]],
    usage: dict[str, int],
) -> dict[str, Any]:
    """A ``chat.completion`` body."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def reply_message(completion: ChatCompletion, model: str) -> Message:
    """The assistant message of a completion (which has a choice), as understudy keeps it."""
    choice = completion.choices[0]
    wire = choice.message
    extra = wire.model_extra or {}
    # vLLM, DeepSeek and SGLang send reasoning_content; OpenRouter and Ollama send reasoning.
    reasoning = extra.get("reasoning_content") or extra.get("reasoning")
    calls = [
        _reply_tool_call(call, position) for position, call in enumerate(wire.tool_calls or [])
    ]
    content = wire.content
    meta: dict[str, Any] = {
        "model": completion.model or model,
        "finish_reason": choice.finish_reason,
    }
    if content is None and wire.refusal:
        content = wire.refusal
        meta["refusal"] = True
    return Message(
        role="assistant",
        content=content or "",
        reasoning=str(reasoning) if reasoning else None,
        tool_calls=calls,
        meta=meta,
    )


def _reply_tool_call(call: object, position: int) -> ToolCall:
    """One tool call of a completion; one without an id gets a made-up one."""
    call_any = cast(Any, call)
    function = getattr(call_any, "function", None)
    raw: str | dict[str, Any] | None
    if function is not None:
        name, raw = str(function.name), function.arguments
    else:  # a custom (free-form) tool call: its input is not JSON arguments
        custom = call_any.custom
        name, raw = str(custom.name), custom.input
    arguments, raw_arguments = parse_arguments(raw)
    if function is None and raw_arguments is None and isinstance(raw, str) and raw:
        raw_arguments = raw
    call_id = str(call_any.id or f"call_{uuid.uuid4().hex[:12]}_{position}")
    return ToolCall(id=call_id, name=name, arguments=arguments, raw_arguments=raw_arguments)


def reply_usage(completion: ChatCompletion) -> dict[str, int]:
    """The token counts of a completion; a count the endpoint left out or garbled is 0."""
    usage = completion.usage
    if usage is None:
        return {}
    return {
        name: _tokens(getattr(usage, name, None))
        for name in ("prompt_tokens", "completion_tokens", "total_tokens")
    }


def _tokens(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
