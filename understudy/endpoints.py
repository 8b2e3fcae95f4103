"""What every client of an OpenAI-compatible endpoint shares: the key, and short error reasons.

Used by the candidate (``understudy.replay.candidate``) and the LLM judge
(``understudy.judges.llm``), which must not depend on each other.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import openai

from understudy.errors import ConfigError

__all__ = ["LOCAL_API_KEY", "api_key_for", "is_loopback", "short_reason", "status_reason"]

LOCAL_API_KEY = "understudy-local"
"""Sent to a loopback endpoint when the key variable is unset (local servers ignore keys)."""

_REASON_LIMIT = 200


def is_loopback(url: str | None) -> bool:
    """Whether ``url`` points at this machine (localhost, 127.0.0.0/8, ::1)."""
    if not url:
        return False
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_key_for(base_url: str | None, api_key_env: str) -> str:
    """The key to send to ``base_url``: from ``api_key_env`` only.

    The key is never taken from another variable, so a key meant for one endpoint is not sent to
    another; a loopback endpoint without a key gets :data:`LOCAL_API_KEY`. Anything else without
    a key is a :class:`ConfigError` naming the variable.
    """
    api_key = os.environ.get(api_key_env)
    if api_key:
        return api_key
    if is_loopback(base_url):
        return LOCAL_API_KEY
    where = base_url or "the default OpenAI endpoint"
    raise ConfigError(f"no API key for {where}: set the environment variable {api_key_env}")


def short_reason(text: str) -> str:
    """``text`` on one line, cut to 200 characters."""
    line = " ".join(text.split())
    return line if len(line) <= _REASON_LIMIT else line[: _REASON_LIMIT - 3] + "..."


def status_reason(error: openai.APIStatusError) -> str:
    """The endpoint's own error message and type, short; never the request."""
    body = error.body
    if isinstance(body, Mapping):
        message = body.get("message")
        kind = body.get("type") or body.get("code")
        parts = [str(part) for part in (kind, message) if part]
        if parts:
            return short_reason(": ".join(parts))
    return short_reason(type(error).__name__)
