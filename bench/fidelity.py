"""Environment fidelity on real logs: how many recorded tool outputs a live replay gives back,
per session and per setting. Prints one JSON object of figures.

The settings measured (each a run of ``understudy fidelity``, sessions on the base image with
``--allow-base-image``: the SWE-bench images are not on this machine):

* ``swe-agent``: ../shared/trajectories/swe-agent with the rows of
  bench/data/swe-agent-envs.jsonl (the published SWE-bench row of marshmallow-1867, the same for
  the legacy demonstration of it, the test-repo logs at ``HEAD``) and the git bundles of
  ../shared/repos reached through ``--repo-mirror``;
* ``swe-agent-published-rows``: the same logs with only the published rows of ../shared/envs,
  as a user with a SWE-bench dataset file would run them (installs as the harness did, the
  repository a log names at ``/owner__name``, its own ``pip install``, ``HEAD`` from the tree);
* ``swe-agent-demonstrations``: SWE-agent's own demonstrations kept in tests/data (a 0.x one
  re-saved with a 1.x config, a bare 1.x history), with the published rows;
* ``log-workspaces``: the mini-swe-agent, Claude Code, Codex, OpenHands and inspect logs of
  ../shared with no option: their repositories are not here, so each runs in the workspace
  rebuilt from its log (whose coverage is given), or on the base image when it shows no file.

Figures: per setting the overall compared, matched and fidelity and the seconds it took; per
session the commit used and how it was chosen (or the workspace's coverage), compared, matched,
calls not compared because they touch content the workspace lacks, and the reasons of the
mismatches.

Usage: python bench/fidelity.py [--only SETTING ...]
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
LOGS = SHARED / "trajectories"
BENCH_ROWS = ROOT / "bench" / "data" / "swe-agent-envs.jsonl"
PUBLISHED_ROWS = SHARED / "envs" / "swe-bench-style.jsonl"
MIRROR = f"https://github.com/{{owner}}/{{name}}={SHARED / 'repos'}/{{owner}}__{{name}}.bundle"
DEMOS = sorted((ROOT / "tests" / "data" / "trajectories" / "swe-agent").glob("demo-*.traj"))

WORKSPACE_LOGS = ("mini-swe-agent", "claude-code", "codex", "openhands", "inspect")

SETTINGS: dict[str, tuple[list[Path], list[str]]] = {
    "swe-agent": ([LOGS / "swe-agent"], ["--envs", str(BENCH_ROWS), "--repo-mirror", MIRROR]),
    "swe-agent-published-rows": (
        [LOGS / "swe-agent"],
        ["--envs", str(PUBLISHED_ROWS), "--repo-mirror", MIRROR],
    ),
    "swe-agent-demonstrations": (DEMOS, ["--envs", str(PUBLISHED_ROWS), "--repo-mirror", MIRROR]),
    "log-workspaces": ([LOGS / kind for kind in WORKSPACE_LOGS], []),
}
"""Per setting: the logs, and the options of ``understudy fidelity``."""


def understudy(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "understudy", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def measure(logs: list[Path], options: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        sessions = Path(scratch) / "sessions.jsonl"
        imported = understudy("import", "auto", *map(str, logs), "-o", str(sessions))
        if imported.returncode != 0:
            raise SystemExit(f"import failed: {imported.stderr.strip()}")
        started = time.monotonic()
        measured = understudy("fidelity", str(sessions), *options, "--allow-base-image", "--json")
        seconds = time.monotonic() - started
    if measured.returncode != 0:
        raise SystemExit(f"fidelity failed: {measured.stderr.strip()}")
    result = json.loads(measured.stdout)
    return {
        "seconds": round(seconds, 1),
        "overall": {
            key: result["overall"][key]
            for key in ("sessions", "measured", "errors", "compared", "matched", "fidelity")
        },
        "sessions": [session_figures(session) for session in result["sessions"]],
    }


def session_figures(session: dict[str, Any]) -> dict[str, Any]:
    env = session.get("env") or {}
    figures: dict[str, Any] = {
        "session": session["session_id"],
        "compared": session["compared"],
        "matched": session["matched"],
        "fidelity": session["fidelity"],
        "not_compared_unknown_content": session.get("unknown_content", 0),
        "error": session["error"],
        "mismatches": dict(Counter(m["reason"] for m in session["mismatches"])),
    }
    workspace = env.get("workspace")
    if workspace:
        figures["workspace"] = {
            "workdir": workspace.get("workdir"),
            "full": len(workspace.get("full", [])),
            "partial": len(workspace.get("partial", [])),
            "names": len(workspace.get("names", [])),
            "git_repository": workspace.get("git_repository"),
        }
    else:
        figures["commit"] = (env.get("commit") or "")[:12] or None
        figures["chosen_by"] = env.get("chosen_by")
        figures["pip_install_from"] = env.get("pip_install_from")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(SETTINGS), default=sorted(SETTINGS))
    chosen = parser.parse_args().only
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is not there: the real logs and repositories live in it")
    print(json.dumps({name: measure(*SETTINGS[name]) for name in chosen}))


if __name__ == "__main__":
    main()
