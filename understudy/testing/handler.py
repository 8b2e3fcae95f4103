"""The HTTP side of the scripted server: routes, request parsing and JSON/error replies.

The handler answers ``GET /v1/models`` and ``POST /v1/chat/completions`` (non-streaming) and asks
its :class:`~understudy.testing.server.ScriptedServer` (the ``owner`` of the HTTP server) what to
answer; nothing about requests is logged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from understudy.testing.script import Fault, RawReply

if TYPE_CHECKING:
    from understudy.testing.server import ScriptedServer

__all__ = ["ChatCompletionsHandler", "ScriptedHTTPServer"]


class ScriptedHTTPServer(ThreadingHTTPServer):
    # Handler threads are joined on close (no thread outlives the server).
    daemon_threads = False
    block_on_close = True
    owner: ScriptedServer


class ChatCompletionsHandler(BaseHTTPRequestHandler):
    server: ScriptedHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "understudy-scripted/1"
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds
    # Headers and body go out in two writes; with Nagle's algorithm the body would wait for the
    # client's delayed ACK of the headers, 40 ms on Linux, on every answer.
    disable_nagle_algorithm = True
    _leaving: Callable[[], None] | None = None
    """Counts the request being answered out of those in flight (once)."""

    def setup(self) -> None:
        super().setup()
        self.server.owner.track_connection(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner.untrack_connection(self.connection)

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
        owner.request_arrived()
        # Counted out as the answer's body goes, not after: by the time the client has read
        # the answer, the server no longer counts it.
        self._leaving = owner.request_left
        try:
            self._answer(owner, body, headers)
        finally:
            self._leave()

    def _leave(self) -> None:
        leaving, self._leaving = self._leaving, None
        if leaving is not None:
            leaving()

    def _answer(self, owner: ScriptedServer, body: dict[str, Any], headers: dict[str, str]) -> None:
        request, item = owner.next_answer(body, headers)
        if item.delay_s and owner.stopping.wait(item.delay_s):
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
        if isinstance(item, RawReply):
            self._send_body(item.status, item.body.encode(), item.content_type)
            return
        self._send_json(200, owner.completion_for(request, item))

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
        self._send_body(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_body(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self._leave()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout ran out during a slow reply).
            self.close_connection = True
