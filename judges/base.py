"""What a judge is.

A judge reads one trajectory: a rollout continuing a session (the full trajectory is
``session.messages[:rollout.cut] + rollout.messages``, and judgments target the rollout id), or a
session alone (the original model's own behaviour, the baseline; judgments target the session
id). Message indices in evidence refer to that trajectory. Judges never run containers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from understudy.trajectory import Judgment, Message, Rollout, Session, full_trajectory


class Judge(Protocol):
    """Produces judgments about one trajectory."""

    name: str
    """Recorded in ``Judgment.judge`` (a rule's name, or ``llm:<model>``)."""

    async def judge(self, session: Session, rollout: Rollout | None) -> list[Judgment]:
        """Verdicts on the trajectory; one Judgment per category the judge covers."""
        ...


def trajectory_of(session: Session, rollout: Rollout | None) -> tuple[str, list[Message]]:
    """The id judgments target and the messages they index."""
    if rollout is None:
        return session.id, list(session.messages)
    return rollout.id, full_trajectory(session, rollout)


def string_leaves(value: Any) -> Iterable[str]:
    """Every string in a tool call's (nested) arguments: where a quote of what it did may be."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from string_leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from string_leaves(item)
