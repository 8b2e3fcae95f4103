"""A lighter transport under the openai client, for endpoints reached over plain HTTP.

httpx's own transport (httpcore over anyio, with h11 parsing in pure Python) took about a third
of the CPU of a model request to a local endpoint, more than building and encoding the request.
Requests to ``http://`` endpoints -- local inference servers, the scripted test server -- go
instead over asyncio connections kept alive here, their answers parsed by httptools (llhttp, the
parser of Node.js). Everything above the transport stays the openai client's and httpx's:
retries, timeouts, headers, hooks, redirects, content decoding and the typed answers. Any other
scheme (``https``) goes through httpx's default transport, unchanged; and where the environment
names a proxy, the client is httpx's own throughout (see :func:`async_http_client`).

Answers are read whole (the model requests made here are never streamed). The transport raises
httpx's own exceptions -- ``ConnectError``, ``ConnectTimeout``, ``WriteTimeout``,
``ReadTimeout`` (no byte for the read timeout), ``ReadError`` and ``RemoteProtocolError`` --
which the openai client turns into ``APIConnectionError`` or ``APITimeoutError`` and retries,
as it does for its default transport. A kept-alive connection that the server closed while it
sat idle is replaced by a new one once, before the request counts as failed.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import importlib
import urllib.request
from collections.abc import Callable
from types import ModuleType
from typing import Any, cast

import httptools

__all__ = [
    "IDLE_CONNECTIONS_PER_HOST",
    "PlainHTTPTransport",
    "async_http_client",
    "http_client_over",
    "httpx_module",
    "plain_transport",
    "request_head",
]

IDLE_CONNECTIONS_PER_HOST = 100
"""Connections kept open for reuse to one endpoint (the openai client keeps 100 in all)."""
READ_SIZE = 1 << 16

Endpoint = tuple[str, int]


@functools.cache
def httpx_module() -> ModuleType:
    """The httpx that the installed openai client is built on (``httpx``, or its fork
    ``httpx2`` in newer clients): the answers and exceptions of a transport must be its own."""
    import openai

    base = openai.DefaultAsyncHttpxClient.__mro__[1]
    return importlib.import_module(base.__module__.partition(".")[0])


def async_http_client(**options: Any) -> Any:
    """The openai client's default async HTTP client (``openai.DefaultAsyncHttpxClient``, given
    ``options`` such as ``event_hooks``) with ``http://`` requests on the lighter transport
    (:func:`plain_transport`), when there is one."""
    return http_client_over(plain_transport(), **options)


def plain_transport() -> PlainHTTPTransport | None:
    """The lighter transport, unless the environment names a proxy (``HTTP_PROXY``,
    ``HTTPS_PROXY``, ``ALL_PROXY``): httpx reads those only for a client without a transport
    of its own, so such a client must keep httpx's."""
    return None if urllib.request.getproxies() else PlainHTTPTransport(_default_transport)


def http_client_over(transport: PlainHTTPTransport | None, **options: Any) -> Any:
    """The openai client's default async HTTP client over ``transport`` (httpx's own when
    None), given ``options`` such as ``event_hooks``."""
    import openai

    if transport is None:
        return openai.DefaultAsyncHttpxClient(**options)
    return openai.DefaultAsyncHttpxClient(transport=cast(Any, transport), **options)


def _default_transport() -> Any:
    """httpx's own transport, with the openai client's limits."""
    return httpx_module().AsyncHTTPTransport(limits=_openai_limits())


def _openai_limits() -> Any:
    """The connection limits the openai client gives its own transport."""
    try:
        from openai._constants import DEFAULT_CONNECTION_LIMITS
    except ImportError:  # not where this client version keeps them: its documented values
        return httpx_module().Limits(max_connections=1000, max_keepalive_connections=100)
    return DEFAULT_CONNECTION_LIMITS


class _Answer:
    """An answer, filled in by httptools' callbacks."""

    __slots__ = ("body", "complete", "framed", "head_complete", "headers", "keep_alive", "parser")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.head_complete = False
        self.framed = False
        """Whether the answer says where it ends (a length, chunks); else it ends at the close."""
        self.complete = False
        self.keep_alive = False
        self.parser: Any = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.head_complete = True

    def end_at_close(self) -> None:
        """The server closed the connection: the end of an answer that is read until then."""
        status = self.parser.get_status_code() if self.head_complete else 0
        if not self.framed and status >= 200 and status not in (204, 304):
            self.complete = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # Asked now: once the parser has moved on it no longer knows.
        self.keep_alive = bool(self.parser.should_keep_alive())


class _Connection:
    """One connection, bound to the event loop that opened it."""

    __slots__ = ("loop", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()

    def usable(self) -> bool:
        """Open, on the running loop, and not closed by the server as far as is known yet."""
        return (
            self.loop is asyncio.get_running_loop()
            and not self.writer.is_closing()
            and not self.reader.at_eof()
        )

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.writer.close()
        else:  # another loop's connection: closed by its own loop, never from here
            self.loop.call_soon_threadsafe(self.writer.close)


class _CannotConnect(OSError):
    """No connection could be made."""


class _StaleConnection(Exception):
    """A kept-alive connection that the server had closed before it read the request."""


def request_head(method: str, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A request's line and headers; httpx has set Host, Content-Length and the rest."""
    lines = [b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), target)]
    lines += [b"%s: %s\r\n" % (name, value) for name, value in headers]
    lines.append(b"\r\n")
    return b"".join(lines)


async def _round_trip(
    connection: _Connection, data: bytes, reused: bool, timeouts: dict[str, Any]
) -> _Answer:
    """Send ``data`` and read the whole answer. :class:`_StaleConnection` when a ``reused``
    connection ends before the answer's first byte; ``TimeoutError`` (with the phase in its
    argument) for a write or a read that takes longer than its timeout."""
    connection.writer.write(data)
    try:
        async with asyncio.timeout(timeouts.get("write")):
            await connection.writer.drain()
    except TimeoutError:
        raise TimeoutError("write") from None
    except ConnectionError:
        if reused:
            raise _StaleConnection from None
        raise
    answer = _Answer()
    received = False
    while not answer.complete:
        try:
            async with asyncio.timeout(timeouts.get("read")):
                chunk = await connection.reader.read(READ_SIZE)
        except TimeoutError:
            raise TimeoutError("read") from None
        except ConnectionError:
            if reused and not received:
                raise _StaleConnection from None
            raise
        if not chunk:
            if reused and not received:
                raise _StaleConnection
            answer.end_at_close()
            if not answer.complete:
                raise ConnectionResetError("the server closed the connection mid-answer")
            break
        received = True
        answer.parser.feed_data(chunk)
    return answer


class PlainHTTPTransport:
    """``http://`` requests over kept-alive asyncio connections; others to the transport that
    ``make_fallback`` makes (httpx's own) at the first such request. An httpx transport by its
    methods: httpx and the openai client call no others, so it needs no base class of the httpx
    the client happens to be built on."""

    def __init__(self, make_fallback: Callable[[], Any]) -> None:
        # Made when first needed: httpx's transport loads the system's certificates on creation,
        # 20-40 ms of CPU that an endpoint over plain HTTP never uses.
        self._make_fallback = make_fallback
        self._fallback: Any = None
        self._idle: dict[Endpoint, collections.deque[_Connection]] = {}

    @property
    def fallback(self) -> Any:
        """The transport for requests that are not ``http://``."""
        if self._fallback is None:
            self._fallback = self._make_fallback()
        return self._fallback

    async def __aenter__(self) -> PlainHTTPTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def handle_async_request(self, request: Any) -> Any:
        if request.url.scheme != "http":
            return await self.fallback.handle_async_request(request)
        body = await request.aread()
        data = request_head(request.method, request.url.raw_path, request.headers.raw) + body
        endpoint = (request.url.host, request.url.port or 80)
        timeouts = request.extensions.get("timeout", {})
        status, headers, content = await self.exchange(endpoint, data, timeouts, request)
        return httpx_module().Response(
            status,
            headers=headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def exchange(
        self, endpoint: Endpoint, data: bytes, timeouts: dict[str, Any], request: Any = None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send ``data``, a whole HTTP/1.1 request, to ``endpoint`` (host, port); the answer's
        status, headers and body (still encoded as its ``Content-Encoding`` says). Failures
        raise the httpx exceptions of the module docstring, for ``request`` when given."""
        try:
            connection, answer = await self._answered(endpoint, data, timeouts)
        except (OSError, TimeoutError, httptools.HttpParserError) as failure:
            raise _httpx_error(failure, request) from failure
        self._give_back(endpoint, connection, answer.keep_alive)
        return answer.parser.get_status_code(), answer.headers, b"".join(answer.body)

    async def _answered(
        self, endpoint: Endpoint, data: bytes, timeouts: dict[str, Any]
    ) -> tuple[_Connection, _Answer]:
        """The answer, and the connection it came on: a kept-alive one, or a new one when there
        is none or the server had closed it (which :func:`_answer` has closed here too)."""
        connection = self._take(endpoint)
        if connection is not None:
            try:
                return connection, await _answer(connection, data, True, timeouts)
            except _StaleConnection:
                pass
        connection = await _connect(endpoint, timeouts)
        return connection, await _answer(connection, data, False, timeouts)

    def _take(self, endpoint: Endpoint) -> _Connection | None:
        idle = self._idle.get(endpoint)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _give_back(self, endpoint: Endpoint, connection: _Connection, reuse: bool) -> None:
        idle = self._idle.setdefault(endpoint, collections.deque())
        if reuse and len(idle) < IDLE_CONNECTIONS_PER_HOST:
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        if self._fallback is not None:
            await self._fallback.aclose()


async def _connect(endpoint: Endpoint, timeouts: dict[str, Any]) -> _Connection:
    try:
        async with asyncio.timeout(timeouts.get("connect")):
            reader, writer = await asyncio.open_connection(*endpoint, limit=READ_SIZE)
    except TimeoutError:
        raise TimeoutError("connect") from None
    except OSError as failure:  # refused, unreachable, a name not resolved
        raise _CannotConnect(str(failure) or type(failure).__name__) from failure
    return _Connection(reader, writer)


async def _answer(
    connection: _Connection, data: bytes, reused: bool, timeouts: dict[str, Any]
) -> _Answer:
    """The answer; the connection is closed unless one came whole."""
    try:
        return await _round_trip(connection, data, reused, timeouts)
    except BaseException:
        connection.close()
        raise


def _httpx_error(failure: BaseException, request: Any) -> Exception:
    """The httpx exception that the openai client expects for ``failure``."""
    httpx = httpx_module()
    kind: Any = httpx.ReadError
    reason = str(failure) or type(failure).__name__
    if isinstance(failure, TimeoutError):
        phase = failure.args[0] if failure.args else "read"
        timeouts = {"connect": httpx.ConnectTimeout, "write": httpx.WriteTimeout}
        kind, reason = timeouts.get(phase, httpx.ReadTimeout), f"{phase} timed out"
    elif isinstance(failure, httptools.HttpParserError):
        kind, reason = httpx.RemoteProtocolError, f"malformed answer: {failure}"
    elif isinstance(failure, _CannotConnect):
        kind = httpx.ConnectError
    error: Exception = kind(reason, request=request)
    return error
