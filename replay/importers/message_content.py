"""Message content of any common shape (strings, OpenAI/Anthropic/Codex/inspect part lists)
flattened to the text a :class:`~understudy.trajectory.Message` holds."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from understudy.trajectory import Message

__all__ = ["IMAGE_PLACEHOLDER", "compact_json", "first_user_text", "flatten_content"]

IMAGE_PLACEHOLDER = "[image]"
"""What an image part of a multi-part message becomes."""


def flatten_content(content: Any) -> str:
    """Flatten message content of any common shape to text.

    * ``None`` -> ``""``; a string is returned as is.
    * A list of parts (OpenAI, Anthropic, Codex, inspect): text parts (``type`` in ``text``,
      ``input_text``, ``output_text``, or any part with a string ``text``) keep their text;
      image parts (``image_url``, ``image``, ``input_image``, ``output_image``) become
      :data:`IMAGE_PLACEHOLDER`; ``refusal`` parts keep their refusal text; nested ``content``
      (Anthropic ``tool_result`` blocks) is flattened recursively; other parts (audio, files,
      ``thinking``/``reasoning`` -- take those separately) are dropped. Parts are joined with
      ``"\\n"``.
    * A single part dict is treated as a one-part list.
    * Anything else (numbers, unknown objects) is rendered as compact JSON.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        content = [content]
    if isinstance(content, list | tuple):
        texts = [text for part in content if (text := _part_text(part)) is not None]
        return "\n".join(texts)
    return compact_json(content)


_IMAGE_TYPES = frozenset({"image", "image_url", "input_image", "output_image", "image_file"})
_DROPPED_TYPES = frozenset(
    {"thinking", "redacted_thinking", "reasoning", "audio", "input_audio", "file", "input_file"}
)


def _part_text(part: Any) -> str | None:
    if part is None:
        return None
    if isinstance(part, str):
        return part
    if not isinstance(part, Mapping):
        return compact_json(part)
    kind = part.get("type")
    if not isinstance(kind, str):
        kind = None
    if kind in _IMAGE_TYPES:
        return IMAGE_PLACEHOLDER
    if kind in _DROPPED_TYPES:
        return None
    if isinstance(part.get("text"), str):
        return str(part["text"])
    if kind == "refusal" and isinstance(part.get("refusal"), str):
        return str(part["refusal"])
    if "content" in part:
        return flatten_content(part["content"])
    return None


def compact_json(value: Any) -> str:
    """``value`` as compact JSON (non-JSON values via ``str``); never raises."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        return str(value)


def first_user_text(messages: Iterable[Message]) -> str:
    """The content of the first user message (the usual ``Session.task``), or ``""``."""
    for message in messages:
        if message.role == "user" and message.content:
            return message.content
    return ""
