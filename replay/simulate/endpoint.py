"""The simulators' model endpoint: JSON replies validated against a schema, retried and cached.

One :class:`SimulatorEndpoint` serves a whole run; every rollout's simulator (and the
discriminator) asks through it. What it does for each request:

- **Structured output.** The schema is sent as ``response_format={"type": "json_schema", ...,
  "strict": true}``. An endpoint that rejects it (HTTP 400/422 naming ``response_format``,
  ``json_schema`` or structured output) is asked again with the schema spelt out in the system
  prompt, and the first JSON object of the reply text is used; the endpoint remembers the
  fallback for its later requests (``mode``), as the LLM judge does.
- **Validation.** The reply is checked with :mod:`jsonschema`; a reply that is not JSON or not
  valid is answered with a short note of what was wrong and asked again, up to
  :data:`MALFORMED_RETRIES` more times.
- **Endpoint failures** (no connection, timeouts, 408, 409, 429, 5xx, and HTTP 200 answers that
  are not chat completions, see :func:`~understudy.endpoints.completion_problem`) are retried
  here, not by the openai client, so that every kind is counted against the same
  ``max_retries``: after ``Retry-After`` when the endpoint sends one, else the candidate's
  back-off (:func:`~understudy.endpoints.retry_delay`).
- What still fails raises :class:`~understudy.errors.SimulatorError` with the status and the
  endpoint's own words, never the prompt, so the router can note it and pass on.
- **Cache.** With ``cache_path``, each validated reply is appended (and flushed) to a JSONL file
  under the sha256 of the canonical request (model, messages, schema name and schema,
  temperature); the file is read at start, so a rerun sends no request that was answered before
  and gets the same replies (reproducible reruns). The first reply stored under a key wins,
  in the file and in memory, so concurrent identical requests end up with one answer. A
  truncated line (a run killed mid-write) is skipped with a warning, not a crash.

The client is async; the cache's appends are a line each, written inline.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jsonschema

from understudy.chat_client import ChatClient, parsed_completion, retried_status, retry_after
from understudy.endpoints import (
    check_retries,
    completion_problem,
    endpoint_url,
    request_options,
    retry_delay,
    short_reason,
    status_reason,
)
from understudy.errors import SimulatorError
from understudy.logging import get_logger
from understudy.replay.candidate import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S
from understudy.replay.simulate.cache import ReplyCache, request_key

if TYPE_CHECKING:  # the client is loaded with the endpoint: the CLI starts without it
    import openai

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT_S",
    "MALFORMED_RETRIES",
    "STRUCTURED",
    "TEXT",
    "ReplyCache",
    "SimulatorEndpoint",
    "extract_json_object",
    "request_key",
]

log = get_logger("simulate.endpoint")

MALFORMED_RETRIES = 2
"""Times a reply that is not valid JSON for the schema is asked for again."""
MAX_RETRY_AFTER_S = 60.0
"""Longest ``Retry-After`` honoured; a longer one is cut to this."""

STRUCTURED = "json_schema"
TEXT = "text"


# -- reading a reply ---------------------------------------------------------------------------


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (the whole text, a fenced block, or one inside prose).

    The LLM judge has the same helper; it is repeated here so that replay does not depend on
    the judges' package.
    """
    try:
        whole = json.loads(text.strip())
    except ValueError:
        pass
    else:
        return whole if isinstance(whole, dict) else None
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            found, _ = decoder.raw_decode(text, start)
        except ValueError:
            found = None
        if isinstance(found, dict):
            return found
        start = text.find("{", start + 1)
    return None


def reply_problem(content: str, validator: jsonschema.protocols.Validator) -> str | None:
    """What keeps ``content`` from being a valid reply (None when it is one); short, and
    naming the schema's rules rather than quoting the reply."""
    if not content.strip():
        return "the reply is empty"
    data = extract_json_object(content)
    if data is None:
        return "the reply holds no JSON object"
    errors = sorted(validator.iter_errors(data), key=lambda error: list(error.absolute_path))
    problems = [_schema_error(error) for error in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(problems) + more if problems else None


def _schema_error(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "the object"
    if error.validator in ("required", "additionalProperties"):
        return short_reason(f"{where}: {error.message}")
    expected = short_reason(json.dumps(error.validator_value))
    return f"{where}: does not match the schema ({error.validator}: {expected})"


def retry_note(problem: str) -> str:
    """What the model is told after a reply that did not validate."""
    return (
        f"Your reply could not be used: {problem}. Reply again with only the JSON object, "
        "with every required field and nothing else."
    )


def schema_instructions(schema: dict[str, Any]) -> str:
    """The schema spelt out, for an endpoint that does not take ``response_format``."""
    return (
        "Reply with one JSON object only (no prose, no code fence), valid against this JSON "
        f"Schema:\n{json.dumps(schema, indent=2, sort_keys=True)}"
    )


# -- the endpoint ------------------------------------------------------------------------------


class _ResponseFormatRejected(Exception):
    """The endpoint refused the structured-output request; carries its words."""


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: why, whether asking again may help, and when."""

    reason: str
    retryable: bool
    retry_after: float | None = None


class SimulatorEndpoint:
    """A model behind an OpenAI-compatible endpoint that answers with JSON of a given schema.

    The key is read from ``api_key_env`` only (a loopback ``base_url`` works without one).
    ``max_retries`` retries follow a failed first attempt, each attempt taking at most
    ``timeout_s`` seconds. ``cache_path``: the reply cache's JSONL file (none when None).
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        *,
        temperature: float | None = 0,
        max_tokens: int | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_path: Path | None = None,
    ) -> None:
        check_retries(max_retries, timeout_s)
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.base_url = endpoint_url(base_url)
        # Retries are made here (see the module docstring), so the client makes none.
        self._chat = ChatClient(self.base_url, api_key_env, max_retries=0, timeout_s=timeout_s)
        self.cache = ReplyCache(cache_path) if cache_path is not None else None
        self.mode = STRUCTURED
        """``json_schema`` until the endpoint rejects it, then ``text`` (read from the reply)."""
        self.requests_sent = 0
        """Requests sent to the endpoint so far (cache hits send none)."""
        self._closed = False

    async def complete_json(
        self, messages: list[dict[str, Any]], schema: dict[str, Any], name: str
    ) -> dict[str, Any]:
        """The model's reply to ``messages``: a JSON object valid against ``schema`` (sent
        under ``name``), from the cache when this request was answered before."""
        if self._closed:
            raise SimulatorError("the simulator endpoint is closed")
        key = request_key(self.model, messages, schema, name, self.temperature)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            return cached
        reply = await self._ask(messages, schema, name)
        return self.cache.put(key, reply) if self.cache is not None else reply

    async def _ask(
        self, messages: list[dict[str, Any]], schema: dict[str, Any], name: str
    ) -> dict[str, Any]:
        """Ask until a reply validates, or raise once the malformed retries are spent."""
        validator = jsonschema.Draft202012Validator(schema)
        mode = self.mode
        conversation = self._conversation(messages, schema, mode)
        malformed = 0
        while True:
            try:
                content = await self._send(conversation, schema, name, mode)
            except _ResponseFormatRejected as rejected:
                log.info("simulate.fallback_to_text", model=self.model, reason=str(rejected))
                mode = self.mode = TEXT
                asked_again = conversation[len(messages) :]
                conversation = self._conversation(messages, schema, mode) + asked_again
                continue
            problem = reply_problem(content, validator)
            if problem is None:
                return cast("dict[str, Any]", extract_json_object(content))
            malformed += 1
            log.info("simulate.malformed_reply", model=self.model, attempt=malformed)
            if malformed > MALFORMED_RETRIES:
                raise SimulatorError(
                    f"simulator reply still invalid after {malformed} replies: {problem}"
                )
            conversation = [
                *conversation,
                {"role": "assistant", "content": content},
                {"role": "user", "content": retry_note(problem)},
            ]

    @staticmethod
    def _conversation(
        messages: list[dict[str, Any]], schema: dict[str, Any], mode: str
    ) -> list[dict[str, Any]]:
        """``messages`` as sent in ``mode``: in text mode the schema is spelt out in the system
        message (one is put first when there is none)."""
        if mode == STRUCTURED:
            return list(messages)
        instructions = schema_instructions(schema)
        if messages and messages[0].get("role") == "system":
            first = messages[0]
            return [{**first, "content": f"{first.get('content', '')}\n\n{instructions}"}]
        return [{"role": "system", "content": instructions}, *messages]

    def _options(self, schema: dict[str, Any], name: str, mode: str) -> dict[str, Any]:
        structured = (name, schema) if mode == STRUCTURED else None
        return request_options(self.temperature, self.max_tokens, structured)

    async def _send(
        self, conversation: list[dict[str, Any]], schema: dict[str, Any], name: str, mode: str
    ) -> str:
        """The text of the endpoint's reply, retrying failed attempts with back-off."""
        options = self._options(schema, name, mode)
        retries = 0
        while True:
            failure = await self._attempt(conversation, options, mode)
            if isinstance(failure, str):
                return failure
            if not failure.retryable or retries >= self.max_retries:
                attempts = retries + 1
                plural = "s" if attempts != 1 else ""
                log.warning(
                    "simulate.endpoint_failed",
                    model=self.model,
                    attempts=attempts,
                    reason=failure.reason,
                )
                raise SimulatorError(
                    f"simulator endpoint failed ({failure.reason}; {attempts} attempt{plural})"
                )
            await asyncio.sleep(failure.retry_after or retry_delay(retries))
            retries += 1

    async def _attempt(
        self, conversation: list[dict[str, Any]], options: dict[str, Any], mode: str
    ) -> str | _Failure:
        """One request: the reply's text, or why it failed."""
        import openai  # its errors, below (loaded by now: the client is made)

        self.requests_sent += 1
        try:
            body = {"model": self.model, "messages": conversation, **options}
            raw = await self._chat.post(body)
        except openai.APIStatusError as exc:
            reason = status_reason(exc)
            if mode == STRUCTURED and _rejects_response_format(exc):
                raise _ResponseFormatRejected(reason) from None
            status = exc.status_code
            retryable = retried_status(status)
            return _Failure(f"HTTP {status}: {reason}", retryable, _retry_after(exc))
        except openai.APITimeoutError:
            return _Failure(f"no answer within {self.timeout_s:g} s", retryable=True)
        except openai.APIConnectionError as exc:
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            return _Failure(f"cannot reach {self._chat.base_url} ({cause})", retryable=True)
        except openai.OpenAIError as exc:
            return _Failure(short_reason(type(exc).__name__), retryable=False)
        problem = completion_problem(raw.content)
        if problem is not None:
            return _Failure(f"HTTP {raw.status_code}: {problem}", retryable=True)
        completion = parsed_completion(raw)
        message = completion.choices[0].message
        return message.content or message.refusal or ""

    async def close(self) -> None:
        """Close the HTTP client and the cache file. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if self.cache is not None:
            self.cache.close()
        await self._chat.close()


def _rejects_response_format(error: openai.APIStatusError) -> bool:
    """An HTTP 400/422 that blames the structured-output request."""
    if error.status_code not in (400, 422):
        return False
    text = f"{status_reason(error)} {error.message}".lower()
    return any(word in text for word in ("response_format", "json_schema", "structured output"))


def _retry_after(error: openai.APIStatusError) -> float | None:
    """Seconds the endpoint asked to wait (see :func:`~understudy.chat_client.retry_after`),
    at most :data:`MAX_RETRY_AFTER_S`; None when it asked nothing readable."""
    seconds = retry_after(error.response.headers)
    return min(seconds, MAX_RETRY_AFTER_S) if seconds is not None and seconds > 0 else None
