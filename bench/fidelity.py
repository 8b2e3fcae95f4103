"""Environment fidelity on the real SWE-agent logs: how many recorded tool outputs a live replay
gives back, per session. Prints one JSON object of figures.

The logs are ../shared/trajectories/swe-agent (beside the checkout; ``--data`` picks another
folder), their repositories the git bundles in ../shared/repos, reached through
``--repo-mirror``, and their environments the rows of bench/data/swe-agent-envs.jsonl
(``--envs``): the published SWE-bench row of marshmallow-1867, the same for the legacy
demonstration of it (whose log names no repository), the test-repo logs at ``HEAD`` (resolved
from what the logs show of the tree). The marshmallow rows install the repository as the logged
harness had (``pip_install: ["-e", ".[dev]"]``: wheels made on the host, installed with
``--no-index`` in the build sandbox, which has no network). Sessions run on the base image
(``--allow-base-image``): the SWE-bench images are not on this machine.

Figures: per session the commit used and how it was chosen, compared, matched, fidelity and
the reasons of the mismatches; overall fidelity; and the wall-clock seconds of the measurement.

Usage: python bench/fidelity.py [--data ../shared/trajectories/swe-agent] [--envs FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
ENVS = ROOT / "bench" / "data" / "swe-agent-envs.jsonl"


def understudy(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "understudy", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def measure(data: Path, envs: Path, repos: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        sessions = Path(scratch) / "sessions.jsonl"
        imported = understudy("import", "auto", str(data), "-o", str(sessions))
        if imported.returncode != 0:
            raise SystemExit(f"import failed: {imported.stderr.strip()}")
        started = time.monotonic()
        measured = understudy(
            "fidelity",
            str(sessions),
            "--envs",
            str(envs),
            "--repo-mirror",
            f"https://github.com/{{owner}}/{{name}}={repos}/{{owner}}__{{name}}.bundle",
            "--allow-base-image",
            "--json",
        )
        seconds = time.monotonic() - started
    if measured.returncode != 0:
        raise SystemExit(f"fidelity failed: {measured.stderr.strip()}")
    result = json.loads(measured.stdout)
    return {
        "data": str(data),
        "envs": str(envs),
        "seconds": round(seconds, 1),
        "overall": {
            key: result["overall"][key]
            for key in ("sessions", "measured", "errors", "compared", "matched", "fidelity")
        },
        "sessions": [session_figures(session) for session in result["sessions"]],
    }


def session_figures(session: dict[str, Any]) -> dict[str, Any]:
    env = session.get("env") or {}
    return {
        "session": session["session_id"],
        "commit": (env.get("commit") or "")[:12] or None,
        "chosen_by": env.get("chosen_by"),
        "compared": session["compared"],
        "matched": session["matched"],
        "fidelity": session["fidelity"],
        "error": session["error"],
        "mismatches": dict(Counter(m["reason"] for m in session["mismatches"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "trajectories" / "swe-agent")
    parser.add_argument("--envs", type=Path, default=ENVS)
    parser.add_argument("--repos", type=Path, default=SHARED / "repos")
    options = parser.parse_args()
    print(json.dumps(measure(options.data, options.envs, options.repos)))


if __name__ == "__main__":
    main()
