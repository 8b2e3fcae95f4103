"""Chat-completions requests to an OpenAI-compatible endpoint, sent as the openai client sends
them but without its per-request machinery.

``openai.AsyncOpenAI.post`` spends about 0.4 ms of CPU on a request before a byte is sent. It
copies and validates the request options model, parses the URL three times and merges the
headers into new ``Headers`` four times. That was more than half of a model request's CPU in a
rollout. A :class:`ChatClient` builds what does not change once: the client's own headers (its
key, organization, project, user agent and platform headers), the URL and the timeout. Each
body then goes out over the client's own HTTP client
(:func:`understudy.plain_http.async_http_client`), with its transport, hooks and proxies.

It makes the client's retries itself, as the client makes them. ``max_retries`` attempts follow
the first one after a timeout, a failed connection, or an answer of status 408, 409, 429 or 5xx.
The endpoint's ``x-should-retry`` header overrides that choice, and an answer that asks for a
wait of more than two minutes is not retried. The wait is what the endpoint asks for
(``retry-after-ms``, ``retry-after``), else :func:`~understudy.endpoints.retry_delay`. Each
attempt carries its number in ``x-stainless-retry-count``.

Failures raise the client's own errors. A timeout raises ``APITimeoutError``, and a failed
connection raises ``APIConnectionError`` with the transport's error as its cause. A refused
request raises the ``APIStatusError`` subclass the client raises for its status, with the
endpoint's error object as its ``body``. The answer is the HTTP response, and
:func:`parsed_completion` reads it into the client's typed ``ChatCompletion``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from understudy.endpoints import async_client, retry_delay
from understudy.plain_http import async_http_client, httpx_module

if TYPE_CHECKING:  # loaded when a client is made: the CLI starts without them
    import openai
    from openai.types.chat import ChatCompletion

__all__ = ["MAX_RETRY_AFTER_S", "ChatClient", "encode_body", "parsed_completion", "retry_after"]

MAX_RETRY_AFTER_S = 120.0
"""The longest wait an endpoint may ask for and still be asked again (the openai client's)."""
RETRY_COUNT_HEADER = "x-stainless-retry-count"
"""The header that numbers a request's attempts (0 for the first), as the openai client does."""
_RETRIED_STATUSES = frozenset({408, 409, 429})
"""Statuses below 500 that are retried (the openai client's choice)."""
_INFINITY = frozenset({"inf", "+inf", "infinity", "+infinity"})


class ChatClient:
    """An ``openai.AsyncOpenAI`` for ``base_url`` (:attr:`client`), with the key that
    :func:`~understudy.endpoints.api_key_for` gives, and chat-completions requests posted
    over its HTTP client (:meth:`post`). ``event_hooks`` are the HTTP client's (httpx's)."""

    def __init__(
        self,
        base_url: str | None,
        api_key_env: str,
        *,
        max_retries: int,
        timeout_s: float,
        event_hooks: Mapping[str, list[Any]] | None = None,
    ) -> None:
        self.http: Any = async_http_client(**({"event_hooks": event_hooks} if event_hooks else {}))
        self.client = async_client(
            base_url,
            api_key_env,
            max_retries=max_retries,
            timeout_s=timeout_s,
            http_client=self.http,
        )
        self._fixed: tuple[str, dict[str, str]] | None = None

    @property
    def base_url(self) -> str:
        """The endpoint, as the client resolved it."""
        return str(self.client.base_url)

    async def post(
        self, body: Mapping[str, Any], *, max_retries: int | None = None, retries_before: int = 0
    ) -> Any:
        """POST ``body``, a chat-completions request already in wire format; the successful
        HTTP response (``.content``, ``.status_code``, ``.headers``).

        ``max_retries`` defaults to the client's. ``retries_before`` counts attempts already
        made for this body elsewhere: this call's attempts are numbered after them.
        """
        import openai

        httpx = httpx_module()
        content = encode_body(body)
        url, headers = self._fixed or self._fix()
        retries = self.client.max_retries if max_retries is None else max_retries
        for retries_taken in range(retries + 1):
            number = {RETRY_COUNT_HEADER: str(retries_before + retries_taken)}
            request = self.http.build_request(
                "POST",
                url,
                content=content,
                headers={**headers, **number},
                timeout=self.client.timeout,
            )
            last = retries_taken == retries
            try:
                response = await self.http.send(request)
            except httpx.TimeoutException as failure:
                if last:
                    raise openai.APITimeoutError(request=request) from failure
                await asyncio.sleep(retry_delay(retries_taken))
                continue
            except (httpx.RequestError, ssl.SSLError) as failure:
                if last:
                    raise openai.APIConnectionError(request=request) from failure
                await asyncio.sleep(retry_delay(retries_taken))
                continue
            if response.is_success:
                return response
            if last or not _retried(response):
                raise status_error(response)
            await asyncio.sleep(_wait(response.headers, retries_taken))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _fix(self) -> tuple[str, dict[str, str]]:
        """The URL and the headers of every request: the client's own, but for the options it
        leaves out (``Omit``) and those of one attempt."""
        client = self.client
        headers = {
            name: value
            for name, value in {**client.default_headers, **client.auth_headers}.items()
            if isinstance(value, str)
        }
        headers["x-stainless-read-timeout"] = str(httpx_module().Timeout(client.timeout).read)
        base = client.base_url
        url = str(base.copy_with(raw_path=base.raw_path + b"chat/completions"))
        self._fixed = url, headers
        return self._fixed

    async def close(self) -> None:
        """Close the client and its connections."""
        await self.client.close()


def encode_body(body: Mapping[str, Any]) -> bytes:
    """``body`` as JSON: by orjson, several times faster than ``json`` on a conversation; what
    orjson refuses (a lone surrogate, an integer beyond 64 bits) by ``json``, whose ASCII
    output escapes what UTF-8 cannot hold."""
    import orjson

    try:
        return orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(body).encode()


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds an answer asks to wait before the next attempt (``retry-after-ms``, else
    ``retry-after`` in seconds or as a date); None when it asks nothing readable."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds == math.inf and value.strip().lower() not in _INFINITY:
            return MAX_RETRY_AFTER_S + 1  # a number too large for a float: far too long
        return seconds / divisor
    try:
        date = email.utils.parsedate_tz(headers.get("retry-after"))
        return None if date is None else float(email.utils.mktime_tz(date) - time.time())
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _retried(response: Any) -> bool:
    """Whether the openai client would ask again after ``response`` (a failed status)."""
    wait = retry_after(response.headers)
    if wait is not None and math.isfinite(wait) and wait > MAX_RETRY_AFTER_S:
        return False
    told = response.headers.get("x-should-retry")
    if told in ("true", "false"):
        return bool(told == "true")
    status = int(response.status_code)
    return status in _RETRIED_STATUSES or status >= 500


def _wait(headers: Mapping[str, str], retries_taken: int) -> float:
    """Seconds to wait before the next attempt: what the answer asks, up to two minutes; else
    the client's back-off."""
    wait = retry_after(headers)
    if wait is not None and math.isfinite(wait) and 0 < wait <= MAX_RETRY_AFTER_S:
        return wait
    return retry_delay(retries_taken)


def status_error(response: Any) -> openai.APIStatusError:
    """The openai client's error for a refused request: the class it raises for the status,
    its message, and the endpoint's error object (else the body's JSON, else its text)."""
    import openai

    text = response.text.strip()
    body: Any = text
    with contextlib.suppress(ValueError):
        body = json.loads(text)
    error = body.get("error", body) if isinstance(body, Mapping) else body
    message = f"Error code: {response.status_code}"
    detail = error.get("message") if isinstance(error, Mapping) else None
    if isinstance(detail, str) and detail:
        message += f" - {detail}"
    by_status: dict[int, type[openai.APIStatusError]] = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        403: openai.PermissionDeniedError,
        404: openai.NotFoundError,
        409: openai.ConflictError,
        422: openai.UnprocessableEntityError,
        429: openai.RateLimitError,
    }
    status = int(response.status_code)
    server = openai.InternalServerError if status >= 500 else openai.APIStatusError
    return by_status.get(status, server)(message, response=response, body=error)


def parsed_completion(response: Any) -> ChatCompletion:
    """The answer of :meth:`ChatClient.post` as a typed ``ChatCompletion``.

    Validating the bytes in one step (pydantic-core) is several times cheaper than building
    the models field by field. An answer that validation refuses but the client tolerates (a
    field missing, a type off) is built as the client builds it, without validation.
    """
    from openai.types.chat import ChatCompletion

    try:
        return ChatCompletion.model_validate_json(response.content)
    except ValueError:
        return ChatCompletion.construct(**json.loads(response.content))
