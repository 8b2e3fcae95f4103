"""Helpers shared by the command modules of :mod:`understudy.cli`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from understudy.errors import ConfigError

if TYPE_CHECKING:
    from understudy.trajectory import Session


def console(stderr: bool = False) -> Console:
    """A console on the current stdout or stderr.

    Made per use rather than at import, so that it writes to whatever stream is current (a test
    runner swaps them) and detects colour support for that stream. Lines are never wrapped.
    """
    return Console(stderr=stderr, highlight=False, emoji=False, soft_wrap=True)


def load_sessions(files: list[Path]) -> list[Session]:
    # Loaded when sessions are read: the command line starts without pydantic and jsonschema.
    from understudy.jsonl import read_models
    from understudy.trajectory import Session

    sessions: list[Session] = []
    for path in files:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
        sessions.extend(read_models(path, Session))
    seen = Counter(session.id for session in sessions)
    duplicates = sorted(sid for sid, count in seen.items() if count > 1)
    if duplicates:
        raise ConfigError(f"session ids must be unique; repeated: {', '.join(duplicates[:5])}")
    return sessions


def counts(counts: dict[str, int]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(counts.items()))


def select_sessions(sessions: list[Session], ids: list[str] | None) -> list[Session]:
    """The sessions named by ``ids`` (all when None), in their files' order; an id that names
    none is a ConfigError listing some that exist."""
    if not ids:
        return sessions
    known = {session.id for session in sessions}
    unknown = [session_id for session_id in ids if session_id not in known]
    if unknown:
        some = ", ".join(sorted(known)[:5]) + (", ..." if len(known) > 5 else "")
        raise ConfigError(f"no session with id {', '.join(unknown)} (there are: {some})")
    wanted = set(ids)
    return [session for session in sessions if session.id in wanted]
