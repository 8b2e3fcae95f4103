"""The transport under the openai client for ``http://`` endpoints: kept-alive connections,
answers in every framing HTTP/1.1 allows, and failures that the client retries or reports as
it does over its default transport.

The real openai client (through OpenAICandidate) talks to small asyncio servers on 127.0.0.1
whose answers each test writes byte by byte."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from test_candidate import no_ambient_openai_settings as no_ambient_openai_settings  # autouse

from understudy.plain_http import PlainHTTPTransport, async_http_client, httpx_module
from understudy.replay.candidate import CandidateEndpointError, OpenAICandidate
from understudy.trajectory import Message

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hello from the server"},
            "finish_reason": "stop",
        }
    ],
}
BODY = json.dumps(COMPLETION).encode()

Handler = Callable[[int, int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]
"""Answers request ``number`` (from 0, over the whole server) on connection ``connection``;
returns whether to keep the connection open for another request."""


def answer(body: bytes = BODY, *extra_headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", *extra_headers]
    if not any(header.lower().startswith("transfer-encoding") for header in extra_headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_request(reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
    """One request's target and body, or None when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head.split(b" ")[1].decode(), await reader.readexactly(length)


class Server:
    """An HTTP server on 127.0.0.1 whose answers ``handler`` writes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self.targets: list[str] = []
        """What each request line asked for (a proxy is asked for the whole URL)."""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection, self.connections = self.connections, self.connections + 1
        try:
            while (request := await read_request(reader)) is not None:
                target, body = request
                self.targets.append(target)
                self.bodies.append(json.loads(body))
                number, self.requests = self.requests, self.requests + 1
                if not await self.handler(number, connection, reader, writer):
                    break
        finally:
            writer.close()


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[Server, str]]:
    server = Server(handler)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}/v1"
    finally:
        listener.close()


@asynccontextmanager
async def candidate(base_url: str, **settings: Any) -> AsyncIterator[OpenAICandidate]:
    made = OpenAICandidate("m", base_url=base_url, **settings)
    try:
        yield made
    finally:
        await made.close()


def user(text: str) -> list[Message]:
    return [Message(role="user", content=text)]


async def test_requests_share_one_kept_alive_connection() -> None:
    async def keep_alive(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer())
        return True

    async with serving(keep_alive) as (server, url), candidate(url) as model:
        replies = [await model.complete(user(f"turn {turn}"), []) for turn in range(5)]
    assert [reply.message.content for reply in replies] == ["hello from the server"] * 5
    assert [reply.attempts for reply in replies] == [1] * 5
    assert (server.connections, server.requests) == (1, 5)
    assert [body["messages"][0]["content"] for body in server.bodies] == [
        f"turn {turn}" for turn in range(5)
    ]


async def test_concurrent_requests_open_connections_of_their_own() -> None:
    async def slow(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.2)
        writer.write(answer())
        return True

    async with serving(slow) as (server, url), candidate(url) as model:
        replies = await asyncio.gather(*(model.complete(user("hi"), []) for _ in range(3)))
        await model.complete(user("again"), [])
    assert all(reply.message.content == "hello from the server" for reply in replies)
    assert (server.connections, server.requests) == (3, 4)  # the fourth reused one


async def test_a_connection_the_server_dropped_while_idle_is_replaced_without_a_retry() -> None:
    # The second request on each connection finds it closed: a server's keep-alive timeout
    # that struck after the client chose the connection.
    async def once_per_connection(number: int, _: int, __: Any, writer: Any) -> bool:
        if number % 2 == 0:
            writer.write(answer())
            return True
        return False  # read the request, then close without an answer

    async with serving(once_per_connection) as (server, url), candidate(url) as model:
        first = await model.complete(user("one"), [])
        second = await model.complete(user("two"), [])
    assert first.message.content == second.message.content == "hello from the server"
    assert second.attempts == 1  # replaced by the transport, not retried by the client
    assert (server.connections, server.requests) == (2, 3)


async def test_chunked_and_gzip_answers_are_decoded() -> None:
    packed = gzip.compress(BODY)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (packed[:10], packed[10:]))

    async def chunked(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        headers = ("Transfer-Encoding: chunked", "Content-Encoding: gzip")
        writer.write(answer(chunks + b"0\r\n\r\n", *headers))
        return True

    async with serving(chunked) as (server, url), candidate(url) as model:
        reply = await model.complete(user("hi"), [])
        again = await model.complete(user("hi"), [])
    assert reply.message.content == again.message.content == "hello from the server"
    assert server.connections == 1


async def test_an_answer_read_until_the_close_is_whole() -> None:
    async def until_close(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + BODY)
        return False

    async with serving(until_close) as (server, url), candidate(url) as model:
        replies = [await model.complete(user("hi"), []) for _ in range(2)]
    assert [reply.message.content for reply in replies] == ["hello from the server"] * 2
    assert server.connections == 2


async def test_an_answer_cut_short_is_retried_by_the_client() -> None:
    async def cut_once(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        whole = answer()
        if number == 0:
            writer.write(whole[: len(whole) - 20])
            return False
        writer.write(whole)
        return True

    async with serving(cut_once) as (server, url), candidate(url) as model:
        reply = await model.complete(user("hi"), [])
    assert reply.message.content == "hello from the server"
    assert reply.attempts == 2
    assert server.requests == 2


async def test_a_garbled_answer_is_a_connection_failure_naming_the_protocol_error() -> None:
    async def garbled(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 two hundred\r\n\r\n")
        return False

    async with serving(garbled) as (server, url), candidate(url, max_retries=1) as model:
        with pytest.raises(CandidateEndpointError) as caught:
            await model.complete(user("hi"), [])
    assert caught.value.status_code is None
    assert caught.value.attempts == 2
    assert "(RemoteProtocolError)" in caught.value.reason
    assert server.requests == 2


async def test_an_endpoint_that_never_answers_times_out() -> None:
    async def silent(number: int, _: int, reader: asyncio.StreamReader, __: Any) -> bool:
        await reader.read()  # until the client gives up and closes
        return False

    async with (
        serving(silent) as (server, url),
        candidate(url, timeout_s=0.3, max_retries=1) as model,
    ):
        with pytest.raises(CandidateEndpointError) as caught:
            await model.complete(user("hi"), [])
    assert caught.value.reason == "no answer within 0.3 s"
    assert caught.value.attempts == 2
    assert server.requests == 2


async def test_a_refused_connection_names_the_endpoint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    async with candidate(url, max_retries=0) as model:
        with pytest.raises(CandidateEndpointError) as caught:
            await model.complete(user("hi"), [])
    assert caught.value.reason == f"cannot reach {url}/ (ConnectError)"


class RecordingTransport:
    """Stands for httpx's own transport: records what reaches it."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.closed = False

    async def handle_async_request(self, request: Any) -> Any:
        self.urls.append(str(request.url))
        return httpx_module().Response(204, request=request)

    async def aclose(self) -> None:
        self.closed = True


async def test_other_schemes_go_to_httpx_own_transport() -> None:
    httpx = httpx_module()
    fallback = RecordingTransport()
    transport = PlainHTTPTransport(lambda: fallback)
    request = httpx.Request("POST", "https://api.example.invalid/v1/chat/completions", json={})
    answered = await transport.handle_async_request(request)
    await transport.aclose()
    assert answered.status_code == 204
    assert fallback.urls == ["https://api.example.invalid/v1/chat/completions"]
    assert fallback.closed


async def test_httpx_own_transport_is_made_only_for_another_scheme() -> None:
    # It loads the system's certificates when made: CPU a plain-HTTP endpoint never needs.
    made: list[RecordingTransport] = []

    def make() -> RecordingTransport:
        made.append(RecordingTransport())
        return made[-1]

    async def hello(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer())
        return True

    transport = PlainHTTPTransport(make)
    async with serving(hello) as (_, url):
        request = httpx_module().Request("POST", f"{url}/chat/completions", json={})
        answered = await transport.handle_async_request(request)
    assert answered.status_code == 200
    assert made == []
    await transport.aclose()  # nothing made, nothing to close
    assert made == []


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_requests_go_through_a_proxy_the_environment_names(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx reads proxy variables only for a client without a transport of its own: with the
    # lighter transport, requests would go around the proxy. The endpoint's name resolves
    # nowhere: only the proxy can answer.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def proxy(number: int, _: int, __: Any, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer())
        return True

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # not a loopback endpoint: a key is needed
    async with serving(proxy) as (server, proxy_url):
        monkeypatch.setenv(variable, proxy_url.removesuffix("/v1"))
        async with candidate("http://model.invalid/v1", max_retries=0) as model:
            reply = await model.complete(user("hi"), [])
    assert reply.message.content == "hello from the server"
    assert server.requests == 1
    assert server.targets == ["http://model.invalid/v1/chat/completions"]


def test_the_client_keeps_the_openai_defaults_and_given_options() -> None:
    import openai

    async def hook(request: object) -> None:
        return None

    client = async_http_client(event_hooks={"request": [hook]})
    assert isinstance(client, openai.DefaultAsyncHttpxClient)
    assert client.event_hooks["request"] == [hook]
    assert client.follow_redirects is True
    assert client.timeout == openai.DefaultAsyncHttpxClient().timeout
