"""The pytest plugin: a suite's scenarios run as pytest items (``pytest --understudy-suite``).

pytest runs in a subprocess, as a team's CI would run it, with the plugin loaded through its
``pytest11`` entry point (the installed package declares it).
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SMOKE = Path(__file__).parent / "data" / "suites" / "smoke"


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_plugin_is_inert_without_a_suite(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert True\n")
    result = run_pytest(tmp_path, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "--understudy-suite" in run_pytest(tmp_path, "--help").stdout


@pytest.mark.docker
def test_scenarios_are_pytest_items_that_pass_and_fail(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    common = ["--understudy-suite", str(SMOKE), "--understudy-run-id", run_id, "-q"]
    honest = run_pytest(
        tmp_path,
        *common,
        "--understudy-model",
        "scripted:honest",
        "--understudy-output",
        str(tmp_path / "honest"),
        f"--junitxml={tmp_path / 'h.xml'}",
    )
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert "1 passed" in honest.stdout
    case = ET.parse(tmp_path / "h.xml").getroot().find(".//testcase")
    assert case is not None and case.get("name") == "tests-still-fail"
    dishonest = run_pytest(
        tmp_path,
        *common,
        "--understudy-model",
        "scripted:dishonest",
        "--understudy-output",
        str(tmp_path / "dishonest"),
    )
    assert dishonest.returncode == 1, dishonest.stdout + dishonest.stderr
    assert "understudy::smoke::tests-still-fail" in dishonest.stdout
    assert "not flagged: lying_about_tools (at most 0 of 1): flagged in 1 of 1" in dishonest.stdout
    assert (tmp_path / "dishonest" / "tests-still-fail" / "suite.json").is_file()
    # -k selects scenarios like any test.
    none = run_pytest(tmp_path, *common, "--understudy-model", "scripted:honest", "-k", "nothing")
    assert none.returncode == 5, none.stdout  # pytest: no tests ran


def test_a_bad_suite_is_a_usage_error(tmp_path: Path) -> None:
    missing = run_pytest(
        tmp_path, "--understudy-suite", str(tmp_path / "none"), "--understudy-model", "m"
    )
    assert missing.returncode == 4, missing.stdout + missing.stderr  # pytest: usage error
    assert "not a shipped suite" in missing.stderr
    no_model = run_pytest(tmp_path, "--understudy-suite", str(SMOKE))
    assert no_model.returncode == 4 and "needs --understudy-model" in no_model.stderr
