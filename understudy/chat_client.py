"""Chat-completions requests to an OpenAI-compatible endpoint, sent as the openai client sends
them but without its per-request machinery.

``openai.AsyncOpenAI.post`` spends about 0.4 ms of CPU on a request before a byte is sent. It
copies and validates the request options model, parses the URL three times and merges the
headers into new ``Headers`` four times. That was more than half of a model request's CPU in a
rollout. A :class:`ChatClient` builds what does not change once: the client's own headers (its
key, organization, project, user agent and platform headers), the URL and the timeout. To an
``http://`` endpoint, each body goes straight over the lighter transport of
:mod:`understudy.plain_http`, under a head built once as the client's HTTP client would send
it; an answer that is compressed, a redirect or a refusal is then read as an httpx response.
To any other endpoint, and where the environment names a proxy, it goes through the client's
HTTP client.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from understudy.endpoints import async_client, retry_delay
from understudy.plain_http import http_client_over, httpx_module, plain_transport, request_head

if TYPE_CHECKING:  # loaded when a client is made: the CLI starts without them
    import openai
    from openai.types.chat import ChatCompletion

__all__ = [
    "MAX_RETRY_AFTER_S",
    "Answer",
    "ChatClient",
    "encode_body",
    "parsed_completion",
    "retried_status",
    "retry_after",
]

MAX_RETRY_AFTER_S = 120.0
"""The longest wait an endpoint may ask for and still be asked again (the openai client's)."""
RETRY_COUNT_HEADER = "x-stainless-retry-count"
"""The header that numbers a request's attempts (0 for the first), as the openai client does."""
RETRY_COUNT = RETRY_COUNT_HEADER.encode()
_RETRIED_STATUSES = frozenset({408, 409, 429})
"""Statuses below 500 that are retried (the openai client's choice)."""
_INFINITY = frozenset({"inf", "+inf", "infinity", "+infinity"})


class ChatClient:
    """An ``openai.AsyncOpenAI`` for ``base_url`` (:attr:`client`), with the key that
    :func:`~understudy.endpoints.api_key_for` gives, and chat-completions requests posted
    over its HTTP client (:meth:`post`). ``on_attempt`` is called as each attempt starts."""

    def __init__(
        self,
        base_url: str | None,
        api_key_env: str,
        *,
        max_retries: int,
        timeout_s: float,
        on_attempt: Callable[[], None] | None = None,
    ) -> None:
        self._plain = plain_transport()
        self.http: Any = http_client_over(self._plain)
        self.client = async_client(
            base_url,
            api_key_env,
            max_retries=max_retries,
            timeout_s=timeout_s,
            http_client=self.http,
        )
        self._on_attempt = on_attempt
        self._fixed: _Fixed | None = None

    @property
    def base_url(self) -> str:
        """The endpoint, as the client resolved it."""
        return str(self.client.base_url)

    async def post(
        self, body: Mapping[str, Any], *, max_retries: int | None = None, retries_before: int = 0
    ) -> Any:
        """POST ``body``, a chat-completions request already in wire format; the successful
        answer (``.content``, ``.status_code``).

        ``max_retries`` defaults to the client's. ``retries_before`` counts attempts already
        made for this body elsewhere: this call's attempts are numbered after them.
        """
        import openai

        httpx = httpx_module()
        content = encode_body(body)
        retries = self.client.max_retries if max_retries is None else max_retries
        for retries_taken in range(retries + 1):
            number = retries_before + retries_taken
            last = retries_taken == retries
            if self._on_attempt is not None:
                self._on_attempt()
            try:
                response = await self._send(content, number)
            except (httpx.RequestError, ssl.SSLError) as failure:  # timeouts among them
                if last:
                    timed_out = isinstance(failure, httpx.TimeoutException)
                    kind = openai.APITimeoutError if timed_out else openai.APIConnectionError
                    request = self._request(self._fixed or self._fix(), content, number)
                    raise kind(request=request) from failure
                await asyncio.sleep(retry_delay(retries_taken))
                continue
            if response.is_success:
                return response
            asked = retry_after(response.headers)
            if last or not _retried(response, asked):
                raise _status_error(response)
            await asyncio.sleep(_wait(asked, retries_taken))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _send(self, content: bytes, number: int) -> Any:
        """One attempt's answer: straight over the lighter transport where the endpoint is
        plain HTTP (an :class:`Answer`, or an httpx response when it is not a success read
        as it came), else through the HTTP client (an httpx response)."""
        fixed = self._fixed or self._fix()
        if fixed.direct is None or self._plain is None:
            return await self.http.send(self._request(fixed, content, number))
        endpoint, head, timeouts = fixed.direct
        tail = b"content-length: %d\r\n%s: %d\r\n\r\n" % (len(content), RETRY_COUNT, number)
        status, headers, body = await self._plain.exchange(
            endpoint, head + tail + content, timeouts
        )
        if 200 <= status < 300 and not _encoded(headers):
            return Answer(status, body)
        request = self._request(fixed, content, number)
        if 300 <= status < 400:  # a redirect: the HTTP client follows it
            return await self.http.send(request)
        response = httpx_module().Response(status, headers=headers, content=body, request=request)
        await response.aread()  # decoded as its Content-Encoding says
        return response

    def _request(self, fixed: _Fixed, content: bytes, number: int) -> Any:
        """The attempt as an httpx request."""
        return self.http.build_request(
            "POST",
            fixed.url,
            content=content,
            headers={**fixed.headers, RETRY_COUNT_HEADER: str(number)},
            timeout=self.client.timeout,
        )

    def _fix(self) -> _Fixed:
        """What every request carries: the client's own URL and headers, but for the options it
        leaves out (``Omit``) and those of one attempt; and, for a plain-HTTP endpoint, the
        same request's head as the HTTP client would send it."""
        client = self.client
        headers = {
            name: value
            for name, value in {**client.default_headers, **client.auth_headers}.items()
            if isinstance(value, str)
        }
        headers["x-stainless-read-timeout"] = str(httpx_module().Timeout(client.timeout).read)
        base = client.base_url
        url = str(base.copy_with(raw_path=base.raw_path + b"chat/completions"))
        fixed = _Fixed(url, headers, None)
        request = self._request(fixed, b"", 0)
        if self._plain is not None and request.url.scheme == "http":
            per_attempt = {b"content-length", RETRY_COUNT}
            kept = [
                (name, value)
                for name, value in request.headers.raw
                if name.lower() not in per_attempt
            ]
            head = request_head("POST", request.url.raw_path, kept)[: -len(b"\r\n")]
            endpoint = (request.url.host, request.url.port or 80)
            timeouts = request.extensions.get("timeout", {})
            fixed = _Fixed(url, headers, (endpoint, head, timeouts))
        self._fixed = fixed
        return fixed

    async def close(self) -> None:
        """Close the client and its connections."""
        await self.client.close()


@dataclass(frozen=True)
class _Fixed:
    url: str
    headers: dict[str, str]
    direct: tuple[tuple[str, int], bytes, dict[str, Any]] | None
    """For a plain-HTTP endpoint: its (host, port), the request's head but for the headers of
    one attempt, and its timeouts."""


class Answer:
    """A successful answer read as it came (not encoded): what a caller reads of an httpx
    response."""

    __slots__ = ("content", "status_code")
    is_success = True

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content


def _encoded(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the answer's body is compressed (``Content-Encoding`` other than identity)."""
    return any(
        name.lower() == b"content-encoding" and value.strip().lower() != b"identity"
        for name, value in headers
    )


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


def retried_status(status: int) -> bool:
    """Whether the openai client asks again after an answer of ``status`` (its endpoint saying
    nothing of its own about it)."""
    return status in _RETRIED_STATUSES or status >= 500


def _retried(response: Any, asked: float | None) -> bool:
    """Whether the openai client would ask again after ``response`` (a failed status) that
    asked for a wait of ``asked`` seconds."""
    if asked is not None and math.isfinite(asked) and asked > MAX_RETRY_AFTER_S:
        return False
    told = response.headers.get("x-should-retry")
    if told in ("true", "false"):
        return bool(told == "true")
    return retried_status(int(response.status_code))


def _wait(asked: float | None, retries_taken: int) -> float:
    """Seconds to wait before the next attempt: what the answer asked (``asked``), up to two
    minutes; else the client's back-off."""
    if asked is not None and math.isfinite(asked) and 0 < asked <= MAX_RETRY_AFTER_S:
        return asked
    return retry_delay(retries_taken)


def _status_error(response: Any) -> openai.APIStatusError:
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
