"""A scripted model server speaking the OpenAI chat-completions wire format over real HTTP.

It listens on 127.0.0.1 (a free port) in a background thread and answers
``POST /v1/chat/completions`` (non-streaming) and ``GET /v1/models``. What it answers comes from a
*script*: either a list of items consumed one per request, in order, or a *policy* callable that
sees each parsed request (so a scripted agent can react to tool results) and returns the item.

An item is a :class:`ScriptedTurn` (an assistant reply, optionally delayed) or a :class:`Fault`
(an HTTP error such as 429 with ``Retry-After`` or 500, optionally delayed). Malformed tool-call
arguments are scripted by giving a raw string instead of a dict. When a list script runs out, the
server answers 500 with a body that says so (and ``x-should-retry: false``, so clients fail at
once instead of retrying), so a test whose agent talks more than expected fails loudly.

Nothing of the payloads is logged; every chat request is kept in memory in
:attr:`ScriptedServer.requests` for the test to inspect, and
:attr:`ScriptedServer.peak_in_flight` tells how many were being answered at once.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatRequest",
    "Fault",
    "Policy",
    "ScriptItem",
    "ScriptedServer",
    "ScriptedTurn",
    "count_tokens",
]


class ScriptedTurn(BaseModel):
    """One assistant reply of the scripted model.

    ``tool_calls`` holds ``(name, arguments)`` pairs; arguments given as a dict are sent as its
    JSON, arguments given as a string are sent verbatim (so ``"{not json"`` scripts a malformed
    call). Tool-call ids are ``call_<request index>_<position>``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    content: str | None = None
    """The assistant text (sent as ``null`` when absent)."""
    tool_calls: list[tuple[str, dict[str, Any] | str]] = Field(default_factory=list)
    """``(name, arguments)`` of each tool call, in order."""
    reasoning: str | None = None
    """Sent as ``reasoning_content`` on the message, as vLLM and DeepSeek endpoints do."""
    finish_reason: str | None = None
    """Defaults to ``tool_calls`` when there are tool calls, ``stop`` otherwise."""
    delay_s: float = Field(default=0.0, ge=0.0)
    """Seconds to wait before answering (a slow reply)."""


class Fault(BaseModel):
    """An HTTP error answer: a rate limit, a server error, any status.

    ``retry_after`` sets both ``Retry-After`` (whole seconds, rounded up, as the standard wants)
    and ``retry-after-ms`` (which the openai client prefers), so a test can ask for a 10 ms
    back-off. The openai client ignores a retry-after of 0 and falls back to its own exponential
    back-off (0.5 s, 1 s, ...), so use a small positive value to keep tests fast.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: int = Field(default=500, ge=400, le=599)
    """The HTTP status."""
    message: str = "scripted server error"
    """``error.message`` of the JSON body."""
    error_type: str = "server_error"
    """``error.type`` (and ``error.code``) of the JSON body."""
    retry_after: float | None = Field(default=None, ge=0.0)
    """Seconds the client is asked to wait before retrying."""
    should_retry: bool | None = None
    """Sends ``x-should-retry: true|false``, which the openai client obeys, when set."""
    delay_s: float = Field(default=0.0, ge=0.0)
    """Seconds to wait before answering."""

    @classmethod
    def rate_limit(cls, retry_after: float | None = 0.01, delay_s: float = 0.0) -> Fault:
        """HTTP 429 with a ``Retry-After``."""
        return cls(
            status=429,
            message="scripted rate limit",
            error_type="rate_limit_exceeded",
            retry_after=retry_after,
            delay_s=delay_s,
        )

    @classmethod
    def server_error(
        cls, status: int = 500, retry_after: float | None = 0.01, delay_s: float = 0.0
    ) -> Fault:
        """HTTP 5xx (with a short ``Retry-After`` by default, to keep client back-off short)."""
        return cls(status=status, retry_after=retry_after, delay_s=delay_s)


ScriptItem = ScriptedTurn | Fault
"""What the server answers one request with."""


def _text_of(content: Any) -> str:
    """Text of a wire ``content`` (a string, null, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text", "")))
            else:
                parts.append(str(part))
        return "".join(parts)
    return str(content)


@dataclass(frozen=True)
class ChatRequest:
    """One ``POST /v1/chat/completions`` as the server received it."""

    index: int
    """Order of arrival among the chat requests, from 0."""
    body: dict[str, Any]
    """The JSON body, as sent."""
    headers: dict[str, str] = field(default_factory=dict)
    """Request headers, names lower-cased (kept in memory only, never logged)."""

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        tools = self.body.get("tools")
        return list(tools) if isinstance(tools, list) else []

    @property
    def tool_names(self) -> list[str]:
        """Names of the function tools on offer."""
        return [str(tool.get("function", {}).get("name", "")) for tool in self.tools]

    @property
    def temperature(self) -> float | None:
        value = self.body.get("temperature")
        return float(value) if isinstance(value, int | float) else None

    @property
    def max_tokens(self) -> int | None:
        value = self.body.get("max_tokens")
        return value if isinstance(value, int) else None

    @property
    def seed(self) -> int | None:
        value = self.body.get("seed")
        return value if isinstance(value, int) else None

    @property
    def retry_count(self) -> int:
        """The openai client's ``x-stainless-retry-count`` header (0 on a first attempt)."""
        try:
            return int(self.headers.get("x-stainless-retry-count", "0"))
        except ValueError:
            return 0

    @property
    def api_key(self) -> str | None:
        """The bearer token sent, if any (so tests can check which key went out)."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None

    @property
    def last_message(self) -> dict[str, Any] | None:
        return self.messages[-1] if self.messages else None

    def tool_results(self) -> list[dict[str, Any]]:
        """The ``role: tool`` messages after the last assistant message."""
        results: list[dict[str, Any]] = []
        for message in reversed(self.messages):
            if message.get("role") == "assistant":
                break
            if message.get("role") == "tool":
                results.append(message)
        return results[::-1]

    def tool_result_text(self) -> str:
        """Contents of :meth:`tool_results`, joined by newlines."""
        return "\n".join(_text_of(message.get("content")) for message in self.tool_results())


Policy = Callable[[ChatRequest], ScriptItem]
"""A script as a function of the request."""


def count_tokens(text: str) -> int:
    """A rough, deterministic token count: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    total = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            continue
        total += 3 + count_tokens(_text_of(message.get("content")))
        if message.get("tool_calls"):
            total += count_tokens(json.dumps(message["tool_calls"], sort_keys=True))
    if body.get("tools"):
        total += count_tokens(json.dumps(body["tools"], sort_keys=True))
    return total


class _HTTPServer(ThreadingHTTPServer):
    # Handler threads are joined on close (no thread outlives the server).
    daemon_threads = False
    block_on_close = True
    owner: ScriptedServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "understudy-scripted/1"
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: nothing about requests goes to stderr."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            owner = self.server.owner
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": name, "object": "model", "created": 0, "owned_by": "understudy"}
                        for name in owner.models
                    ],
                },
            )
        else:
            self._send_error(404, f"no route GET {self.path}", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send_error(404, f"no route POST {self.path}", "not_found")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_error(400, "request body is not JSON", "invalid_request_error")
            return
        if not isinstance(body, dict):
            self._send_error(400, "request body is not a JSON object", "invalid_request_error")
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        if body.get("stream"):
            self._send_error(400, "the scripted server does not stream", "invalid_request_error")
            return
        owner = self.server.owner
        owner._arrived()
        try:
            self._answer(owner, body, headers)
        finally:
            owner._left()

    def _answer(self, owner: ScriptedServer, body: dict[str, Any], headers: dict[str, str]) -> None:
        request, item = owner._next(body, headers)
        if item.delay_s and owner._stopping.wait(item.delay_s):
            return  # shutting down: drop the connection without an answer
        if isinstance(item, Fault):
            self._send_error(
                item.status,
                item.message,
                item.error_type,
                should_retry=item.should_retry,
                retry_after=item.retry_after,
            )
            return
        self._send_json(200, owner._completion(request, item))

    def _send_error(
        self,
        status: int,
        message: str,
        error_type: str,
        should_retry: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        if should_retry is not None:
            headers["x-should-retry"] = "true" if should_retry else "false"
        if retry_after is not None:
            headers["Retry-After"] = str(math.ceil(retry_after))
            headers["retry-after-ms"] = str(round(retry_after * 1000))
        error = {"message": message, "type": error_type, "code": error_type, "param": None}
        self._send_json(status, {"error": error}, headers)

    def _send_json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout ran out during a slow reply).
            self.close_connection = True


class ScriptedServer:
    """A scripted OpenAI-compatible server on 127.0.0.1; use it as a context manager.

    >>> with ScriptedServer([ScriptedTurn(content="hello")]) as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="test")
    """

    def __init__(
        self,
        script: Sequence[ScriptItem] | Policy,
        *,
        models: Sequence[str] = ("scripted",),
        created: int = 1_700_000_000,
    ) -> None:
        if callable(script):
            self._policy: Policy | None = script
            self._script: list[ScriptItem] = []
        else:
            self._policy = None
            self._script = list(script)
        self.models = list(models)
        """Model ids listed by ``GET /v1/models``."""
        self._created = created
        self._lock = threading.Lock()
        self._requests: list[ChatRequest] = []
        self._errors: list[str] = []
        self._position = 0
        self._in_flight = 0
        self._peak_in_flight = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("the scripted server is already started")
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, drop open connections and join every thread. Safe to call twice."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()  # returns once serve_forever has stopped accepting
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes handler threads blocked reading an idle keep-alive connection.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()  # joins the handler threads
        if thread is not None:
            thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- what tests look at --------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the scripted server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, as an OpenAI client's ``base_url``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[ChatRequest]:
        """Every chat request received, in order of arrival (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """The server's own failures: requests past the end of the script, policy exceptions."""
        with self._lock:
            return list(self._errors)

    @property
    def in_flight(self) -> int:
        """Chat requests being answered right now (received, reply not yet sent)."""
        with self._lock:
            return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most chat requests that were being answered at once (delays included), so a
        test can check a client's concurrency limit."""
        with self._lock:
            return self._peak_in_flight

    @property
    def remaining(self) -> int | None:
        """Items of a list script not yet served (None for a policy)."""
        if self._policy is not None:
            return None
        with self._lock:
            return len(self._script) - self._position

    @property
    def exhausted(self) -> bool:
        """A list script has been served to its end."""
        return self.remaining == 0

    # -- serving -------------------------------------------------------------------------------

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _arrived(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def _left(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _next(
        self, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[ChatRequest, ScriptItem]:
        """Record a request and pick its answer."""
        with self._lock:
            request = ChatRequest(index=len(self._requests), body=body, headers=headers)
            self._requests.append(request)
            if self._policy is None:
                if self._position < len(self._script):
                    self._position += 1
                    return request, self._script[self._position - 1]
                return request, self._own_error(
                    f"scripted server: the script is exhausted ({len(self._script)} items "
                    f"served; request #{request.index + 1} has no scripted reply)",
                    "script_exhausted",
                )
            policy = self._policy
        try:
            answer = policy(request)
        except Exception as exc:  # the policy is test code: report its failure to the client
            message = f"scripted server: the policy raised {type(exc).__name__}: {exc}"
        else:
            if isinstance(answer, ScriptedTurn | Fault):
                return request, answer
            message = (
                f"scripted server: the policy returned {type(answer).__name__}, "
                "not a ScriptedTurn or Fault"
            )
        with self._lock:
            return request, self._own_error(message, "policy_error")

    def _own_error(self, message: str, error_type: str) -> Fault:
        """A failure of the script itself: recorded, and not retried by the client."""
        self._errors.append(message)
        return Fault(status=500, message=message, error_type=error_type, should_retry=False)

    def _completion(self, request: ChatRequest, turn: ScriptedTurn) -> dict[str, Any]:
        tool_calls: list[dict[str, Any]] = [
            {
                "id": f"call_{request.index}_{position}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
            for position, (name, arguments) in enumerate(turn.tool_calls)
        ]
        message: dict[str, Any] = {"role": "assistant", "content": turn.content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        if turn.reasoning is not None:
            message["reasoning_content"] = turn.reasoning
        completion_text = (turn.content or "") + (turn.reasoning or "")
        completion_tokens = count_tokens(completion_text) + sum(
            count_tokens(call["function"]["name"] + call["function"]["arguments"])
            for call in tool_calls
        )
        prompt_tokens = _prompt_tokens(request.body)
        finish_reason = turn.finish_reason or ("tool_calls" if tool_calls else "stop")
        return {
            "id": f"chatcmpl-scripted-{request.index}",
            "object": "chat.completion",
            "created": self._created + request.index,
            "model": request.model or self.models[0],
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
