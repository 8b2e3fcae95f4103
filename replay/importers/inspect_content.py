"""The content of inspect_ai messages: ``attachment://<hash>`` references (long text the log
moved to the sample's ``attachments``) replaced by their text, and a message's parts split into
its text and its reasoning."""

from __future__ import annotations

import re
from typing import Any

from understudy.replay.importers.common import IMAGE_PLACEHOLDER, flatten_content

__all__ = ["message_parts", "resolve_attachments"]

_ATTACHMENT = re.compile(r"attachment://([A-Za-z0-9_-]+)")


def resolve_attachments(value: Any, attachments: dict[str, Any], missing: set[str]) -> Any:
    """``value`` with every ``attachment://<hash>`` replaced by its text (recursively).

    References whose hash is not in ``attachments`` are left as they are and added to
    ``missing``.
    """
    if isinstance(value, str):
        if "attachment://" not in value:
            return value

        def substitute(match: re.Match[str]) -> str:
            found = attachments.get(match.group(1))
            if isinstance(found, str):
                return found
            missing.add(match.group(1))
            return match.group(0)

        return _ATTACHMENT.sub(substitute, value)
    if isinstance(value, dict):
        return {key: resolve_attachments(item, attachments, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_attachments(item, attachments, missing) for item in value]
    return value


def message_parts(content: Any) -> tuple[str, str | None]:
    """Text and reasoning of inspect message content (a string or a list of parts)."""
    if isinstance(content, str) or content is None:
        return content or "", None
    parts = content if isinstance(content, list) else [content]
    texts: list[str] = []
    reasoning: list[str] = []
    for part in parts:
        if isinstance(part, dict) and part.get("type") == "reasoning":
            text = part.get("summary") if part.get("redacted") else part.get("reasoning")
            if isinstance(text, str) and text:
                reasoning.append(text)
            continue
        if isinstance(part, dict) and part.get("type") in ("image", "video", "audio"):
            texts.append(IMAGE_PLACEHOLDER if part.get("type") == "image" else f"[{part['type']}]")
            continue
        text = flatten_content(part)
        if text:
            texts.append(text)
    return "\n".join(texts), ("\n".join(reasoning) if reasoning else None)
