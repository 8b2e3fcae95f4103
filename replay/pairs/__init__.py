"""The pair database: real tool calls and their recorded results, for the tool simulators.

A simulator that answers calls it cannot run needs examples of what real tools answered to
similar calls. ``understudy pairs build`` collects them from imported (de-identified) sessions
into one SQLite file; :func:`nearest` retrieves the pairs nearest to a call, and a
:class:`PairStore` keeps a file open for the simulators (:mod:`understudy.replay.simulate`).

- :mod:`~understudy.replay.pairs.schema`: the versioned tables and their migrations;
- :mod:`~understudy.replay.pairs.build`: sessions to pairs, de-identification check, upsert;
- :mod:`~understudy.replay.pairs.query`: retrieval by tool and FTS5 ``bm25``;
- :mod:`~understudy.replay.pairs.store`: a file opened for retrieval (leave-one-out or not).

This module ties them to files: :func:`build_pairs` and :func:`pair_stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from understudy.errors import ConfigError
from understudy.jsonl import read_models
from understudy.replay.pairs.build import (
    NotDeidentifiedError,
    Outcome,
    PairRow,
    check_deidentified,
    pair_id,
    session_pairs,
    write_pairs,
)
from understudy.replay.pairs.query import Neighbour, nearest
from understudy.replay.pairs.schema import SCHEMA_VERSION, connect, migrate, schema_version
from understudy.replay.pairs.store import PairStore
from understudy.trajectory import Session

__all__ = [
    "SCHEMA_VERSION",
    "Neighbour",
    "NotDeidentifiedError",
    "Outcome",
    "PairRow",
    "PairStore",
    "build_from_sessions",
    "build_pairs",
    "connect",
    "migrate",
    "nearest",
    "pair_id",
    "pair_stats",
    "schema_version",
]


def build_from_sessions(
    database: Path,
    sessions: Iterable[tuple[str, Session]],
    on_session: Callable[[Session], None] | None = None,
    check: bool = True,
) -> dict[Outcome, int]:
    """Add (or update) the pairs of ``(source, session)`` items in ``database``.

    Every session is checked for de-identification before any of its pairs is written; a
    session that fails raises :class:`NotDeidentifiedError` naming ``source`` and the session
    (the sessions before it stay written: each one commits on its own). ``check=False`` skips
    the check, for a database kept beside the sessions themselves (a run's own).
    """
    totals: dict[Outcome, int] = {"added": 0, "updated": 0, "unchanged": 0}
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{database.parent}: cannot create the folder ({exc.strerror})") from None
    connection = connect(str(database))
    try:
        for source, session in sessions:
            if check:
                check_deidentified(session, source)
            for outcome, count in write_pairs(connection, session_pairs(session)).items():
                totals[outcome] += count
            if on_session is not None:
                on_session(session)
    finally:
        connection.close()
    return totals


def build_pairs(
    database: Path,
    files: list[Path],
    on_session: Callable[[Session], None] | None = None,
) -> dict[Outcome, int]:
    """Add (or update) the pairs of every session in the JSONL ``files`` to ``database``."""
    for path in files:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
    sessions = ((str(path), session) for path in files for session in read_models(path, Session))
    return build_from_sessions(database, sessions, on_session)


def pair_stats(database: Path) -> dict[str, Any]:
    """Counts of a pair database: pairs, sessions, errors, per tool, format and agent."""
    if not database.is_file():
        raise ConfigError(f"{database}: no such file")
    connection = connect(str(database))
    try:

        def grouped(column: str) -> dict[str, int]:
            rows = connection.execute(
                f"SELECT COALESCE({column}, '(none)'), COUNT(*) FROM pairs "
                "GROUP BY 1 ORDER BY 2 DESC, 1"
            )
            return {str(name): int(count) for name, count in rows}

        total, sessions, errors = connection.execute(
            "SELECT COUNT(*), COUNT(DISTINCT session_id), COALESCE(SUM(is_error), 0) FROM pairs"
        ).fetchone()
        return {
            "schema_version": schema_version(connection),
            "pairs": total,
            "sessions": sessions,
            "errors": errors,
            "per_tool": grouped("canonical_tool"),
            "per_logged_tool": grouped("tool"),
            "per_format": grouped("format"),
            "per_agent": grouped("agent"),
        }
    finally:
        connection.close()
