"""A run's own pair database and simulator cache, kept in its run directory.

When the simulator is given no pair database, a run builds one from its own sessions
(``pairs.db``) and records what it was built from (``pairs-source.json``), so that a
``--resume`` of the same sessions does not build it again (about a minute per 100k pairs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from understudy.logging import get_logger
from understudy.replay.pairs import build_from_sessions
from understudy.replay.simulate import NO_SIMULATOR, SimulatorConfig
from understudy.trajectory import Session

log = get_logger("replay.run_pairs")


RUN_PAIRS = "pairs.db"
"""The pair database a run builds from its own sessions when it is given none."""
SIMULATOR_CACHE = "simulator-cache.jsonl"
"""Where a run keeps the llm simulator's replies when it is told no other place."""


def run_simulator(config: SimulatorConfig, run_dir: Path) -> SimulatorConfig:
    """The simulator settings with the run directory's pair database (once built, see
    :func:`build_run_pairs`) and reply cache where none are given."""
    update: dict[str, Any] = {}
    if config.pairs is None and (run_dir / RUN_PAIRS).is_file():
        update["pairs"] = run_dir / RUN_PAIRS
    if config.cache is None and config.name == "llm":
        update["cache"] = run_dir / SIMULATOR_CACHE
    return config.model_copy(update=update)


RUN_PAIRS_SOURCE = "pairs-source.json"
"""What the run's pair database was last built from: the sessions' digest, and the database's
size and modification time once built (so that a database changed since is built again)."""


def build_run_pairs(
    config: SimulatorConfig, sessions: Sequence[Session], run_dir: Path, sessions_sha256: str
) -> None:
    """Build (or bring up to date) the run's own pair database from its sessions, when the
    simulator draws on it (no ``pairs`` given); skipped when it was built from the same
    sessions (``sessions_sha256``) and has not changed since, as on a ``--resume``."""
    if config.name == NO_SIMULATOR or config.pairs is not None:
        return
    pairs, source = run_dir / RUN_PAIRS, run_dir / RUN_PAIRS_SOURCE
    built = _pairs_source(pairs, sessions_sha256)
    if built is not None and built == _read_pairs_source(source):
        log.info("pair database up to date", pairs=str(pairs))
        return
    source.unlink(missing_ok=True)  # a build cut short must not pass for a finished one
    # The run directory already holds these sessions (sessions.jsonl): their pairs may stay
    # beside them whether or not they were de-identified.
    build_from_sessions(pairs, ((str(run_dir), s) for s in sessions), check=False)
    source.write_text(json.dumps(_pairs_source(pairs, sessions_sha256)))


def _pairs_source(pairs: Path, sessions_sha256: str) -> dict[str, Any] | None:
    """The record of ``pairs`` built from sessions of ``sessions_sha256`` (None: no database)."""
    try:
        stat = pairs.stat()
    except FileNotFoundError:
        return None
    return {"sessions_sha256": sessions_sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_pairs_source(source: Path) -> dict[str, Any] | None:
    try:
        recorded = json.loads(source.read_text())
    except (OSError, ValueError):
        return None  # missing or damaged: built again
    return recorded if isinstance(recorded, dict) else None
