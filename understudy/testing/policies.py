"""Small ready-made policies of the scripted server, for trying a run without a model.

Each ends a rollout in one turn, without a tool call; the demo's scripted agent, which uses the
tools, is :func:`understudy.replay.demo.demo_policy`.
"""

from __future__ import annotations

from understudy.testing.request import ChatRequest
from understudy.testing.script import ScriptedTurn
from understudy.wire import content_text

__all__ = ["echo_policy", "finish_policy"]


def finish_policy(request: ChatRequest) -> ScriptedTurn:
    """Answers ``done``, whatever it was asked."""
    return ScriptedTurn(content="done")


def echo_policy(request: ChatRequest) -> ScriptedTurn:
    """Answers with the text of the conversation's last user message."""
    for message in reversed(request.messages):
        if message.get("role") == "user":
            return ScriptedTurn(content=content_text(message.get("content")))
    return ScriptedTurn(content="")
