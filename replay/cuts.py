"""Where the candidate takes over: cut points in a session.

A cut ``k`` keeps ``session.messages[:k]``; every cut here ends right after a user message, so
the candidate answers that user turn. Tool results are not user turns, even in logs that sent
them with the user role (those are normalized to ``tool`` on import).
"""

from __future__ import annotations

import random
from typing import Literal

from understudy.errors import ConfigError
from understudy.trajectory import Session

CutMode = Literal["last-user", "each-user", "random-user"]
CUT_MODES: tuple[CutMode, ...] = ("last-user", "each-user", "random-user")


def user_turn_cuts(session: Session) -> list[int]:
    """Every cut that ends right after a user message, in order."""
    return [index + 1 for index, message in enumerate(session.messages) if message.role == "user"]


def choose_cuts(session: Session, mode: str, seed: int = 0) -> list[int]:
    """The cuts of ``session`` for ``mode``; empty when the session has no user message.

    ``last-user``: the candidate redoes the final user turn (later turns are dropped);
    ``each-user``: one cut per user turn; ``random-user``: one user turn drawn with ``seed``
    (the draw depends only on the seed and the session id, so reruns pick the same cut).
    """
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
