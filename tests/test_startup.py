"""Starting the command line loads neither scipy nor openai: they are loaded where they are
used (a statistic computed, a client made), so that ``understudy --help`` and every command's
start stay quick."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_cli_loads_neither_scipy_nor_openai() -> None:
    probe = (
        "import sys, understudy.cli; "
        "print(sorted(m for m in ('scipy', 'openai') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_the_heavy_modules_still_load_where_they_are_used() -> None:
    probe = (
        "import sys; from understudy.judges import stats; stats.jeffreys_interval(1, 10); "
        "from understudy.replay.candidate import OpenAICandidate; "
        "OpenAICandidate('m', base_url='http://127.0.0.1:9/v1'); "
        "print(sorted(m for m in ('scipy', 'openai') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "['openai', 'scipy']"
