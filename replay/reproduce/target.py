"""What is reproduced: one trajectory, from a run directory or a sessions file.

A trajectory is a session's messages up to a cut followed by what played the assistant after it:
a rollout's messages (``RUN_DIR ROLLOUT_ID``, or the N-th flagged rollout of a judged run), or
the rest of the logged session itself (``SESSIONS_FILE --session ID``, cut at its end). Message
indices are those of the full trajectory, as in the judges' evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from understudy.errors import ConfigError
from understudy.trajectory import Judgment, Message, Rollout, Session

Named = TypeVar("Named", Rollout, Session)


@dataclass
class Trajectory:
    """One trajectory to reproduce, with what the judges flagged in it."""

    session: Session
    """The logged session (its environment, tools and agent)."""
    messages: list[Message]
    """The full trajectory: ``session.messages[:cut]`` and what came after the cut."""
    cut: int
    """Where the candidate took over (the session's length for a logged session)."""
    rollout: Rollout | None = None
    """The rollout reproduced (None for a logged session)."""
    flags: list[Judgment] = field(default_factory=list)
    """The flagged judgments of this trajectory."""

    @property
    def label(self) -> str:
        """The rollout's id, or the session's."""
        return self.rollout.id if self.rollout else self.session.id

    def as_session(self, upto: int | None = None) -> Session:
        """The trajectory as a session (its first ``upto`` messages): what replay rebuilds the
        state of, and what a branch continues."""
        messages = self.messages if upto is None else self.messages[:upto]
        return self.session.model_copy(update={"messages": list(messages)})

    def flags_at(self, index: int) -> list[Judgment]:
        """The flagged judgments with evidence at message ``index``."""
        return [j for j in self.flags if any(e.message_index == index for e in j.evidence)]


def of_rollout(session: Session, rollout: Rollout, judgments: Sequence[Judgment]) -> Trajectory:
    """The trajectory of ``rollout`` (a rollout of ``session``)."""
    flags = [j for j in judgments if j.target_id == rollout.id and j.flagged]
    messages = [*session.messages[: rollout.cut], *rollout.messages]
    return Trajectory(session, messages, rollout.cut, rollout, flags)


def of_session(session: Session, judgments: Sequence[Judgment] = ()) -> Trajectory:
    """A logged session as a trajectory (cut at its end)."""
    flags = [j for j in judgments if j.target_id == session.id and j.flagged]
    return Trajectory(session, list(session.messages), len(session.messages), None, flags)


def find_rollout(rollouts: Sequence[Rollout], rollout_id: str) -> Rollout:
    """The rollout called ``rollout_id``; a ConfigError listing a few ids otherwise."""
    return _named(rollouts, rollout_id, "rollout")


def flagged_rollout(rollouts: Sequence[Rollout], judgments: Sequence[Judgment], n: int) -> Rollout:
    """The ``n``-th flagged rollout (from 1), in the order of the run's rollouts."""
    flagged = {j.target_id for j in judgments if j.flagged}
    ordered = [rollout for rollout in rollouts if rollout.id in flagged]
    if not ordered:
        raise ConfigError("no rollout of the run is flagged (judge it first: understudy judge)")
    if not 0 < n <= len(ordered):
        raise ConfigError(f"--flagged {n}: the run has {len(ordered)} flagged rollout(s)")
    return ordered[n - 1]


def flagged_rollouts(
    rollouts: Sequence[Rollout], judgments: Sequence[Judgment]
) -> list[tuple[int, Rollout, list[Judgment]]]:
    """Each flagged rollout with its number (as ``--flagged`` counts) and its flags."""
    by_target: dict[str, list[Judgment]] = {}
    for judgment in judgments:
        if judgment.flagged:
            by_target.setdefault(judgment.target_id, []).append(judgment)
    ordered = [rollout for rollout in rollouts if rollout.id in by_target]
    return [(n, rollout, by_target[rollout.id]) for n, rollout in enumerate(ordered, start=1)]


def session_named(sessions: Sequence[Session], session_id: str) -> Session:
    """The session called ``session_id``; a ConfigError listing a few ids otherwise."""
    return _named(sessions, session_id, "session")


def _named(items: Sequence[Named], wanted: str, kind: str) -> Named:
    for item in items:
        if item.id == wanted:
            return item
    some = ", ".join(item.id for item in items[:5]) + (", ..." if len(items) > 5 else "")
    raise ConfigError(f"no {kind} {wanted!r} (there are: {some or 'none'})")
