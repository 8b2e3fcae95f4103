"""A pair database opened for the simulators: one connection, retrieval only.

A simulator asks for the pairs nearest to a call many times in a rollout; the connection and
its cached document frequencies (:mod:`understudy.replay.pairs.query`) are kept open for all
of them. With ``leave_out_session`` the pairs of the session being replayed are never
returned, which is how ``simcheck`` measures a simulator on calls it has not seen.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from understudy.errors import ConfigError
from understudy.replay.pairs.query import Neighbour, nearest
from understudy.replay.pairs.schema import connect
from understudy.trajectory import ToolCall

PREAMBLE_EVIDENCE = 3
"""Outputs of one tool in one session that must start with the same lines (and be at least
half of them) for those lines to be read as the session's preamble rather than output."""


def common_leading_lines(outputs: list[str]) -> str:
    """The whole lines most of ``outputs`` start with: the first line at least half of them and
    :data:`PREAMBLE_EVIDENCE` begin with, and the lines after it that all of those share."""
    firsts = Counter(output.split("\n", 1)[0] for output in outputs if "\n" in output)
    if not firsts:
        return ""
    first, count = firsts.most_common(1)[0]
    if not first.strip() or count < max(PREAMBLE_EVIDENCE, len(outputs) / 2):
        return ""
    split = [output.split("\n") for output in outputs if output.startswith(first + "\n")]
    shared: list[str] = []
    for lines in zip(*split, strict=False):
        if any(line != lines[0] for line in lines) or len(shared) + 1 >= min(map(len, split)):
            break
        shared.append(lines[0])
    return "".join(line + "\n" for line in shared)


class PairStore:
    """Retrieval from one pair database file."""

    def __init__(self, path: Path, leave_out_session: bool = False) -> None:
        if not path.is_file():
            raise ConfigError(
                f"{path}: no such pair database (build one with `understudy pairs build`)"
            )
        self.path = path
        self.leave_out_session = leave_out_session
        """Never return the pairs of the session a call comes from."""
        self._preambles: dict[tuple[str, str], str] = {}
        # Rollouts run as tasks of one event loop, in the thread that opened the store; a query
        # takes milliseconds, so it is not worth a thread of its own.
        self._connection = connect(str(path))

    def nearest(
        self, call: ToolCall, agent: str | None, session_id: str, k: int = 5
    ) -> list[Neighbour]:
        """The ``k`` pairs nearest to ``call`` of ``session_id``'s replay (see
        :func:`~understudy.replay.pairs.query.nearest`)."""
        leave_out = session_id if self.leave_out_session else None
        return nearest(self._connection, call, agent, k, exclude_session=leave_out)

    def preamble(self, session_id: str, tool: str) -> str:
        """The lines every recorded output of ``tool`` in ``session_id`` starts with (a shell
        profile's warnings, a banner), as :func:`common_leading_lines` finds them; empty when
        there are none."""
        key = (session_id, tool)
        if key not in self._preambles:
            rows = self._connection.execute(
                "SELECT COALESCE(output, result) FROM pairs WHERE session_id = ? AND tool = ? "
                "ORDER BY message_index LIMIT 20",
                key,
            ).fetchall()
            self._preambles[key] = common_leading_lines([str(row[0]) for row in rows])
        return self._preambles[key]

    def close(self) -> None:
        """Close the connection. Safe to call more than once."""
        self._connection.close()
