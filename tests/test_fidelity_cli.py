"""``understudy fidelity``: whole sessions replayed with their own turns and live tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_prefix import (  # the sessions of the prefix tests, replayed whole here
    CREATE_NOTES,
    DEPLOY,
    DIFFERENT,
    ENTER_BUILD,
    MAKE_NOTE,
    VIEW,
    VOLATILE,
    bash,
    make_session,
)
from typer.testing import CliRunner

from understudy.cli import app
from understudy.jsonl import write_models
from understudy.replay.demo import make_repo
from understudy.trajectory import Message, RepoSpec, Session


def with_second_turn(session: Session) -> Session:
    """``session`` with a second user turn that runs one more command, in the same shell."""
    call, output, _ = bash(
        "c-read", "cat /workspace/build/note.txt; pwd", "hello\n/workspace/build\n"
    )
    extra = [
        Message(role="assistant", content="", tool_calls=[call]),
        Message(role="tool", tool_call_id=call.id, name=call.name, content=output),
        Message(role="assistant", content="It says hello."),
    ]
    return session.model_copy(update={"messages": [*session.messages, *extra]})


@pytest.fixture
def sessions_file(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repos", "calc")
    faithful = with_second_turn(
        make_session(repo, [MAKE_NOTE, VOLATILE, CREATE_NOTES, ENTER_BUILD], "faithful")
    )
    drifted = make_session(repo, [MAKE_NOTE, DIFFERENT, VIEW, DEPLOY], "drifted")
    broken = make_session(repo, [MAKE_NOTE], "broken")
    broken.env.repo = RepoSpec(path=str(tmp_path / "no-such-repo"))
    path = tmp_path / "sessions.jsonl"
    with path.open("w") as handle:
        write_models(handle, [faithful, drifted, broken])
    return path


@pytest.mark.docker
def test_json_reports_fidelity_per_session_and_the_top_reasons(
    sessions_file: Path, base_image: str, run_id: str
) -> None:
    result = CliRunner().invoke(app, ["fidelity", str(sessions_file), "--json", "--run-id", run_id])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # nothing but the JSON object on stdout
    sessions = {entry["session_id"]: entry for entry in report["sessions"]}

    faithful = sessions["faithful"]
    assert (faithful["compared"], faithful["matched"]) == (5, 5)  # both user turns replayed
    assert faithful["fidelity"] == 1.0 and faithful["mismatches"] == []

    drifted = sessions["drifted"]
    assert (drifted["compared"], drifted["matched"]) == (4, 1)
    reasons = [(m["tool"], m["reason"]) for m in drifted["mismatches"]]
    assert reasons == [
        ("bash", "output differs"),
        ("str_replace_editor", "output differs"),  # read-only calls are compared here too
        ("deploy", "no live implementation"),
    ]
    assert "'TWO'" in drifted["mismatches"][0]["detail"]

    broken = sessions["broken"]
    assert broken["error"] and "no-such-repo" in broken["error"]
    assert broken["compared"] == 0

    overall = report["overall"]
    assert (overall["compared"], overall["matched"]) == (9, 6)
    assert (overall["measured"], overall["errors"]) == (2, 1)
    top = overall["top_reasons"][0]
    assert top == {
        "reason": "output differs",
        "count": 2,
        "tools": {"bash": 1, "str_replace_editor": 1},
    }


@pytest.mark.docker
def test_table_names_each_session_and_the_overall_rate(
    sessions_file: Path, base_image: str, run_id: str
) -> None:
    result = CliRunner().invoke(app, ["fidelity", str(sessions_file), "--run-id", run_id])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for session_id in ("faithful", "drifted", "broken"):
        assert session_id in out
    assert "output differs (2)" in out
    assert "overall: 6/9 recorded outputs reproduced (67%) over 2 session(s)" in out
    assert "1 session(s) with errors" in out


def test_unreadable_input_exits_with_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["fidelity", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 1
    assert "missing.jsonl: no such file" in result.output
