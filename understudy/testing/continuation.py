"""A scripted candidate that continues each logged session the way its own agent did, but
asks its shell commands in words the log never recorded.

Played against real logs, it makes the calls a real agent made at that point of a session, so
the router sees real tool names and argument shapes; because every shell command carries a
trailing comment (``ls  # again``), no recording matches it exactly and it must be executed or
simulated. Other calls are made as recorded (and replayed while recordings last). Tests use it
to check that a tool policy serves every call of real sessions, e.g. ``replay>simulate``.

A request is matched to its session by the conversation's first user message, and to the turn
to play by how many assistant messages it holds past the cut: counted after the last user
message when the cut follows one (the wire format may merge or drop assistant messages of the
prefix), else past the prefix's own count.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from understudy.testing.request import ChatRequest
from understudy.testing.script import Policy, ScriptedTurn
from understudy.tools.adapters import describe_call
from understudy.trajectory import Message, Session
from understudy.wire import content_text

VARIANT_SUFFIX = "  # again"
"""Appended to each shell command: a comment, so the command does the same."""
SCRIPT_KEYS = ("command", "cmd", "script")
"""Argument keys that hold a shell command (a string, or an argv list whose last item is it)."""


def continuation_policy(sessions: Sequence[Session], cuts: dict[str, int]) -> Policy:
    """The policy playing each session's recorded continuation after ``cuts[session.id]``."""
    plays: dict[str, tuple[int | None, list[Message]]] = {}
    for session in sessions:
        cut = cuts[session.id]
        after_user = cut > 0 and session.messages[cut - 1].role == "user"
        before = sum(1 for m in session.messages[:cut] if m.role == "assistant")
        after = [m for m in session.messages[cut:] if m.role == "assistant"]
        turns = [_varied(turn, session) for turn in after]
        plays.setdefault(_first_user(session.messages), (None if after_user else before, turns))

    def policy(request: ChatRequest) -> ScriptedTurn:
        roles = [m.get("role") for m in request.messages]
        first = next(
            (content_text(m.get("content")) for m in request.messages if m.get("role") == "user"),
            "",
        )
        before, turns = plays.get(first, (0, []))
        if before is None:  # count the turns after the last user message
            last_user = max((i for i, role in enumerate(roles) if role == "user"), default=-1)
            played = roles[last_user + 1 :].count("assistant")
        else:
            played = max(roles.count("assistant") - before, 0)
        if played >= len(turns):
            return ScriptedTurn(content="done")
        turn = turns[played]
        calls: list[tuple[str, dict[str, Any] | str]] = [
            (call.name, call.arguments) for call in turn.tool_calls
        ]
        return ScriptedTurn(content=turn.content or None, tool_calls=calls)

    return policy


def _first_user(messages: Sequence[Message]) -> str:
    return next((m.content for m in messages if m.role == "user"), "")


def _varied(turn: Message, session: Session) -> Message:
    """``turn`` with the script of each shell call changed by a trailing comment."""
    agent = session.source.agent
    calls = []
    for call in turn.tool_calls:
        facts = describe_call(call.name, call.arguments, agent)
        arguments = copy.deepcopy(call.arguments)
        if facts is not None and facts.canonical == "shell" and facts.script:
            _append_comment(arguments)
        calls.append(call.model_copy(update={"arguments": arguments}))
    return turn.model_copy(update={"tool_calls": calls})


def _append_comment(arguments: dict[str, Any]) -> None:
    for key in SCRIPT_KEYS:
        value = arguments.get(key)
        if isinstance(value, str) and value.strip():
            arguments[key] = value + VARIANT_SUFFIX
            return
        if isinstance(value, list) and value and isinstance(value[-1], str):
            value[-1] = value[-1] + VARIANT_SUFFIX
            return
