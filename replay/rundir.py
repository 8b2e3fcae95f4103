"""The run directory: append-only, resumable.

```
run.json          config, versions, start and end times (rewritten atomically)
rollouts.jsonl    one Rollout per line, appended and fsynced as each finishes
events.jsonl      structlog JSON events
```
A killed run loses at most the rollouts in flight: each rollout is one ``write`` of one line
followed by ``fsync``. On resume, a last line cut short by the kill is dropped, and the keys
(session, cut, sample) already written are skipped, so none is written twice, except those whose
newest attempt ended in ``error``: they are run again and the new attempt is appended after the
old line, which stays as a record. Readers take the newest line per key
(:func:`~understudy.trajectory.latest_rollouts`).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from understudy import __version__
from understudy.errors import ConfigError, SchemaError
from understudy.jsonl import append_models, read_models, write_json, write_models
from understudy.run_files import EVENTS_FILE, ROLLOUTS_FILE, RUN_FILE, SESSIONS_FILE
from understudy.trajectory import (
    SCHEMA_VERSION,
    Rollout,
    RolloutKey,
    Session,
    latest_rollouts,
    rollout_key,
)

__all__ = ["RolloutKey", "RunDir"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunDir:
    """One run's directory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.rollouts_file = self.path / ROLLOUTS_FILE
        self.run_file = self.path / RUN_FILE
        self.events_file = self.path / EVENTS_FILE

    def open(self, config: dict[str, Any], resume: bool) -> set[RolloutKey]:
        """Create or reopen the directory; the keys done already (empty for a new run): those
        whose newest attempt did not end in ``error``."""
        has_rollouts = self.rollouts_file.exists() and self.rollouts_file.stat().st_size > 0
        if has_rollouts and not resume:
            raise ConfigError(
                f"{self.path} already holds rollouts; pass --resume to continue that run, "
                "or choose another output directory"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        done = self._drop_torn_line_and_read_keys() if has_rollouts else set()
        info = self.read_info() if resume else {}
        info.update(
            {
                "understudy_version": __version__,
                "schema_version": SCHEMA_VERSION,
                "python": platform.python_version(),
                "config": config,
            }
        )
        info.setdefault("started_at", _now())
        if resume:
            info.setdefault("resumed_at", []).append(_now())
        info.pop("finished_at", None)
        self.write_info(info)
        return done

    def read_info(self) -> dict[str, Any]:
        """run.json as a dict (empty if missing)."""
        if not self.run_file.exists():
            return {}
        loaded: dict[str, Any] = json.loads(self.run_file.read_text())
        return loaded

    def write_info(self, info: dict[str, Any]) -> None:
        """Replace run.json atomically."""
        write_json(self.run_file, info)

    def finish(self, summary: dict[str, Any]) -> None:
        """Record the end of the run and its summary in run.json."""
        info = self.read_info()
        info["finished_at"] = _now()
        info["summary"] = summary
        self.write_info(info)

    def keep_sessions(self, sessions: Sequence[Session]) -> None:
        """The run's sessions beside its rollouts (``sessions.jsonl``, replaced atomically), so
        that judge and report need only the run directory."""
        kept = self.path / SESSIONS_FILE
        scratch = kept.with_name(kept.name + ".tmp")
        with scratch.open("w", encoding="utf-8") as handle:
            write_models(handle, sessions)
        scratch.replace(kept)

    def append(self, rollout: Rollout) -> None:
        """Write one finished rollout durably."""
        append_models(self.rollouts_file, [rollout])

    def rollouts(self) -> list[Rollout]:
        """The newest attempt at each rollout written so far."""
        return latest_rollouts(self.attempts())

    def attempts(self) -> list[Rollout]:
        """Every line of rollouts.jsonl, errored attempts that were run again included."""
        if not self.rollouts_file.exists():
            return []
        return list(read_models(self.rollouts_file, Rollout))

    def run_id(self) -> str | None:
        """The run id the directory's containers are labelled with (from run.json)."""
        settings = self.read_info().get("config", {}).get("settings", {})
        found = settings.get("run_id") if isinstance(settings, dict) else None
        return found if isinstance(found, str) and found else None

    def _drop_torn_line_and_read_keys(self) -> set[RolloutKey]:
        data = self.rollouts_file.read_bytes()
        if not data.endswith(b"\n"):
            # The run was killed in the middle of a write: that rollout was in flight.
            self._truncate(data.rfind(b"\n") + 1)
        try:
            return {rollout_key(r) for r in self.rollouts() if r.status != "error"}
        except SchemaError as exc:
            raise ConfigError(f"cannot resume: {self.rollouts_file} is damaged: {exc}") from exc

    def _truncate(self, size: int) -> None:
        with self.rollouts_file.open("r+b") as handle:
            handle.truncate(size)
