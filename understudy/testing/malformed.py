"""The broken answers of a faulty endpoint or proxy, as :class:`RawReply` items by name.

Each is an HTTP 200 that is not a chat completion, which a candidate takes for a failed attempt
(see :func:`understudy.endpoints.completion_problem`).
"""

from __future__ import annotations

import json
from typing import Any

from understudy.testing.script import RawReply
from understudy.wire import wire_assistant_message, wire_choice, wire_completion, wire_usage

__all__ = ["MALFORMED_REPLIES"]


def _completion_body(**changes: Any) -> str:
    """A well-formed chat completion with ``changes`` applied (a None value drops the key)."""
    body = wire_completion(
        "chatcmpl-raw",
        created=1_700_000_000,
        model="scripted",
        choices=[wire_choice(wire_assistant_message("done"), "stop")],
        usage=wire_usage(1, 1),
    )
    body.update(changes)
    return json.dumps({key: value for key, value in body.items() if value is not None})


MALFORMED_REPLIES: dict[str, RawReply] = {
    "html-page": RawReply(
        body="<html><body><h1>Upstream unavailable</h1></body></html>", content_type="text/html"
    ),
    "not-json": RawReply(body="upstream connect error or disconnect/reset before headers"),
    "truncated-json": RawReply(body=_completion_body()[:100]),
    "null-message": RawReply(
        body=_completion_body(choices=[{"index": 0, "message": None, "finish_reason": "stop"}])
    ),
    "no-choices": RawReply(body=_completion_body(choices=None)),
    "empty-choices": RawReply(body=_completion_body(choices=[])),
    "error-body": RawReply(
        body=json.dumps({"error": {"message": "upstream overloaded", "type": "server_error"}})
    ),
}
"""HTTP 200 answers that are not chat completions, by name: an HTML page, text that is not
JSON, a completion cut short, a choice whose ``message`` is null, no ``choices`` key, an empty
``choices`` list, and an error object sent with status 200 (as some proxies do)."""
