"""``understudy validate`` and ``understudy schema``, through typer's runner and a real process."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from typer.testing import CliRunner, Result

from understudy.cli import UnderstudyGroup, app
from understudy.errors import ConfigError, SchemaError
from understudy.jsonl import parse_line
from understudy.logging import configure_logging
from understudy.trajectory import MODELS, Judgment

runner = CliRunner()


def session_record(session_id: str = "s1") -> dict[str, Any]:
    """A valid session as JSON data; ``messages[3]`` carries a tool call."""
    return {
        "id": session_id,
        "source": {"format": "native", "model": "model-a"},
        "task": "Make the tests pass",
        "env": {"repo": {"url": "https://example.com/r.git", "commit": "abc123"}},
        "tools": [{"name": "bash", "parameters": {"type": "object", "properties": {}}}],
        "messages": [
            {"role": "system", "content": "Be careful."},
            {"role": "user", "content": "Make the tests pass"},
            {"role": "assistant", "content": "Looking."},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "c1", "name": "bash", "arguments": {"command": "pytest"}}],
            },
            {
                "role": "tool",
                "content": "2 passed",
                "tool_call_id": "c1",
                "provenance": "recorded",
                "timestamp": "2024-05-01T10:00:00+02:00",
                "meta": {"exit_code": 0},
            },
        ],
    }


def write_jsonl(path: Path, records: list[dict[str, Any] | str]) -> Path:
    """One line per record; strings are written as they are (for broken lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def broken(change: str) -> dict[str, Any]:
    """A session record with one thing wrong."""
    record = copy.deepcopy(session_record("bad"))
    messages = record["messages"]
    if change == "missing call id":
        del messages[3]["tool_calls"][0]["id"]
    elif change == "wrong type":
        messages[1]["content"] = 42
    elif change == "bad role":
        messages[2]["role"] = "robot"
    elif change == "unknown field":
        messages[0]["colour"] = "red"
    elif change == "unknown nested field":
        record["env"]["repo"]["sha"] = "abc"
    elif change == "bad timestamp":
        messages[4]["timestamp"] = "yesterday"
    return record


def validate(*args: str | Path) -> Result:
    return runner.invoke(app, ["validate", *map(str, args)])


def test_valid_file_passes_with_a_count(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "sessions.jsonl", [session_record(f"s{i}") for i in range(3)])
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 3 valid\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("missing call id", "sessions.jsonl:2: messages[3].tool_calls[0].id: required"),
        ("wrong type", "sessions.jsonl:2: messages[1].content: expected a string, got 42"),
        (
            "bad role",
            'sessions.jsonl:2: messages[2].role: must be one of "system", "user", "assistant", '
            '"tool", got "robot"',
        ),
        ("unknown field", "sessions.jsonl:2: messages[0].colour: unknown field"),
        ("unknown nested field", "sessions.jsonl:2: env.repo.sha: unknown field"),
        (
            "bad timestamp",
            "sessions.jsonl:2: messages[4].timestamp: Input should be a valid datetime or date, "
            "input is too short",
        ),
    ],
)
def test_one_bad_record_is_reported_by_file_line_and_field(
    tmp_path: Path, change: str, problem: str
) -> None:
    path = write_jsonl(
        tmp_path / "sessions.jsonl", [session_record("s1"), broken(change), session_record("s3")]
    )
    result = validate(path)
    assert result.exit_code == 1
    # The file is named as the path was given (here absolute), not by its bare name.
    assert result.stderr.splitlines() == [f"{tmp_path}/{problem}"]
    assert result.stdout == f"{path}: 2 valid, 1 problem\n"


def test_several_problems_in_one_record_are_all_reported(tmp_path: Path) -> None:
    record = broken("missing call id")
    record["messages"][2]["role"] = "robot"
    record["env"]["repo"]["commit"] = 7
    path = write_jsonl(tmp_path / "sessions.jsonl", [record])
    result = validate(path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:1: env.repo.commit: expected a string or null, got 7",
        f'{path}:1: messages[2].role: must be one of "system", "user", "assistant", '
        '"tool", got "robot"',
        f"{path}:1: messages[3].tool_calls[0].id: required",
    ]
    assert result.stdout == f"{path}: 0 valid, 3 problems\n"


def test_garbled_json_line(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "sessions.jsonl",
        [session_record("s1"), '{"id": "s2", "source": {"format": native}}', session_record("s3")],
    )
    result = validate(path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}:2: invalid JSON: Expecting value at column 35"]
    assert result.stdout == f"{path}: 2 valid, 1 problem\n"


def test_truncated_last_line(tmp_path: Path) -> None:
    full = json.dumps(session_record("s2"))
    path = tmp_path / "sessions.jsonl"
    path.write_text(json.dumps(session_record("s1")) + "\n" + full[: len(full) // 2])
    result = validate(path)
    assert result.exit_code == 1
    (problem,) = result.stderr.splitlines()
    assert problem.startswith(f"{path}:2: invalid JSON: ")
    assert result.stdout == f"{path}: 1 valid, 1 problem\n"


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty", "blank lines"])
def test_empty_file_has_zero_valid_records_and_passes(tmp_path: Path, content: str) -> None:
    path = tmp_path / "sessions.jsonl"
    path.write_text(content)
    result = validate(path)
    assert result.exit_code == 0
    assert result.stdout == f"{path}: 0 valid\n"
    assert result.stderr == ""


def test_non_utf8_bytes_are_reported_on_their_line_and_other_lines_still_count(
    tmp_path: Path,
) -> None:
    good = json.dumps(session_record()).encode()
    bad = b'{"id": "caf\xe9", "source": {"format": "native"}}'  # Latin-1, not UTF-8
    path = tmp_path / "sessions.jsonl"
    # Enough lines before the bad one that a chunked decoder would lose some of them.
    path.write_bytes(b"\n".join([good] * 50 + [bad] + [good] * 2) + b"\n")
    result = validate(path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:51: not UTF-8 text (invalid continuation byte at byte 12)"
    ]
    assert result.stdout == f"{path}: 52 valid, 1 problem\n"


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "sessions.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(session_record()).encode() + b"\n")
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 1 valid\n"


def test_missing_file_is_a_problem_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.jsonl"
    result = validate(path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}: cannot read: No such file or directory"]
    assert result.stdout == f"{path}: 0 valid, 1 problem\n"


def test_several_files_with_errors_in_only_one(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [session_record("a"), session_record("b")])
    bad = write_jsonl(tmp_path / "bad.jsonl", [session_record("c"), broken("missing call id")])
    result = validate(good, bad)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"{good}: 2 valid", f"{bad}: 1 valid, 1 problem"]
    assert result.stderr.splitlines() == [f"{bad}:2: messages[3].tool_calls[0].id: required"]


def test_kind_selects_the_model(tmp_path: Path) -> None:
    rollout = {"id": "r1", "session_id": "s1", "cut": 2, "candidate": {"model": "m"}}
    judgment = {"target_id": "r1", "judge": "rule", "category": "c", "flagged": False}
    rollouts = write_jsonl(tmp_path / "rollouts.jsonl", [rollout])
    judgments = write_jsonl(tmp_path / "judgments.jsonl", [judgment])

    assert runner.invoke(app, ["validate", "--kind", "rollout", str(rollouts)]).exit_code == 0
    assert runner.invoke(app, ["validate", "-k", "judgment", str(judgments)]).exit_code == 0

    as_session = validate(rollouts)
    assert as_session.exit_code == 1
    assert f"{rollouts}:1: source: required" in as_session.stderr.splitlines()

    unknown_kind = runner.invoke(app, ["validate", "--kind", "trace", str(rollouts)])
    assert unknown_kind.exit_code == 2


def test_validate_in_a_real_process(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [session_record("a")])
    bad = write_jsonl(tmp_path / "bad.jsonl", [session_record("b"), broken("missing call id")])
    process = subprocess.run(
        [sys.executable, "-m", "understudy", "validate", "good.jsonl", "bad.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 1, process.stderr
    assert process.stdout.splitlines() == ["good.jsonl: 1 valid", "bad.jsonl: 1 valid, 1 problem"]
    assert process.stderr.splitlines() == ["bad.jsonl:2: messages[3].tool_calls[0].id: required"]
    assert good.exists() and bad.exists()


# --- schema ------------------------------------------------------------------------------


def test_schema_of_all_models_validates_a_real_session() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(MODELS) <= set(document["$defs"])

    session_schema = {**document, "$ref": "#/$defs/Session"}
    validator = jsonschema.Draft202012Validator(session_schema)
    assert list(validator.iter_errors(session_record())) == []
    assert not validator.is_valid(broken("missing call id"))
    assert not validator.is_valid(broken("bad role"))

    rollout_validator = jsonschema.Draft202012Validator({**document, "$ref": "#/$defs/Rollout"})
    assert not rollout_validator.is_valid(session_record())


def test_schema_of_one_model() -> None:
    result = runner.invoke(app, ["schema", "--model", "Session"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["title"] == "Session"
    validator = jsonschema.Draft202012Validator(document)
    assert validator.is_valid(session_record())
    assert not validator.is_valid(broken("unknown nested field"))

    lower = runner.invoke(app, ["schema", "-m", "session"])
    assert json.loads(lower.stdout) == document


def test_schema_output_is_plain_indented_json_in_a_real_process(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "understudy", "schema", "--model", "ToolCall"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith('{\n  "$schema": ')
    assert "\x1b[" not in process.stdout  # no colour codes
    assert json.loads(process.stdout)["required"] == ["id", "name"]


def test_schema_of_unknown_model_fails_listing_the_valid_names() -> None:
    result = runner.invoke(app, ["schema", "--model", "Nope"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown model 'Nope'" in result.stderr
    for name in MODELS:
        assert name in result.stderr


# --- the application as a whole --------------------------------------------------------------


def test_no_arguments_shows_help_listing_the_commands() -> None:
    result = runner.invoke(app, [])
    for command in ("schema", "validate", "images", "sandbox"):
        assert command in result.output


def test_log_level_option() -> None:
    try:
        assert (
            runner.invoke(app, ["--log-level", "debug", "schema", "-m", "ToolCall"]).exit_code == 0
        )
        assert (
            runner.invoke(app, ["--log-level", "ERROR", "schema", "-m", "ToolCall"]).exit_code == 0
        )
        assert runner.invoke(app, ["--log-level", "loud", "schema"]).exit_code == 2
    finally:
        configure_logging("warning")  # the level outlives a command: later tests expect warnings


def test_understudy_errors_become_a_clean_message_and_exit_code_1() -> None:
    # A throwaway app with the same root group as `understudy`, so no command is added to it.
    demo = typer.Typer(cls=UnderstudyGroup)

    @demo.command()
    def fail(kind: str) -> None:
        if kind == "ours":
            raise ConfigError("unknown sandbox backend 'podman'")
        raise ValueError("a bug")

    @demo.command()
    def other() -> None:
        pass

    ours = runner.invoke(demo, ["fail", "ours"])
    assert ours.exit_code == 1
    assert ours.stderr == "error: unknown sandbox backend 'podman'\n"
    assert "Traceback" not in ours.output

    bug = runner.invoke(demo, ["fail", "bug"])
    assert isinstance(bug.exception, ValueError)  # bugs are not dressed up as user errors

    assert type(typer.main.get_command(app)) is UnderstudyGroup


def test_reading_takes_the_fast_path_only_for_lines_the_schema_accepts() -> None:
    """Lines are read by pydantic in strict mode first; a line only lax coercion would accept
    (a number written as a string) is still refused, with the schema's message."""
    good = {
        "target_id": "r1",
        "judge": "rule:x",
        "category": "c",
        "flagged": True,
        "severity": 3,
        "confidence": 0.5,
        "rationale": "why",
    }
    assert parse_line(json.dumps(good), Judgment, "j.jsonl:1").severity == 3
    coerced = {**good, "severity": "3"}
    with pytest.raises(SchemaError, match=r"j\.jsonl:2: severity: expected an integer"):
        parse_line(json.dumps(coerced), Judgment, "j.jsonl:2")
