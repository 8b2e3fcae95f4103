"""The trajectory schema: lossless JSON(L) round trips, strictness, and the full trajectory."""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.errors import SchemaError
from understudy.jsonl import (
    append_models,
    json_schema,
    parse_line,
    read_models,
    schema_problems,
    write_models,
)
from understudy.trajectory import (
    CandidateInfo,
    EnvSpec,
    Evidence,
    Judgment,
    Message,
    Provenance,
    RepoSpec,
    Rollout,
    Session,
    SourceInfo,
    ToolCall,
    ToolSpec,
    full_trajectory,
)

IST = timezone(timedelta(hours=5, minutes=30))
PST = timezone(timedelta(hours=-8))

SHELL_PARAMETERS: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The command to run with bash."},
        "timeout": {"type": "number", "minimum": 0, "default": 60},
        "mode": {"enum": ["foreground", "background"]},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "paths": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["command"],
    "additionalProperties": False,
}

PATCH = """\
diff --git a/src/calc.py b/src/calc.py
--- a/src/calc.py
+++ b/src/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""


def rich_session() -> Session:
    """A session that uses every field of the schema, with awkward values where possible."""
    return Session(
        id="sess-0001",
        source=SourceInfo(
            format="claude-code",
            path="/logs/2024-05-01/session.jsonl",
            agent="claude-code",
            model="model-a",
            version="1.0.17",
        ),
        task="Fix the failing test in src/calc.py",
        env=EnvSpec(
            image="python:3.12-slim",
            repo=RepoSpec(
                url="https://example.com/calc.git",
                path=None,
                commit="0123456789abcdef0123456789abcdef01234567",
                branch="main",
                patch=PATCH,
            ),
            workdir="/workspace/calc",
            setup=["pip install -e .", "echo 'ready' > /tmp/ready"],
            env={"PYTHONHASHSEED": "0", "LANG": "C.UTF-8"},
        ),
        tools=[
            ToolSpec(name="bash", description="Run a shell command.", parameters=SHELL_PARAMETERS),
            ToolSpec(name="str_replace_editor", inferred=True),
        ],
        messages=[
            Message(role="system", content="You are a careful engineer."),
            Message(
                role="user",
                content="Fix it.\n[image]\nThanks — ünïcödé, 漢字, emoji 🎉, \u2028 separator",
                timestamp=datetime(2024, 5, 1, 9, 30, 0, 123456, tzinfo=UTC),
            ),
            Message(
                role="assistant",
                content="Let me look.",
                reasoning="The test probably fails because add subtracts.",
                tool_calls=[
                    ToolCall(
                        id="call_1",
                        name="bash",
                        arguments={"command": "pytest -q", "timeout": 30.5, "paths": ["tests"]},
                    ),
                    ToolCall(id="call_2", name="bash", raw_arguments='{"command": "cat src/ca'),
                ],
                timestamp=datetime(2024, 5, 1, 15, 0, 1, tzinfo=IST),
                meta={"model": "model-a", "usage": {"input_tokens": 1200, "output_tokens": 88}},
            ),
            Message(
                role="tool",
                content="1 failed, 3 passed",
                tool_call_id="call_1",
                name="bash",
                is_error=True,
                provenance=Provenance.RECORDED,
                timestamp=datetime(2024, 4, 30, 19, 0, 2, tzinfo=PST),
                meta={"exit_code": 1, "duration_s": 2.25, "original": {"ids": [1, None, "x"]}},
            ),
            Message(
                role="tool",
                content="error: arguments are not valid JSON",
                tool_call_id="call_2",
                name="bash",
                is_error=True,
                provenance=Provenance.UNAVAILABLE,
            ),
            *[
                Message(
                    role="tool", content=f"served {p.value}", tool_call_id="call_1", provenance=p
                )
                for p in (Provenance.EXECUTED, Provenance.REPLAYED, Provenance.SIMULATED)
            ],
            Message(role="assistant", content="Fixed: `add` now returns a + b. All tests pass."),
        ],
        meta={
            "nested": {"deep": {"list": [1, 2.5, True, None, {"k": "v"}], "empty": {}}},
            "big": 2**70,
            "negative": -17,
            "quote": 'she said "hi"\\n',
        },
    )


def rich_rollout() -> Rollout:
    return Rollout(
        id="roll-0001",
        session_id="sess-0001",
        cut=3,
        sample=2,
        candidate=CandidateInfo(model="candidate-x", params={"temperature": 0.7, "seed": 7}),
        messages=[
            Message(
                role="tool",
                content="3 passed",
                tool_call_id="call_1",
                provenance=Provenance.EXECUTED,
            ),
            Message(role="assistant", content="All green."),
        ],
        status="max_steps",
        error=None,
        usage={"input_tokens": 5000, "output_tokens": 120},
        timing={"env": 1.5, "model": 3.25, "total": 5.0},
        tool_stats={"executed": 1, "replayed": 0, "invalid": 0},
        env_fidelity=0.875,
    )


def rich_judgment() -> Judgment:
    return Judgment(
        target_id="roll-0001",
        judge="llm:judge-model",
        category="claimed_tests_passed",
        flagged=True,
        severity=3,
        confidence=0.9,
        evidence=[Evidence(message_index=4, quote="All green.")],
        rationale="Claims tests pass; the ledger shows no test run after the edit.",
        meta={"prompt_sha256": "ab" * 32, "taxonomy": "v1"},
    )


def jsonl_round_trip(models: list[Any], model_type: type[Any], tmp_path: Path) -> list[Any]:
    path = tmp_path / "models.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        write_models(handle, models)
    return list(read_models(path, model_type))


def test_rich_session_round_trips_through_jsonl_losslessly(tmp_path: Path) -> None:
    session = rich_session()
    (back,) = jsonl_round_trip([session], Session, tmp_path)

    assert back == session
    assert back.model_dump_json() == session.model_dump_json()
    # Equality of aware datetimes ignores the offset; the offset itself must survive too.
    offsets = [m.timestamp.utcoffset() if m.timestamp else None for m in back.messages]
    assert offsets[1:4] == [timedelta(0), timedelta(hours=5, minutes=30), timedelta(hours=-8)]
    assert back.messages[3].provenance is Provenance.RECORDED
    assert back.messages[2].tool_calls[1].raw_arguments == '{"command": "cat src/ca'
    assert back.messages[2].tool_calls[1].arguments == {}
    assert back.meta["big"] == 2**70
    assert back.env.repo is not None and back.env.repo.patch == PATCH
    assert back.tools[0].parameters == SHELL_PARAMETERS


def test_session_json_round_trip_and_one_line_per_record() -> None:
    session = rich_session()
    text = session.model_dump_json()
    assert "\n" not in text  # newlines inside strings are escaped, so JSONL stays one per line
    assert Session.model_validate_json(text) == session

    buffer = io.StringIO()
    write_models(buffer, [session, session])
    assert buffer.getvalue().count("\n") == 2


def test_offered_tool_spec_is_a_usable_json_schema() -> None:
    spec = rich_session().tools[0]
    validator = jsonschema.Draft202012Validator(spec.parameters)
    assert validator.is_valid({"command": "ls", "paths": ["a"]})
    assert not validator.is_valid({"command": "ls", "paths": []})
    assert not validator.is_valid({"cmd": "ls"})


def test_rollout_and_judgment_round_trip(tmp_path: Path) -> None:
    rollout, judgment = rich_rollout(), rich_judgment()
    assert jsonl_round_trip([rollout], Rollout, tmp_path) == [rollout]
    assert jsonl_round_trip([judgment], Judgment, tmp_path) == [judgment]
    assert Rollout.model_validate_json(rollout.model_dump_json()) == rollout
    assert Judgment.model_validate_json(judgment.model_dump_json()) == judgment
    back = Rollout.model_validate(json.loads(rollout.model_dump_json()))
    assert back.messages[0].provenance is Provenance.EXECUTED  # an enum again, not a str


def test_append_models_adds_lines_after_existing_ones(tmp_path: Path) -> None:
    path = tmp_path / "rollouts.jsonl"
    first = rich_rollout()
    second = first.model_copy(update={"id": "roll-0002", "sample": 3})
    append_models(path, [first])
    append_models(path, [second])
    assert list(read_models(path, Rollout)) == [first, second]


@pytest.mark.parametrize(
    ("model_type", "data", "location"),
    [
        (Session, {"id": "s", "source": {"format": "native"}, "colour": "red"}, ("colour",)),
        (
            Session,
            {
                "id": "s",
                "source": {"format": "native"},
                "messages": [
                    {"role": "assistant", "tool_calls": [{"id": "c", "name": "x", "args": {}}]}
                ],
            },
            ("messages", 0, "tool_calls", 0, "args"),
        ),
        (Session, {"id": "s", "source": {"format": "n", "modle": "m"}}, ("source", "modle")),
        (Rollout, {**rich_rollout().model_dump(mode="json"), "notes": "x"}, ("notes",)),
        (Judgment, {**rich_judgment().model_dump(mode="json"), "score": 1}, ("score",)),
    ],
)
def test_unknown_fields_are_rejected(
    model_type: type[pydantic.BaseModel], data: dict[str, Any], location: tuple[Any, ...]
) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        model_type.model_validate(data)
    errors = caught.value.errors()
    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", location)]


def test_unknown_fields_are_reported_with_file_line_and_field() -> None:
    line = json.dumps({"id": "s", "source": {"format": "native"}, "env": {"repo": {"sha": "1"}}})
    with pytest.raises(SchemaError) as caught:
        parse_line(line, Session, "sessions.jsonl:7")
    assert caught.value.problems == ["sessions.jsonl:7: env.repo.sha: unknown field"]


@pytest.mark.parametrize(
    ("model_type", "data"),
    [
        (Judgment, {**rich_judgment().model_dump(mode="json"), "severity": 5}),
        (Judgment, {**rich_judgment().model_dump(mode="json"), "confidence": 1.5}),
        (Rollout, {**rich_rollout().model_dump(mode="json"), "cut": -1}),
        (Rollout, {**rich_rollout().model_dump(mode="json"), "status": "crashed"}),
        (Message, {"role": "robot"}),
        (Message, {"role": "tool", "provenance": "guessed"}),
    ],
)
def test_out_of_range_values_are_rejected(
    model_type: type[pydantic.BaseModel], data: dict[str, Any]
) -> None:
    with pytest.raises(pydantic.ValidationError):
        model_type.model_validate(data)
    # The published JSON Schema agrees with the models.
    assert schema_problems(data, model_type, "x") != []


def test_full_trajectory_is_session_prefix_then_rollout() -> None:
    session, rollout = rich_session(), rich_rollout()
    trajectory = full_trajectory(session, rollout)
    assert trajectory == [*session.messages[:3], *rollout.messages]
    assert len(trajectory) == 3 + len(rollout.messages)
    assert trajectory[2].tool_calls[0].id == "call_1"  # the last prefix message
    assert trajectory[3] is rollout.messages[0]

    from_start = rollout.model_copy(update={"cut": 0})
    assert full_trajectory(session, from_start) == rollout.messages


# --- Property-based round trips ----------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=4)
optional_text = st.none() | st.text()

timestamps = st.none() | st.datetimes(
    min_value=datetime(1, 1, 1),
    max_value=datetime(9999, 12, 31),
    timezones=st.none()
    | st.just(UTC)
    | st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-1439, 1439)),
)

tool_calls = st.builds(
    ToolCall,
    id=st.text(min_size=1),
    name=st.text(min_size=1),
    arguments=json_objects,
    raw_arguments=optional_text,
)

messages = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant", "tool"]),
    content=st.text(),
    reasoning=optional_text,
    tool_calls=st.lists(tool_calls, max_size=3),
    tool_call_id=optional_text,
    name=optional_text,
    is_error=st.booleans(),
    provenance=st.none() | st.sampled_from(Provenance),
    timestamp=timestamps,
    meta=json_objects,
)

sessions = st.builds(
    Session,
    id=st.text(min_size=1),
    source=st.builds(SourceInfo, format=st.text(min_size=1), model=optional_text),
    task=st.text(),
    env=st.builds(
        EnvSpec,
        image=optional_text,
        repo=st.none() | st.builds(RepoSpec, commit=optional_text, patch=optional_text),
        setup=st.lists(st.text(), max_size=3),
        env=st.dictionaries(st.text(), st.text(), max_size=3),
    ),
    tools=st.lists(
        st.builds(ToolSpec, name=st.text(min_size=1), parameters=json_objects), max_size=2
    ),
    messages=st.lists(messages, max_size=5),
    meta=json_objects,
)


@settings(max_examples=200, deadline=None)
@given(message=messages)
def test_any_message_round_trips_through_json(message: Message) -> None:
    text = message.model_dump_json()
    back = Message.model_validate_json(text)
    assert back == message
    assert back.model_dump_json() == text
    assert schema_problems(json.loads(text), Message, "x") == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(sessions, min_size=1, max_size=3))
def test_any_sessions_round_trip_through_a_jsonl_file(batch: list[Session]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sessions.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            write_models(handle, batch)
        assert path.read_bytes().count(b"\n") == len(batch)  # one line per record, always
        back = list(read_models(path, Session))
    assert back == batch
    assert [s.model_dump_json() for s in back] == [s.model_dump_json() for s in batch]


def test_every_top_level_model_has_a_strict_json_schema() -> None:
    for model_type in (Session, Rollout, Judgment, Message, ToolCall, ToolSpec, EnvSpec, RepoSpec):
        schema = json_schema(model_type)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False


def test_a_model_from_its_fields_is_the_one_its_constructor_makes() -> None:
    """``from_fields`` (the importers' quick way) validates as the constructor does: the same
    model, the same fields set, the same errors."""
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    call = ToolCall.from_fields({"id": "c1", "name": "bash", "arguments": {"cmd": "ls"}})
    assert call == ToolCall(id="c1", name="bash", arguments={"cmd": "ls"})
    fields = {"role": "tool", "content": "ok", "tool_call_id": "c1", "timestamp": when}
    message = Message.from_fields({**fields, "provenance": "recorded"})
    assert message == Message(**fields, provenance=Provenance.RECORDED)
    assert message.provenance is Provenance.RECORDED
    assert message.model_fields_set == {
        "role",
        "content",
        "tool_call_id",
        "timestamp",
        "provenance",
    }
    for bad in ({"role": "robot"}, {"role": "user", "colour": "red"}, {"role": "user", "meta": 1}):
        with pytest.raises(pydantic.ValidationError):
            Message.from_fields(bad)
        with pytest.raises(pydantic.ValidationError):
            Message(**bad)
