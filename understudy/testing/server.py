"""A scripted model server speaking the OpenAI chat-completions wire format over real HTTP.

It listens on 127.0.0.1 (a free port, unless another is asked for) in a background thread and
answers ``POST /v1/chat/completions`` (non-streaming) and ``GET /v1/models``. What it answers
comes from a *script*: either a list of items consumed one per request, in order, or a *policy*
callable that sees each parsed request (so a scripted agent can react to tool results) and
returns the item.

An item is a :class:`ScriptedTurn` (an assistant reply, optionally delayed), a :class:`Fault`
(an HTTP error such as 429 with ``Retry-After`` or 500, optionally delayed) or a
:class:`RawReply` (a status and body sent as they are, such as an HTTP 200 that is not JSON).
Malformed tool-call arguments are scripted by giving a raw string instead of a dict. When a list
script runs out, the server answers 500 with a body that says so (and ``x-should-retry: false``,
so clients fail at once instead of retrying), so a test whose agent talks more than expected
fails loudly.

The script items are in :mod:`understudy.testing.script`, :class:`ChatRequest` in
:mod:`understudy.testing.request`, the completion body in :mod:`understudy.testing.completion`
(its shapes in :mod:`understudy.wire`), the HTTP handling in :mod:`understudy.testing.handler`.

Nothing of the payloads is logged; every chat request is kept in memory in
:attr:`ScriptedServer.requests` for the test to inspect (unless ``keep_requests=False``), and
:attr:`ScriptedServer.peak_in_flight` tells how many were being answered at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from understudy.testing.completion import chat_completion
from understudy.testing.handler import ChatCompletionsHandler, ScriptedHTTPServer
from understudy.testing.request import ChatRequest
from understudy.testing.script import Fault, Policy, ScriptedTurn, ScriptItem

__all__ = ["ScriptedServer"]

_Value = TypeVar("_Value")


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
        host: str = "127.0.0.1",
        port: int = 0,
        keep_requests: bool = True,
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
        self._address = (host, port)
        self._lock = threading.Lock()
        self._keep_requests = keep_requests
        self._requests: list[ChatRequest] = []
        self._received = 0
        self._errors: list[str] = []
        self._position = 0
        self._in_flight = 0
        self._peak_in_flight = 0
        self._connections: set[socket.socket] = set()
        self.stopping = threading.Event()
        """Set when the server stops: delayed answers stop waiting."""
        self._httpd: ScriptedHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the address (port 0: a free one) and serve in a background thread; an address
        that cannot be bound raises ``OSError``."""
        if self._httpd is not None:
            raise RuntimeError("the scripted server is already started")
        httpd = ScriptedHTTPServer(self._address, ChatCompletionsHandler)
        httpd.owner = self
        self._httpd = httpd
        self.stopping.clear()
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
        self.stopping.set()
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

    def _locked(self, read: Callable[[], _Value]) -> _Value:
        """What ``read`` returns, read under the lock the handler threads write under."""
        with self._lock:
            return read()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the scripted server is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://<host>:<port>/v1`` (``http://127.0.0.1:<port>/v1`` by default), as an
        OpenAI client's ``base_url``."""
        host = self._address[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    @property
    def requests(self) -> list[ChatRequest]:
        """Every chat request received, in order of arrival (a copy); empty for a server made
        with ``keep_requests=False``, which keeps none (a long-lived server would fill memory)."""
        return self._locked(lambda: list(self._requests))

    @property
    def received(self) -> int:
        """How many chat requests have been received."""
        return self._locked(lambda: self._received)

    @property
    def errors(self) -> list[str]:
        """The server's own failures: requests past the end of the script, policy exceptions."""
        return self._locked(lambda: list(self._errors))

    @property
    def in_flight(self) -> int:
        """Chat requests being answered right now (received, reply not yet sent)."""
        return self._locked(lambda: self._in_flight)

    @property
    def peak_in_flight(self) -> int:
        """The most chat requests that were being answered at once (delays included), so a
        test can check a client's concurrency limit."""
        return self._locked(lambda: self._peak_in_flight)

    @property
    def remaining(self) -> int | None:
        """Items of a list script not yet served (None for a policy)."""
        if self._policy is not None:
            return None
        return self._locked(lambda: len(self._script) - self._position)

    @property
    def exhausted(self) -> bool:
        """A list script has been served to its end."""
        return self.remaining == 0

    # -- serving: what the request handler (understudy.testing.handler) calls ----------------

    def track_connection(self, connection: socket.socket) -> None:
        """Remember an open client connection, so that stopping can close it."""
        with self._lock:
            self._connections.add(connection)

    def untrack_connection(self, connection: socket.socket) -> None:
        """Forget a connection the client closed."""
        with self._lock:
            self._connections.discard(connection)

    def request_arrived(self) -> None:
        """Count a request in flight (for ``peak_in_flight``)."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def request_left(self) -> None:
        """Count a request answered."""
        with self._lock:
            self._in_flight -= 1

    def next_answer(
        self, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[ChatRequest, ScriptItem]:
        """Record a request and pick its answer."""
        with self._lock:
            request = ChatRequest(index=self._received, body=body, headers=headers)
            self._received += 1
            if self._keep_requests:
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
            if isinstance(answer, ScriptItem):
                return request, answer
            message = (
                f"scripted server: the policy returned {type(answer).__name__}, "
                "not a ScriptedTurn, Fault or RawReply"
            )
        with self._lock:
            return request, self._own_error(message, "policy_error")

    def _own_error(self, message: str, error_type: str) -> Fault:
        """A failure of the script itself: recorded, and not retried by the client."""
        self._errors.append(message)
        return Fault(status=500, message=message, error_type=error_type, should_retry=False)

    def completion_for(self, request: ChatRequest, turn: ScriptedTurn) -> dict[str, Any]:
        """The chat-completion body answering ``request`` with ``turn``."""
        return chat_completion(
            request,
            turn,
            created=self._created + request.index,
            model=request.model or self.models[0],
        )
