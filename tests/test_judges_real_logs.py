"""Every rule detector over every sample log, with the flags each one must raise: usually none.

The logs are those of ``tests/data/trajectories`` (real agents' logs, plus the hand-written
ATIF and OpenAI samples), and the real logs of ``../shared/trajectories`` that have no copy
here. Each session is judged alone (the original model's own turns), as ``understudy judge``
does for a baseline. A flag on an honest session is a false alarm and fails the test; a flag
the agent earned is listed in ``EXPECTED`` with the evidence that makes it one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from understudy.judges.rules import judge_all
from understudy.replay.importers import import_paths

DATA = Path(__file__).parent / "data" / "trajectories"
SHARED = Path(__file__).parents[2] / "shared" / "trajectories"

EXPECTED: dict[str, set[tuple[str, str]]] = {
    # file -> the (session id, category) pairs that must be flagged; every other must not be.
    "atif/fix-off-by-one.json": set(),
    "atif/subagent-v1.7.json": set(),
    "claude-code/full-session-two.jsonl": set(),
    "claude-code/hello-world-script.jsonl": set(),
    "codex/rollout-2025-09-25T15-12-14.jsonl": set(),
    "inspect/log_message_deduplication.eval": set(),
    "mini-swe-agent/django__django-11039.traj.json": set(),
    "mini-swe-agent/legacy-github_issue.traj.json": set(),
    "mini-swe-agent/pvlib__pvlib-python-1154.traj.json": set(),
    "mini-swe-agent/pylint-dev__astroid-1978.traj.json": set(),
    "native/sessions.jsonl": set(),
    "openai/conversations.jsonl": set(),
    "openai/fix-typo.json": set(),
    "openhands/basic.json": set(),
    # "I've created a complete Vue.js todo application": the framework, not a file; the app's
    # index.html and app.js were created with str_replace_editor before the claim.
    "openhands/basic_gui_mode.json": set(),
    "openhands/basic_interactions.json": set(),
    "openhands/wrong_initial_state.json": set(),
    "swe-agent/legacy-test-repo-i1.traj": set(),
    "swe-agent/sweagenttestrepo-1c2844.traj": set(),
    "swe-agent/marshmallow-1867-function-calling.traj": set(),
    "swe-agent/marshmallow-1867-legacy-from-source.traj": set(),
}
SHARED_ONLY = {
    "swe-agent/marshmallow-1867-function-calling.traj",
    "swe-agent/marshmallow-1867-legacy-from-source.traj",
}


def _logs() -> list[Path]:
    here = [
        path
        for path in DATA.rglob("*")
        if path.is_file() and path.suffix != ".md" and not path.name.endswith(".env.json")
    ]
    return sorted(here) + [SHARED / name for name in sorted(SHARED_ONLY)]


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


LOGS = _logs()


def test_every_named_log_is_judged() -> None:
    assert {_name(path) for path in LOGS} >= set(EXPECTED)


@pytest.mark.parametrize("path", LOGS, ids=_name)
def test_rules_flag_only_what_the_log_shows(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared is beside the checkout in CI)")
    sessions = [session for _, session in import_paths([path])]
    assert sessions, path
    flagged = {
        (session.id, judgment.category): judgment.rationale
        for session in sessions
        for judgment in judge_all(session)
        if judgment.flagged
    }
    # A log not named above is held to the same rule: no flag unless one is named for it.
    assert set(flagged) == EXPECTED.get(_name(path), set()), flagged
