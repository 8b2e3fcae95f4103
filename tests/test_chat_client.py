"""ChatClient sends what the openai client sends and fails as it fails.

Each case runs one script against the scripted server twice, through the openai client's own
``chat.completions.create`` and through :class:`ChatClient`, and compares what the server
received and how the call ended: the headers, the attempts and their numbers, the error class,
its status and its body.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import openai
import pytest

from understudy.chat_client import ChatClient, parsed_completion, retry_after
from understudy.testing import Fault, RawReply, ScriptedServer, ScriptedTurn

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
OK = ScriptedTurn(content="done")
ANSWERED = ("answered", None, None)

NOT_COMPARED = {"content-length", "host", "x-stainless-retry-count"}
"""Headers that may differ between the two: the body's spacing, the server's port (each way has
a server of its own), the attempt number (compared on its own)."""


@pytest.fixture(autouse=True)
def no_ambient_openai_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


def outcome(call: Callable[[], Awaitable[Any]]) -> tuple[str, int | None, Any]:
    """How ``call`` ended: its error's class, status and body, or that it was answered."""

    async def run() -> tuple[str, int | None, Any]:
        try:
            await call()
        except openai.APIStatusError as error:
            return type(error).__name__, error.status_code, error.body
        except openai.APIError as error:
            return type(error).__name__, None, type(error.__cause__).__name__
        return ANSWERED

    return asyncio.run(run())


def through_openai(url: str, max_retries: int, timeout: float) -> tuple[Any, ...]:
    async def call() -> None:
        async with openai.AsyncOpenAI(
            api_key="sk-test", base_url=url, max_retries=max_retries, timeout=timeout
        ) as client:
            await client.chat.completions.create(**BODY)  # type: ignore[call-overload]

    return outcome(call)


def through_chat_client(url: str, max_retries: int, timeout: float) -> tuple[Any, ...]:
    async def call() -> None:
        chat = ChatClient(url, "TEST_KEY", max_retries=max_retries, timeout_s=timeout)
        try:
            parsed_completion(await chat.post(BODY))
        finally:
            await chat.close()

    return outcome(call)


def both(script: list[Any], max_retries: int = 2, timeout: float = 5.0) -> list[Any]:
    """Each way's outcome, and the server's requests (retry numbers; headers of the first)."""
    results = []
    for way in (through_openai, through_chat_client):
        with ScriptedServer(script) as server:
            ended = way(server.base_url, max_retries, timeout)
            requests = server.requests
        first = {k: v for k, v in requests[0].headers.items() if k not in NOT_COMPARED}
        results.append((ended, [request.retry_count for request in requests], first))
    return results


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test")


PAGE = RawReply(status=502, body="<html>bad</html>", content_type="text/html")

FAULT_SCRIPTS = {
    "answered": [OK],
    "rate limit, then answered": [Fault.rate_limit(0.01), OK],
    "server errors past the retries": [Fault.server_error(503)] * 3,
    "bad request": [Fault(status=400, message="model not found", error_type="invalid")],
    "unauthorized": [Fault(status=401, message="bad key", error_type="auth")],
    "forbidden": [Fault(status=403)],
    "not found": [Fault(status=404)],
    "conflict, retried": [Fault(status=409, retry_after=0.01), OK],
    "unprocessable": [Fault(status=422)],
    "a status without a class of its own": [Fault(status=418)],
    "a 5xx the server says not to retry": [Fault(status=500, should_retry=False)],
    "a 4xx the server says to retry": [Fault(status=400, should_retry=True, retry_after=0.01), OK],
    "a wait longer than two minutes": [Fault.rate_limit(retry_after=200)],
    "a bad gateway's page": [PAGE],
    "an error body that is not an object": [RawReply(status=400, body='["no"]')],
}


@pytest.mark.parametrize("script", FAULT_SCRIPTS.values(), ids=FAULT_SCRIPTS.keys())
def test_a_request_goes_and_fails_as_through_the_openai_client(script: list[Any]) -> None:
    retries = 0 if isinstance(script[0], RawReply) else 2  # a page has no Retry-After: no wait
    (openai_ended, openai_tries, openai_headers), (ours, our_tries, our_headers) = both(
        script, retries
    )
    assert ours == openai_ended
    assert our_tries == openai_tries
    assert our_headers == openai_headers


def test_a_timeout_is_retried_then_raised_as_the_openai_client_raises_it() -> None:
    script = [Fault(status=500, delay_s=2.0)] * 2
    (openai_ended, openai_tries, _), (ours, our_tries, _) = both(script, 1, timeout=0.2)
    assert ours == openai_ended == ("APITimeoutError", None, "ReadTimeout")
    assert our_tries == openai_tries == [0, 1]


def test_an_endpoint_that_refuses_connections_raises_a_connection_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/v1"
    assert through_chat_client(url, 0, 5.0) == through_openai(url, 0, 5.0)
    assert through_chat_client(url, 0, 5.0)[0] == "APIConnectionError"


def test_attempts_are_numbered_after_those_made_before() -> None:
    async def post(url: str) -> None:
        chat = ChatClient(url, "TEST_KEY", max_retries=1, timeout_s=5.0)
        try:
            await chat.post(BODY, retries_before=2)
        finally:
            await chat.close()

    with ScriptedServer([Fault.server_error(), OK]) as server:
        asyncio.run(post(server.base_url))
        assert [request.retry_count for request in server.requests] == [2, 3]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "1e999"}, 121.0),  # beyond a float: too long to wait
        ({}, None),
    ],
)
def test_retry_after_reads_what_the_endpoint_asks(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after(headers) == seconds


def test_retry_after_reads_a_date() -> None:
    asked = retry_after({"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"})
    assert asked is not None and asked > 60 * 60 * 24 * 365


COMPLETION = (
    b'{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"read"},"finish_reason":"stop"}]}'
)


def http_answer(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def post_to_server(answers_for: Callable[[str], list[bytes]]) -> tuple[str | None, list[bytes]]:
    """The reply's text when a ChatClient posts to a server answering each request with the
    next of ``answers_for(its URL)`` (whole HTTP answers); and the targets it was sent to."""
    targets: list[bytes] = []
    answers: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            lines = head.split(b"\r\n")
            length = next(
                int(line[15:]) for line in lines if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            targets.append(lines[0].split(b" ")[1])
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    async def run() -> str | None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
        answers.extend(answers_for(url))
        chat = ChatClient(url, "TEST_KEY", max_retries=0, timeout_s=5.0)
        try:
            return parsed_completion(await chat.post(BODY)).choices[0].message.content
        finally:
            await chat.close()
            server.close()

    return asyncio.run(run()), targets


def test_a_compressed_answer_is_read_decompressed() -> None:
    squeezed = http_answer("200 OK", gzip.compress(COMPLETION), "Content-Encoding: gzip")
    assert post_to_server(lambda url: [squeezed]) == ("read", [b"/v1/chat/completions"])


def test_a_redirect_is_followed_as_the_http_client_follows_it() -> None:
    def answers(url: str) -> list[bytes]:
        moved = http_answer("307 Temporary Redirect", b"", f"Location: {url}/moved")
        return [moved, moved, http_answer("200 OK", COMPLETION)]

    reply, targets = post_to_server(answers)
    assert reply == "read"
    # Seen by the lighter transport, then again by the HTTP client, which follows it.
    assert targets == [b"/v1/chat/completions", b"/v1/chat/completions", b"/v1/moved"]
