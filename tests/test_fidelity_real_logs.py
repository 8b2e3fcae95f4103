"""Environment fidelity on the real SWE-agent logs in ../shared, rebuilt from the real
repositories (git bundles) with the environment rows bench/fidelity.py uses.

The floors are what the rebuilt environments give back today; what still differs is named:
the legacy marshmallow log ran ``pip install -e .[dev]``, which a sandbox without network and
pip cannot. (The function-calling one ran ``ls -F`` on SWE-ReX's 80-column terminal, which its
bash calls run on too, and its ``submit`` shows the state footer that SWE-agent 1.0.0's history
adds.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from understudy.cli import app

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ENVS = ROOT / "bench" / "data" / "swe-agent-envs.jsonl"

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not there"),
]

FLOORS = {
    "legacy-test-repo-i1": (5, 5),
    "SWE-agent__test-repo-i1": (5, 5),
    "marshmallow-1867-legacy-from-source": (14, 13),
    "marshmallow-code__marshmallow-1867": (11, 11),
}
"""Per session: (calls compared, at least this many matched)."""


@pytest.fixture(scope="module")
def fidelity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sessions = tmp_path_factory.mktemp("fidelity") / "sessions.jsonl"
    runner = CliRunner()
    imported = runner.invoke(
        app, ["import", "auto", str(SHARED / "trajectories" / "swe-agent"), "-o", str(sessions)]
    )
    assert imported.exit_code == 0, imported.output
    mirror = f"https://github.com/{{owner}}/{{name}}={SHARED / 'repos'}/{{owner}}__{{name}}.bundle"
    measured = runner.invoke(
        app,
        [
            "fidelity",
            str(sessions),
            "--envs",
            str(ENVS),
            "--repo-mirror",
            mirror,
            "--allow-base-image",
            "--json",
        ],
    )
    assert measured.exit_code == 0, measured.output
    result: dict[str, Any] = json.loads(measured.stdout)
    return result


def test_every_swe_agent_session_is_rebuilt(fidelity: dict[str, Any]) -> None:
    assert fidelity["overall"]["errors"] == 0
    assert {session["session_id"] for session in fidelity["sessions"]} == set(FLOORS)
    assert fidelity["overall"]["fidelity"] >= 0.9


@pytest.mark.parametrize("session_id", sorted(FLOORS))
def test_each_session_reproduces_its_recorded_outputs(
    fidelity: dict[str, Any], session_id: str
) -> None:
    session = next(s for s in fidelity["sessions"] if s["session_id"] == session_id)
    compared, floor = FLOORS[session_id]
    assert session["compared"] == compared
    assert session["matched"] >= floor, session["mismatches"]


def test_the_test_repo_commit_comes_from_what_the_logs_show(fidelity: dict[str, Any]) -> None:
    for session in fidelity["sessions"]:
        if "test-repo" in session["session_id"]:
            assert session["env"]["chosen_by"] == "log_consistency"
            assert session["env"]["commit"].startswith("57e59d0")


def test_what_was_installed_is_recorded_with_the_environment(fidelity: dict[str, Any]) -> None:
    for session in fidelity["sessions"]:
        env = session["env"]
        if "marshmallow" not in session["session_id"]:
            assert "installed" not in env
            continue
        assert env["pip_install"] == ["-e", ".[dev]"]
        assert any(line.startswith("-e /") for line in env["installed"]), env["installed"]
        assert any(line.lower().startswith("pytest==") for line in env["installed"])
