"""The README's two set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shell_blocks(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", markdown, re.S)]


def test_readme_gives_install_and_test_commands_and_ci_runs_the_test_command() -> None:
    install, test = shell_blocks((ROOT / "README.md").read_text())
    assert install.startswith('pip install -e ".[dev]" && understudy ')
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    assert "UNDERSTUDY_REQUIRE_DOCKER=1" in ci
