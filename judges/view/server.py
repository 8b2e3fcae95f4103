"""``understudy view --serve``: the viewer on a local HTTP server (127.0.0.1 only).

The page is the report without embedded data; it asks ``api/overview``, ``api/index``, and one
``api/rollout?id=`` or ``api/session?id=`` document when a trajectory is opened, so a very large
run never sits in the browser at once. Documents are built when first asked for.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from understudy.judges.view.data import ViewData
from understudy.judges.view.html import render_page
from understudy.logging import get_logger

__all__ = ["ViewServer"]

log = get_logger("judges.view.server")


class ViewServer:
    """Serves one run's view until :meth:`close` (usable as a context manager)."""

    def __init__(self, view: ViewData, port: int = 0) -> None:
        self.view = view
        page = render_page(None, f"understudy: {view.overview.get('run_dir', '')}").encode()
        routes: dict[str, Callable[[dict[str, list[str]]], Any]] = {
            "/api/overview": lambda query: view.overview,
            "/api/index": lambda query: view.index,
            "/api/rollout": lambda query: view.rollouts.get(_one(query, "id")),
            "/api/session": lambda query: view.sessions.get(_one(query, "id")),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path in ("/", "/index.html"):
                    self._send(200, "text/html; charset=utf-8", page)
                    return
                route = routes.get(url.path)
                document = route(parse_qs(url.query)) if route is not None else None
                if document is None:
                    self._send(404, "application/json", b'{"error": "not found"}')
                    return
                body = json.dumps(document, separators=(",", ":")).encode()
                self._send(200, "application/json", body)

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # no payloads in logs
                log.debug("view request", path=urlparse(self.path).path)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def start(self) -> ViewServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ViewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _one(query: dict[str, list[str]], key: str) -> str:
    values = query.get(key) or [""]
    return values[0]
