"""What every client of an OpenAI-compatible endpoint shares: the key, short error reasons,
and the check that a successful answer is a chat completion at all.

Used by the candidate (``understudy.replay.candidate``) and the LLM judge
(``understudy.judges.llm``), which must not depend on each other.

An endpoint, or a proxy in front of it, can answer HTTP 200 with an HTML page, a body cut
short, or a completion without choices, which the openai client would either fail to parse or
return half-empty. :func:`completion_problem` says what is wrong with such a body, so that a
client can treat it as a failed attempt, and :func:`retry_delay` is the back-off to wait before
the next one.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from understudy.errors import ConfigError

if TYPE_CHECKING:  # the client is loaded when one is made: the CLI starts without it
    import openai

__all__ = [
    "LOCAL_API_KEY",
    "api_key_for",
    "async_client",
    "check_retries",
    "completion_problem",
    "endpoint_url",
    "is_loopback",
    "request_options",
    "retry_delay",
    "short_reason",
    "status_reason",
]

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


DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
"""The variable a client's API key is read from unless told another (``api_key_env``)."""


def key_environment(options: Mapping[str, Any]) -> dict[str, str]:
    """The variable a worker elsewhere needs to make a client of ``options`` (keyword arguments
    with an optional ``api_key_env``): the API key's, when it is set here; never logged."""
    name = str(options.get("api_key_env", DEFAULT_API_KEY_ENV))
    return {name: os.environ[name]} if name in os.environ else {}


def endpoint_url(base_url: str | None) -> str | None:
    """The endpoint a client talks to: ``base_url``, else ``OPENAI_BASE_URL``, else None (the
    openai client's default)."""
    return base_url or os.environ.get("OPENAI_BASE_URL") or None


def async_client(
    base_url: str | None,
    api_key_env: str,
    *,
    max_retries: int,
    timeout_s: float,
    http_client: Any = None,
) -> openai.AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` for ``base_url`` (already resolved by :func:`endpoint_url`),
    with the key :func:`api_key_for` gives, over ``http_client`` when given (one made by
    :func:`understudy.plain_http.async_http_client`, with request hooks), else over a new one
    of that function's."""
    import openai

    from understudy.plain_http import async_http_client

    return openai.AsyncOpenAI(
        api_key=api_key_for(base_url, api_key_env),
        base_url=base_url,
        max_retries=max_retries,
        timeout=timeout_s,
        http_client=async_http_client() if http_client is None else http_client,
    )


def check_retries(max_retries: int, timeout_s: float) -> None:
    """A ConfigError for retry settings no client can use."""
    if max_retries < 0:
        raise ConfigError(f"max_retries must be 0 or more, not {max_retries}")
    if timeout_s <= 0:
        raise ConfigError(f"timeout_s must be positive, not {timeout_s}")


def request_options(
    temperature: float | None,
    max_tokens: int | None,
    json_schema: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The optional parameters of a chat-completions request: sampling, and structured output
    as a strict JSON Schema when ``json_schema`` (its name and schema) is given."""
    options: dict[str, Any] = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if json_schema is not None:
        name, schema = json_schema
        options["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    return options


def short_reason(text: str) -> str:
    """``text`` on one line, cut to 200 characters."""
    line = " ".join(text.split())
    return line if len(line) <= _REASON_LIMIT else line[: _REASON_LIMIT - 3] + "..."


def status_reason(error: openai.APIStatusError) -> str:
    """The endpoint's own error message and type, short; never the request."""
    return _error_reason(error.body) or short_reason(type(error).__name__)


# -- successful answers that are not chat completions ----------------------------------------


def retry_delay(retries_done: int) -> float:
    """Seconds to wait before retry number ``retries_done + 1``: the openai client's own back-off
    after a 5xx without ``Retry-After`` (0.5 s, doubling up to 8 s, less up to a quarter at
    random so that clients do not retry in step)."""
    return min(0.5 * 2.0**retries_done, 8.0) * (1 - 0.25 * random.random())


def completion_problem(body: bytes) -> str | None:
    """What keeps ``body`` from being read as a chat completion (None when it can be).

    Only what a client relies on is checked: a JSON object with a first choice whose message is
    an object, with text (or null) content and well-formed tool calls.
    """
    try:
        payload = _json_of(body)
    except UnicodeDecodeError:
        return "the body is not JSON: it is not UTF-8 text"
    except json.JSONDecodeError as exc:
        reason = exc.msg.removesuffix(" at")  # "Unterminated string starting at"
        return f"the body is not JSON: {reason} (character {exc.pos} of {len(body)})"
    if not isinstance(payload, dict):
        return f"the body is JSON {type(payload).__name__}, not an object"
    choices = payload.get("choices")
    if not choices and payload.get("error"):
        reason = _error_reason(payload["error"]) or "no message"
        return f"the body is an error, not a completion: {reason}"
    if not isinstance(choices, list) or not choices:
        return "the body has no choices"
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        return "choice 0 has no message"
    for field in ("content", "refusal"):
        if not isinstance(message.get(field), str | None):
            return f"the {field} of choice 0 is not text"
    calls = message.get("tool_calls")
    if not isinstance(calls, list | None):
        return "the tool_calls of choice 0 are not a list"
    for position, call in enumerate(calls or []):
        problem = _tool_call_problem(call)
        if problem:
            return f"tool call {position} of choice 0 {problem}"
    if not isinstance(payload.get("usage"), dict | None):
        return "the usage is not an object"
    return None


def _json_of(body: bytes) -> Any:
    """``json.loads(body)``, by orjson when it can (several times faster on a completion):
    what orjson refuses (NaN, integers beyond 64 bits, lone surrogates) is read, or refused
    with its message, by ``json``."""
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _tool_call_problem(call: Any) -> str | None:
    """What is wrong with one wire tool call (a function call or a custom tool's call)."""
    if not isinstance(call, dict):
        return "is not an object"
    function = call.get("function")
    custom = call.get("custom")
    if isinstance(function, dict):
        inputs: Any = function.get("arguments")
        name = function.get("name")
    elif isinstance(custom, dict):
        inputs, name = custom.get("input"), custom.get("name")
    else:
        return "has no function"
    if not isinstance(name, str) or not name:
        return "has no name"
    if not isinstance(inputs, str | dict | None):
        return "has arguments that are neither text nor an object"
    return None


def _error_reason(error: Any) -> str:
    """An error object's type and message, short (the endpoint's words, never the request);
    empty when it has neither."""
    if isinstance(error, Mapping):
        kind = error.get("type") or error.get("code")
        parts = [str(part) for part in (kind, error.get("message")) if part]
        return short_reason(": ".join(parts)) if parts else ""
    return short_reason(str(error)) if isinstance(error, str) else ""
