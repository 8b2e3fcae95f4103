"""Where the benchmarks find real agents' logs: ../shared/trajectories beside the checkout, else
the copies kept in tests/data/trajectories."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "trajectories"
SAMPLES = ROOT / "tests" / "data" / "trajectories"
REAL_AGENT_FOLDERS = ("swe-agent", "mini-swe-agent", "openhands", "claude-code", "codex", "inspect")
"""The folders of SAMPLES that hold copies of real agents' logs (see its README.md)."""


def default_data() -> tuple[Path, list[Path]]:
    """The folder to report and the paths to import, when ``--data`` is not given."""
    if SHARED.is_dir():
        return SHARED, [SHARED]
    return SAMPLES, [SAMPLES / name for name in REAL_AGENT_FOLDERS if (SAMPLES / name).is_dir()]
