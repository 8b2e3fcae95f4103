"""Where the candidate takes over: cut points in a session.

A cut ``k`` keeps ``session.messages[:k]``. The modes cut right after a user message, so the
candidate answers that user turn. Tool results are not user turns, even in logs that sent them
with the user role (those are normalized to ``tool`` on import). A message index cuts anywhere
the assistant is next to speak (:func:`check_cut`): after a user message or after the last
result of an assistant's tool calls, so a single trajectory can be rerun from any step.
"""

from __future__ import annotations

import random
from typing import Literal

from understudy.errors import ConfigError
from understudy.trajectory import Session

CutMode = Literal["last-user", "each-user", "random-user"]
CUT_MODES: tuple[CutMode, ...] = ("last-user", "each-user", "random-user")
Cut = CutMode | int
"""A mode, or a message index: the same cut in every session."""


def parse_cut(text: str) -> Cut:
    """``last-user`` (a mode) or ``12`` (a message index); anything else is a ConfigError."""
    if text in CUT_MODES:
        return text
    if text.isdigit():
        return int(text)
    raise ConfigError(
        f"unknown cut {text!r}; give a mode ({', '.join(CUT_MODES)}) or a message index"
    )


def check_cut(session: Session, cut: int) -> None:
    """Raise a ConfigError naming the session unless the assistant is next to speak at ``cut``:
    ``messages[cut - 1]`` is a user message or a tool result, and every tool call before
    ``cut`` has its result before it."""
    messages = session.messages
    if not 0 < cut <= len(messages):
        raise ConfigError(
            f"session {session.id}: cut {cut} is outside its {len(messages)} message(s)"
        )
    last = messages[cut - 1]
    if last.role not in ("user", "tool"):
        raise ConfigError(
            f"session {session.id}: message {cut - 1} is the {last.role}'s; a cut must follow "
            "a user message or a tool result"
        )
    answered_after = {m.tool_call_id for m in messages[cut:] if m.role == "tool"}
    for index, message in enumerate(messages[:cut]):
        missing = [call.id for call in message.tool_calls if call.id in answered_after]
        if missing:
            raise ConfigError(
                f"session {session.id}: cut {cut} falls between the results of the tool calls "
                f"of message {index} (no result yet for {', '.join(missing)})"
            )


def user_turn_cuts(session: Session) -> list[int]:
    """Every cut that ends right after a user message, in order."""
    return [index + 1 for index, message in enumerate(session.messages) if message.role == "user"]


def choose_cuts(session: Session, mode: Cut, seed: int = 0) -> list[int]:
    """The cuts of ``session`` for ``mode``; empty when the session has no user message.

    ``last-user``: the candidate redoes the final user turn (later turns are dropped);
    ``each-user``: one cut per user turn; ``random-user``: one user turn drawn with ``seed``
    (the draw depends only on the seed and the session id, so reruns pick the same cut); a
    message index: that cut (checked by :func:`check_cut`).
    """
    if isinstance(mode, int):
        check_cut(session, mode)
        return [mode]
    cuts = user_turn_cuts(session)
    if not cuts:
        return []
    if mode == "last-user":
        return [cuts[-1]]
    if mode == "each-user":
        return cuts
    if mode == "random-user":
        return [random.Random(f"{seed}:{session.id}").choice(cuts)]
    raise ConfigError(f"unknown cut mode {mode!r}; valid modes: {', '.join(CUT_MODES)}")
