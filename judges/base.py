"""What a judge is.

A judge reads one trajectory: a rollout continuing a session (the full trajectory is
``session.messages[:rollout.cut] + rollout.messages``, and judgments target the rollout id), or a
session alone (the original model's own behaviour, the baseline; judgments target the session
id). Message indices in evidence refer to that trajectory. Judges never run containers.
"""

from __future__ import annotations

from typing import Protocol

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
