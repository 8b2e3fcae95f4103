"""Session weights: how much each session stands for in the population a run forecasts.

A sample of sessions drawn unevenly from deployment traffic (more of one product surface, one
language, one agent than the traffic has) is reweighted to it by giving each session a weight,
for example the traffic's share of its stratum over the sample's. ``report --weights`` takes:

- a CSV file with a header ``session,weight``;
- a JSONL file of ``{"session": ID, "weight": W}`` lines;
- ``meta``: each session's own ``meta["weight"]`` in the run's sessions.jsonl.

A session without a weight weighs 1. Weights must be finite and not negative.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from understudy.errors import ConfigError
from understudy.jsonl import read_models
from understudy.run_files import SESSIONS_FILE
from understudy.trajectory import Session

__all__ = ["FROM_SESSIONS", "load_weights"]

FROM_SESSIONS = "meta"
"""``--weights meta``: the sessions' own ``meta["weight"]``."""


def _weight(value: object, where: str) -> float:
    try:
        weight = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: weight: not a number: {value!r}") from None
    if not math.isfinite(weight) or weight < 0:
        raise ConfigError(f"{where}: weight: must be a finite number >= 0, not {value!r}")
    return weight


def load_weights(source: str, run_dir: Path) -> dict[str, float]:
    """Session id -> weight, from a file or (``meta``) from the run's sessions."""
    if source == FROM_SESSIONS:
        sessions = read_models(run_dir / SESSIONS_FILE, Session)
        return {
            s.id: _weight(s.meta["weight"], f"{run_dir / SESSIONS_FILE}: {s.id}: meta")
            for s in sessions
            if "weight" in s.meta
        }
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"--weights {source}: no such file (or 'meta' for the sessions' own)")
    weights: dict[str, float] = {}
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"session", "weight"} <= set(reader.fieldnames):
                raise ConfigError(f"{path}:1: expected the header session,weight")
            for line, row in enumerate(reader, start=2):
                weights[row["session"]] = _weight(row["weight"], f"{path}:{line}")
        return weights
    for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}:{line}: invalid JSON: {error.msg}") from None
        if not isinstance(row, dict) or "session" not in row or "weight" not in row:
            raise ConfigError(f'{path}:{line}: expected {{"session": ID, "weight": W}}')
        weights[str(row["session"])] = _weight(row["weight"], f"{path}:{line}")
    return weights
