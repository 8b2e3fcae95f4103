"""The importer core: registry, detection, import_paths, native/openai/atif importers, export.

Sample logs live in tests/data/trajectories/<format>/ (copies of ../shared/trajectories plus
hand-written native, openai and atif samples), so these tests run from a bare clone.
"""

from __future__ import annotations

import copy
import io
import json
import random
import shutil
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from understudy.errors import ConfigError, LogFormatError
from understudy.jsonl import write_models
from understudy.replay.export import export_sessions, to_atif
from understudy.replay.importers import (
    DETECTION_ORDER,
    IMPORTERS,
    ImporterCrashError,
    ImportReport,
    common,
    detect_format,
    get_importer,
    import_paths,
    iter_log_files,
)
from understudy.replay.importers.base import orphan_results
from understudy.trajectory import Message, Session, SourceInfo, ToolCall

DATA = Path(__file__).parent / "data" / "trajectories"
SAMPLES = sorted(
    path
    for path in DATA.rglob("*")
    if path.is_file() and path.suffix != ".md" and not path.name.endswith(".env.json")
)
"""Every sample log; its folder names its format."""


def _ids(paths: list[Path]) -> list[str]:
    return [f"{path.parent.name}/{path.name}" for path in paths]


def _load(*paths: Path | str, **kwargs: Any) -> list[Session]:
    return [session for _, session in import_paths(list(paths), **kwargs)]


def _comparable(session: Session) -> dict[str, Any]:
    dumped = session.model_dump(mode="json")
    dumped["source"]["path"] = None
    return dumped


def test_samples_cover_every_format() -> None:
    assert {path.parent.name for path in SAMPLES} == set(IMPORTERS.names())
    assert set(DETECTION_ORDER) == set(IMPORTERS.names())


# --------------------------------------------------------------------------- registry, detection


def test_get_importer_by_name_and_unknown_name() -> None:
    for name in IMPORTERS.names():
        assert get_importer(name).name == name
    with pytest.raises(ConfigError, match="valid names"):
        get_importer("nonesuch")


@pytest.mark.parametrize("path", SAMPLES, ids=_ids(SAMPLES))
def test_detect_format_of_every_sample(path: Path) -> None:
    assert detect_format(path) == path.parent.name


@pytest.mark.parametrize("path", SAMPLES, ids=_ids(SAMPLES))
def test_every_sample_imports_with_linked_results(path: Path) -> None:
    reports: dict[Path, ImportReport] = {}
    sessions = _load(path, reports=reports)
    report = reports[path]
    assert sessions and report.error is None
    assert report.format == path.parent.name
    assert report.sessions == len(sessions)
    assert report.messages == sum(len(s.messages) for s in sessions)
    assert report.tool_calls == sum(len(m.tool_calls) for s in sessions for m in s.messages)
    # Every tool result links to an earlier call, or is counted as an orphan.
    assert report.orphan_results == sum(len(orphan_results(s)) for s in sessions)
    assert report.orphan_results == 0
    assert len({s.id for s in sessions}) == len(sessions)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\n\t\n", "empty"),
        (b"\x00\x01\x02garbage\xff\xfe" * 50, "binary"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "binary"),
        (b'{"what": "ever"}\n', "unrecognized log format"),
        (b"just some text\n", "unrecognized log format"),
        (b"PK\x03\x04 not really a zip", "zip archive"),
    ],
    ids=["empty", "blank", "garbage", "png", "unknown-json", "text", "zip"],
)
def test_detect_format_errors_are_clear(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(content)
    with pytest.raises(LogFormatError, match=message) as caught:
        detect_format(path)
    assert str(path) in str(caught.value)
    with pytest.raises(LogFormatError, match=message):
        _load(path)


def test_unrecognized_lists_the_formats_tried(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(LogFormatError) as caught:
        detect_format(path)
    for name in DETECTION_ORDER:
        assert name in str(caught.value)


def test_missing_file_and_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="no such file"):
        detect_format(tmp_path / "missing.jsonl")
    with pytest.raises(LogFormatError, match="not a regular file"):
        detect_format(tmp_path)
    with pytest.raises(LogFormatError, match="no such file or directory"):
        _load(tmp_path / "missing.jsonl")


def test_wrong_explicit_format_names_the_detected_one() -> None:
    path = DATA / "swe-agent" / "sweagenttestrepo-1c2844.traj"
    with pytest.raises(LogFormatError, match="not a codex log; it looks like swe-agent") as caught:
        _load(path, fmt="codex")
    # FORMAT is the positional argument of `understudy import`; there is no --format option.
    assert "(use FORMAT 'swe-agent', or auto)" in str(caught.value)
    assert "--format" not in str(caught.value)
    with pytest.raises(ConfigError, match="unknown log format"):
        _load(path, fmt="nonesuch")


def test_explicit_format_is_tried_when_nothing_detects(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"what": "ever"}\n')
    with pytest.raises(LogFormatError) as caught:
        _load(path, fmt="native")
    assert "log.jsonl:1" in str(caught.value)  # the native importer's own, precise, error


# --------------------------------------------------------------------------- directory walks


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    (root / "a").mkdir(parents=True)
    (root / "b" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    shutil.copy(DATA / "codex" / "rollout-2025-09-25T15-12-14.jsonl", root / "a")
    shutil.copy(DATA / "openai" / "fix-typo.json", root / "b")
    shutil.copy(DATA / "openai" / "fix-typo.env.json", root / "b")
    shutil.copy(DATA / "atif" / "fix-off-by-one.json", root / "b" / "deeper")
    shutil.copy(DATA / "atif" / "fix-off-by-one.json", root / ".hidden")
    (root / "b" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "README.md").write_text("# my logs\n")
    (root / "b" / "empty.jsonl").write_text("")
    return root


def test_directory_walk_skips_hidden_and_sidecars_and_reports_strangers(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    files = [path.relative_to(root).as_posix() for path, _ in iter_log_files([root])]
    assert files == [
        "README.md",
        "a/rollout-2025-09-25T15-12-14.jsonl",
        "b/empty.jsonl",
        "b/fix-typo.json",
        "b/deeper/fix-off-by-one.json",
    ]
    reports: dict[Path, ImportReport] = {}
    done: list[Path] = []
    sessions = _load(root, reports=reports, on_file=lambda path, report: done.append(path))
    assert done == list(reports) and len(done) == 5
    assert [s.source.format for s in sessions] == ["codex", "openai", "atif"]
    # No log, and not named as one: passed over. A log's name on an empty file: an error.
    readme = reports[root / "README.md"]
    assert "unrecognized log format" in (readme.skipped or "") and readme.error is None
    assert "empty" in (reports[root / "b" / "empty.jsonl"].error or "")
    assert sessions[1].env.image == "python:3.12-slim"  # the sidecar was applied
    # Named explicitly, the stranger is fatal; strict makes the walk fatal at the empty log.
    with pytest.raises(LogFormatError, match="unrecognized"):
        _load(root / "README.md")
    with pytest.raises(LogFormatError, match="empty"):
        _load(root, strict=True)
    (root / "b" / "empty.jsonl").unlink()
    assert len(_load(root, strict=True)) == 3


def test_session_ids_are_stable_and_unique_across_files(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        shutil.copy(DATA / "atif" / "fix-off-by-one.json", tmp_path / name)
    ids = [s.id for s in _load(tmp_path)]
    assert ids == ["atif-fix-off-by-one-01", "atif-fix-off-by-one-01~2"]
    assert [s.id for s in _load(tmp_path)] == ids
    # The repeat is said, in the report of the file it came from: both count in rates.
    reports: dict[Path, ImportReport] = {}
    list(import_paths([tmp_path], reports=reports))
    first, second = (reports[tmp_path / name / "fix-off-by-one.json"] for name in ("one", "two"))
    assert not first.issues
    assert [issue.message for issue in second.issues] == [
        "session 'atif-fix-off-by-one-01' was imported already; kept as 'atif-fix-off-by-one-01~2'"
    ]
    # Without a log's own id, the file name (and the index for multi-session files) is used.
    ids = [s.id for s in _load(DATA / "openai")]
    assert ids == ["conv-weather-1", "conv-legacy-2", "conversations-2", "fix-typo"]


# --------------------------------------------------------------------------- native


def test_native_round_trip(tmp_path: Path) -> None:
    sessions = _load(DATA / "native" / "sessions.jsonl")
    assert len(sessions) == 6
    out = tmp_path / "again.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        write_models(handle, sessions)
    again = _load(out)  # redaction runs again and is idempotent
    assert [_comparable(s) for s in again] == [_comparable(s) for s in sessions]
    assert [s.source.format for s in again] == [s.source.format for s in sessions]


def _native_lines(count: int = 3) -> list[str]:
    lines = (DATA / "native" / "sessions.jsonl").read_text().splitlines()
    return lines[:count]


def test_native_truncated_last_line_keeps_sessions_before(tmp_path: Path) -> None:
    lines = _native_lines(3)
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    reports: dict[Path, ImportReport] = {}
    sessions = _load(path, reports=reports)
    assert len(sessions) == 2
    (issue,) = reports[path].issues
    assert issue.line == 3 and "truncated" in issue.message
    with pytest.raises(LogFormatError, match=r"cut\.jsonl:3: truncated"):
        _load(path, strict=True)


def test_native_garbled_middle_line_names_file_and_line(tmp_path: Path) -> None:
    lines = _native_lines(3)
    path = tmp_path / "garbled.jsonl"
    path.write_text("\n".join([lines[0], "{not json", lines[2]]) + "\n")
    seen: list[Session] = []
    with pytest.raises(LogFormatError, match=r"garbled\.jsonl:2: invalid JSON"):
        for _, session in import_paths([path]):
            seen.append(session)
    assert len(seen) == 1  # the session before the break was delivered


def test_native_schema_problem_names_line_and_field(tmp_path: Path) -> None:
    record = json.loads(_native_lines(1)[0])
    record["messages"][1]["role"] = "robot"
    record["surprise"] = 1
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(LogFormatError) as caught:
        _load(path, fmt="native")
    text = str(caught.value)
    assert "bad.jsonl:1: messages[1].role: must be one of" in text
    assert "bad.jsonl:1: surprise: unknown field" in text


def test_very_long_line_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "MAX_LINE_BYTES", 4096)
    lines = _native_lines(2)
    path = tmp_path / "long.jsonl"
    path.write_text(lines[0][:100] + "\n" + "x" * 10_000 + "\n")
    with pytest.raises(LogFormatError, match=r"long\.jsonl:2: line longer than 4,096 bytes"):
        list(common.iter_jsonl(path))
    big = tmp_path / "sessions.jsonl"
    big.write_text(lines[1] + "\n")  # a real session line, longer than the limit
    assert len(lines[1]) > 4096
    with pytest.raises(LogFormatError, match="line longer than"):
        _load(big, fmt="native")


def test_iter_jsonl_reports_and_streams(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n\n  \n{"b": 2}\n{"c": ')
    report = ImportReport()
    assert list(common.iter_jsonl(path, report)) == [(1, {"a": 1}), (4, {"b": 2})]
    assert report.issues[0].line == 5
    path.write_bytes(b'{"a": 1}\n\xff\xfe\n{"b": 2}\n')
    with pytest.raises(LogFormatError, match=r"x\.jsonl:2: not UTF-8"):
        list(common.iter_jsonl(path, report))


# --------------------------------------------------------------------------- openai


def test_openai_message_list_with_sidecar() -> None:
    (session,) = _load(DATA / "openai" / "fix-typo.json")
    assert session.id == "fix-typo"
    assert [m.role for m in session.messages] == [
        "system", "user", "assistant", "tool", "assistant", "tool", "tool", "assistant",
    ]  # fmt: skip
    user = session.messages[1]
    assert user.content.endswith("\n[image]") and session.task == user.content
    calls = session.messages[4].tool_calls
    assert calls[0].arguments == {"cmd": "sed -i 's/recieve/receive/' README.md && git diff"}
    assert calls[1].arguments == {} and calls[1].raw_arguments == '{"cmd": "git status'
    assert session.messages[4].reasoning == "Single occurrence; a sed will do."
    assert session.messages[6].is_error and session.messages[6].tool_call_id == "call_bad"
    assert session.messages[5].content.startswith("-You will recieve")
    assert all(m.name == "shell" for m in session.messages if m.role == "tool")
    assert session.env.image == "python:3.12-slim"
    assert session.env.repo is not None and session.env.repo.commit == "4f1c2a9"
    assert session.env.workdir == "/repo"
    (spec,) = session.tools
    assert spec.name == "shell" and spec.inferred
    assert spec.parameters["properties"] == {"cmd": {"type": "string"}}


def test_openai_conversations_jsonl() -> None:
    weather, legacy, bare = _load(DATA / "openai" / "conversations.jsonl")
    assert weather.source.model == "gpt-4o-mini"
    assert [t.name for t in weather.tools] == ["get_weather"] and not weather.tools[0].inferred
    assert weather.messages[2].tool_call_id == "c1" and weather.messages[2].name == "get_weather"
    assert legacy.messages[0].role == "system"
    assert legacy.messages[0].meta["original_role"] == "developer"
    call = legacy.messages[2].tool_calls[0]
    assert call.name == "calculator" and call.arguments == {"expression": "17 * 23"}
    assert legacy.messages[3].role == "tool" and legacy.messages[3].tool_call_id == call.id
    assert bare.id == "conversations-2" and len(bare.messages) == 2


@pytest.mark.parametrize(
    ("document", "ids"),
    [
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}], ["chat"]),
        ({"messages": [{"role": "user", "content": "hi"}], "tools": []}, ["chat"]),
        (
            [[{"role": "user", "content": "hi"}], [{"role": "user", "content": "2"}]],
            ["chat-0", "chat-1"],
        ),
        (
            [{"messages": [{"role": "user", "content": "hi"}], "id": "a"}, {"messages": []}],
            ["a", "chat-1"],
        ),
    ],
    ids=["list", "object", "list-of-lists", "list-of-objects"],
)
@pytest.mark.parametrize("pretty", [True, False], ids=["pretty", "one-line"])
def test_openai_layouts(tmp_path: Path, document: Any, ids: list[str], pretty: bool) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(document, indent=2 if pretty else None))
    assert detect_format(path) == "openai"
    sessions = _load(path)
    assert [s.id for s in sessions] == ids
    assert sessions[0].messages[0].content == "hi"


def test_openai_one_message_per_line(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    lines = [
        {"role": "user", "content": "list files"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "c", "content": "a.txt"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (session,) = _load(path)
    assert session.id == "chat" and len(session.messages) == 3
    assert session.messages[2].name == "ls"


def test_openai_problems(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([{"role": "user", "content": "x"}, {"role": "narrator"}]))
    reports: dict[Path, ImportReport] = {}
    (session,) = _load(path, reports=reports)
    assert len(session.messages) == 1
    assert reports[path].issues[0].where == "[1].role"
    with pytest.raises(LogFormatError, match=r"\[1\]\.role: unknown role"):
        _load(path, strict=True)
    (tmp_path / "chat.env.json").write_text('{"workdir": 5}')
    with pytest.raises(LogFormatError, match=r"chat\.env\.json: workdir: expected a string"):
        _load(path)


# --------------------------------------------------------------------------- orphan tool results


def _orphan_issues(report: ImportReport) -> list[tuple[int | None, str | None, str]]:
    return [(i.line, i.where, i.message) for i in report.issues if "orphan" in i.message]


def test_openai_orphans_are_warned_where_they_are(tmp_path: Path) -> None:
    chat: list[dict[str, Any]] = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "a.txt"},
        {"role": "tool", "tool_call_id": "nowhere", "content": "stray"},
        {"role": "tool", "content": "no id at all"},
    ]  # fmt: skip
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(chat, indent=2))
    reports: dict[Path, ImportReport] = {}
    _load(path, reports=reports)
    report = reports[path]
    assert report.orphan_results == 2
    (stray, bare) = _orphan_issues(report)  # one warning each: the shared pass adds none
    assert stray[:2] == (None, "[3].tool_call_id") and "'nowhere'" in stray[2]
    assert bare[:2] == (None, "[4].tool_call_id") and "without a call id" in bare[2]
    assert all(issue.path == str(path) for issue in report.issues)
    # JSONL: one conversation per line, so the warning names the line too.
    lines = tmp_path / "chats.jsonl"
    lines.write_text(json.dumps(chat[:3]) + "\n" + json.dumps(chat) + "\n")
    reports = {}
    _load(lines, reports=reports)
    assert [i[:2] for i in _orphan_issues(reports[lines])] == [
        (2, "[3].tool_call_id"),
        (2, "[4].tool_call_id"),
    ]


def test_atif_orphans_are_warned_where_they_are(tmp_path: Path) -> None:
    doc = json.loads((DATA / "atif" / "fix-off-by-one.json").read_text())
    step = doc["steps"][2]
    step["observation"]["results"][0]["source_call_id"] = "ghost"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc, indent=2))
    reports: dict[Path, ImportReport] = {}
    _load(path, reports=reports)
    report = reports[path]
    assert report.orphan_results == 1
    ((line, where, message),) = _orphan_issues(report)
    assert line is None and where == "steps[2].observation.results[0].source_call_id"
    assert "'ghost'" in message
    # Exported sessions that had an orphan keep it, and the import says so again.
    (session,) = _load(path, redact=False)
    export_sessions([session], "atif", tmp_path / "again.json")
    reports = {}
    _load(tmp_path / "again.json", reports=reports)
    assert reports[tmp_path / "again.json"].orphan_results == 1
    assert len(_orphan_issues(reports[tmp_path / "again.json"])) == 1


def test_native_orphans_name_the_line(tmp_path: Path) -> None:
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[
            Message(role="user", content="go"),
            Message(role="tool", content="stray", tool_call_id="nowhere"),
        ],
    )
    path = tmp_path / "sessions.jsonl"
    path.write_text(_native_lines(1)[0] + "\n" + session.model_dump_json() + "\n")
    reports: dict[Path, ImportReport] = {}
    _load(path, reports=reports)
    ((line, where, message),) = _orphan_issues(reports[path])
    assert (line, where) == (2, "messages[1]")
    assert "'nowhere'" in message and "(session 's')" in message


def test_warn_orphans_is_the_one_place_and_never_repeats() -> None:
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[
            Message(role="tool", content="x", tool_call_id="a"),
            Message(role="tool", content="y", tool_call_id="b"),
            Message(role="tool", content="z"),
        ],
    )
    report = ImportReport()
    report.warn_orphan("f.json", "a", line=7, where="[0].id")  # the importer saw this one
    report.warn_orphans("f.json", session, where="[0].")  # and knew where the session is
    report.check_orphans("f.json", session)  # import_paths' own check: nothing new
    assert [(i.line, i.where) for i in report.issues] == [
        (7, "[0].id"),
        (None, "[0].messages[1]"),
        (None, "[0].messages[2]"),
    ]
    assert "without a call id" in report.issues[2].message
    assert "(session 's')" in report.issues[1].message
    # Without the importer's help the check warns about every orphan, without a line.
    report = ImportReport()
    report.check_orphans("f.json", session)
    assert [(i.line, i.where) for i in report.issues] == [
        (None, "messages[0]"),
        (None, "messages[1]"),
        (None, "messages[2]"),
    ]


def test_reports_do_not_keep_sessions_alive() -> None:
    """A report outlives its file (one per file of a walk): it must not hold a session."""
    reports: dict[Path, ImportReport] = {}
    folders = [DATA / "native", DATA / "inspect", DATA / "openai"]
    sessions = _load(*folders, reports=reports)
    assert len(sessions) > 8 and len(reports) == len(list(iter_log_files(folders))) >= 4
    assert all(report._orphans_warned is None for report in reports.values())


# --------------------------------------------------------------------------- atif


def test_atif_sample_mapping() -> None:
    (session,) = _load(DATA / "atif" / "fix-off-by-one.json")
    assert session.id == "atif-fix-off-by-one-01"
    assert session.source.agent == "terminus-2" and session.source.model == "gpt-5-mini"
    assert session.source.version == "2.0.1"
    roles = [m.role for m in session.messages]
    assert roles == [
        "system", "user", "assistant", "tool", "tool", "assistant", "tool",
        "assistant", "tool", "user", "assistant",
    ]  # fmt: skip
    assert session.messages[1].content.endswith("[image]")
    first = session.messages[2]
    assert first.reasoning and [c.id for c in first.tool_calls] == ["call_read_1", "call_test_1"]
    assert first.meta["usage"] == {
        "prompt_tokens": 812,
        "completion_tokens": 96,
        "cached_tokens": 512,
    }
    assert first.meta["cost_usd"] == 0.00041 and "logprobs" not in json.dumps(first.meta)
    assert session.messages[4].tool_call_id == "call_test_1"
    assert session.messages[4].meta["exit_code"] == 1 and session.messages[4].name == "bash"
    # String arguments are parsed; an observation outside tool calling is a user message.
    assert session.messages[7].tool_calls[0].arguments == {
        "command": "python -m pytest -q tests/test_pager.py"
    }
    assert session.messages[9].meta["observation"] is True
    assert [t.name for t in session.tools] == ["bash", "str_replace"]
    assert not any(t.inferred for t in session.tools)
    assert session.meta["final_metrics"]["total_steps"] == 6
    assert session.messages[0].timestamp is not None


def test_atif_subagents_become_sessions() -> None:
    parent, child = _load(DATA / "atif" / "subagent-v1.7.json")
    assert child.id == "atif-parent-run-7/sub-1"
    assert child.meta["parent_session_id"] == parent.id
    assert child.source.model == "claude-haiku-4-5"
    assert parent.messages[2].meta["subagent_refs"][0]["trajectory_path"] == "#sub-1"


@pytest.mark.parametrize("layout", ["dir", ".json", ".jsonl"])
@pytest.mark.parametrize("path", SAMPLES, ids=_ids(SAMPLES))
def test_atif_export_reimports_to_the_same_sessions(
    tmp_path: Path, path: Path, layout: str
) -> None:
    sessions = _load(path)
    out = tmp_path / ("out" if layout == "dir" else f"out{layout}")
    assert export_sessions(sessions, "atif", out) == len(sessions)
    again = _load(out)
    by_id = {s.id: s for s in again}
    assert set(by_id) == {s.id for s in sessions}
    for session in sessions:
        expected = _comparable(session)
        expected["source"]["format"] = "atif"
        assert _comparable(by_id[session.id]) == expected


def test_atif_export_then_import_of_an_atif_file_is_the_identity(tmp_path: Path) -> None:
    sessions = _load(DATA / "atif")
    export_sessions(sessions, "atif", tmp_path / "x")
    export_sessions(_load(tmp_path / "x"), "atif", tmp_path / "y")
    for name in sorted(p.name for p in (tmp_path / "x").iterdir()):
        assert (tmp_path / "x" / name).read_text() == (tmp_path / "y" / name).read_text()


def test_atif_export_shape() -> None:
    (session,) = _load(DATA / "openai" / "fix-typo.json")
    doc = to_atif(session)
    assert doc["schema_version"].startswith("ATIF-v1.")
    assert [s["step_id"] for s in doc["steps"]] == list(range(1, len(doc["steps"]) + 1))
    agent_steps = [s for s in doc["steps"] if s["source"] == "agent"]
    for step in agent_steps:
        calls = {c["tool_call_id"] for c in step.get("tool_calls", [])}
        for result in step.get("observation", {}).get("results", []):
            assert result["source_call_id"] in calls  # ATIF links results within a step
        for call in step.get("tool_calls", []):
            assert isinstance(call["arguments"], dict)
    for step in doc["steps"]:
        if step["source"] != "agent":
            assert not {"tool_calls", "reasoning_content", "metrics", "model_name"} & set(step)


def test_atif_orphan_results_survive_export(tmp_path: Path) -> None:
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[
            Message(role="tool", content="stray", tool_call_id="nowhere"),
            Message(role="user", content="go"),
            Message(role="assistant", tool_calls=[ToolCall(id="a", name="t", raw_arguments="{")]),
            Message(role="user", content="interjection"),
            Message(role="tool", content="late", tool_call_id="a", is_error=True),
        ],
    )
    export_sessions([session], "atif", tmp_path / "o.json")
    reports: dict[Path, ImportReport] = {}
    (again,) = _load(tmp_path / "o.json", reports=reports, redact=False)
    assert again.messages == session.messages
    assert reports[tmp_path / "o.json"].orphan_results == 1  # "late" answers call a


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(steps={"a": 1}), "steps: 'steps' must be a list"),
        (lambda d: d["steps"][1].update(source="robot"), r"steps\[1\]\.source"),
        (lambda d: d["steps"][2].update(tool_calls=3), r"steps\[2\]\.tool_calls"),
        (
            lambda d: d["steps"][2]["observation"].update(results=None),
            r"steps\[2\]\.observation\.results",
        ),
    ],
    ids=["steps", "source", "tool_calls", "results"],
)
def test_atif_structural_errors_name_the_field(tmp_path: Path, mutate: Any, where: str) -> None:
    doc = json.loads((DATA / "atif" / "fix-off-by-one.json").read_text())
    mutate(doc)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(LogFormatError, match=where):
        _load(path, fmt="atif")


# --------------------------------------------------------------------------- openai export


def test_openai_export_keeps_messages_and_links(tmp_path: Path) -> None:
    sessions = _load(DATA / "codex", DATA / "claude-code", DATA / "openhands")
    out = tmp_path / "chat.jsonl"
    export_sessions(sessions, "openai", out)
    again = _load(out)
    assert [s.id for s in again] == [s.id for s in sessions]
    for before, after in zip(sessions, again, strict=True):
        assert [m.model_dump(exclude={"provenance"}) for m in after.messages] == [
            m.model_dump(exclude={"provenance"}) for m in before.messages
        ]
        assert [t.name for t in after.tools] == [t.name for t in before.tools]
        assert after.env == before.env and after.meta == before.meta


def test_export_layouts_and_errors(tmp_path: Path) -> None:
    sessions = _load(DATA / "openai" / "conversations.jsonl")
    export_sessions(sessions[:1], "openai", tmp_path / "one.json")
    assert isinstance(json.loads((tmp_path / "one.json").read_text()), dict)
    export_sessions(sessions, "openai", tmp_path / "many.json")
    assert len(json.loads((tmp_path / "many.json").read_text())) == 3
    assert export_sessions([], "atif", tmp_path / "none.json") == 0
    assert export_sessions(sessions, "atif", tmp_path / "dir") == 3
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == [
        "conv-legacy-2.json", "conv-weather-1.json", "conversations-2.json",
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="unknown export format"):
        export_sessions(sessions, "yaml", tmp_path / "x")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- redaction at import


def test_import_redacts_by_default_and_reports_counts(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    key = "sk-proj-" + "a1B2c3D4" * 5
    path.write_text(
        json.dumps(
            [
                {"role": "user", "content": f"use {key} and mail bob@corp.example.io"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "1",
                            "function": {
                                "name": "sh",
                                "arguments": json.dumps({"cmd": f"cat /home/bob/.env # {key}"}),
                            },
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "1", "content": f"OPENAI_API_KEY={key}"},
            ]
        )
    )
    reports: dict[Path, ImportReport] = {}
    (session,) = _load(path, reports=reports)
    text = session.model_dump_json()
    assert key not in text and "bob@corp" not in text and "/home/bob" not in text
    assert (
        session.messages[1].tool_calls[0].arguments["cmd"]
        == "cat /home/<USER_1>/.env # <API_KEY_1>"
    )
    assert session.messages[2].content == "OPENAI_API_KEY=<API_KEY_1>"
    assert reports[path].redactions == {"api_key": 4, "email": 2, "user": 1}  # task too
    assert key not in reports[path].model_dump_json()
    (raw,) = _load(path, redact=False)
    assert key in raw.messages[0].content


# --------------------------------------------------------------------------- corruptions


_STRUCTURE_VALUES: list[Any] = [None, 0, -1, 2.5, True, "", "x", [], {}, [None], {"a": None}]


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def _mutate(value: Any, rng: random.Random) -> Any:
    paths = [p for p in _nodes(value) if p]
    for _ in range(rng.randint(1, 4)):
        if not paths:
            break
        path = rng.choice(paths)
        parent = value
        try:
            for key in path[:-1]:
                parent = parent[key]
            if rng.random() < 0.2:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(_STRUCTURE_VALUES))
        except (KeyError, IndexError, TypeError):
            pass
    return value


def _member_body(data: bytes, source: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A zip member's bytes, Zstandard ones (inspect_ai's, which zipfile cannot read) too."""
    if info.compress_type != 93:
        return source.read(info)
    start = info.header_offset + 30 + sum(struct.unpack_from("<HH", data, info.header_offset + 26))
    raw = data[start : start + info.compress_size]
    return zstandard.ZstdDecompressor().decompress(raw, max_output_size=info.file_size)


def _structural(data: bytes, rng: random.Random) -> bytes:
    """Valid JSON with wrong types and missing keys in random places (the deep test)."""
    if data.startswith(b"PK"):
        source = zipfile.ZipFile(io.BytesIO(data))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as target:
            for info in source.infolist():
                name, body = info.filename, _member_body(data, source, info)
                if name.endswith(".json"):
                    body = json.dumps(_mutate(json.loads(body), rng)).encode()
                target.writestr(name, body)
        return buffer.getvalue()
    text = data.decode("utf-8")
    try:
        return json.dumps(_mutate(json.loads(text), rng), indent=1).encode()
    except json.JSONDecodeError:
        lines = [
            json.dumps(_mutate(json.loads(line), rng)) if line.strip() and rng.random() < 0.3
            else line
            for line in text.splitlines()
        ]  # fmt: skip
        return ("\n".join(lines) + "\n").encode()


_corruption = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(
        st.just("flip"),
        st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
    ),
    st.tuples(st.just("insert"), st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=40))),
    st.tuples(st.just("delete"), st.tuples(st.floats(0, 1), st.integers(1, 400))),
    st.tuples(st.just("duplicate"), st.tuples(st.floats(0, 1), st.integers(1, 2000))),
    st.tuples(st.just("structure"), st.integers(0, 2**32)),
)


def _corrupt(data: bytes, corruption: tuple[str, Any]) -> bytes:
    kind, arg = corruption
    size = len(data)
    if kind == "truncate":
        return data[: int(arg * size)]
    if kind == "flip":
        out = bytearray(data)
        for where, byte in arg:
            out[min(size - 1, int(where * size))] = byte
        return bytes(out)
    if kind == "insert":
        at = int(arg[0] * size)
        return data[:at] + arg[1] + data[at:]
    if kind == "delete":
        at = int(arg[0] * size)
        return data[:at] + data[at + arg[1] :]
    if kind == "duplicate":
        at = int(arg[0] * size)
        return data[: at + arg[1]] + data[at : at + arg[1]] + data[at + arg[1] :]
    return _structural(data, random.Random(arg))


@pytest.fixture(scope="module")
def corrupted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corrupted")


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sample=st.sampled_from(SAMPLES), corruption=_corruption, explicit=st.booleans())
@example(  # a flipped byte in the central directory names zip version 6.4: NotImplementedError
    sample=DATA / "inspect" / "log_message_deduplication.eval",
    corruption=("flip", [(0.9679914309601061, 64)]),
    explicit=True,
)
def test_corrupted_samples_raise_only_log_format_errors(
    corrupted_dir: Path, sample: Path, corruption: tuple[str, Any], explicit: bool
) -> None:
    """Truncations, flipped/inserted/deleted/duplicated bytes and type-level mutations of
    every sample, imported through import_paths: sessions, or a LogFormatError naming the
    file -- never another exception, and never an importer crash."""
    folder = corrupted_dir / sample.parent.name
    folder.mkdir(exist_ok=True)
    path = folder / sample.name
    path.write_bytes(_corrupt(sample.read_bytes(), corruption))
    fmt = sample.parent.name if explicit else "auto"
    try:
        for _, session in import_paths([path], fmt=fmt):
            assert isinstance(session, Session)
    except ImporterCrashError as exc:  # a LogFormatError, but it means an importer bug
        pytest.fail(f"{sample.parent.name} importer crashed on a corrupted file: {exc}")
    except LogFormatError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        event(f"{corruption[0]}: LogFormatError")
    else:
        event(f"{corruption[0]}: imported")


def test_corrupted_directory_walk_never_stops(tmp_path: Path) -> None:
    rng = random.Random(7)
    for sample in SAMPLES:
        folder = tmp_path / sample.parent.name
        folder.mkdir(exist_ok=True)
        for n in range(3):
            data = _structural(sample.read_bytes(), rng) if n == 0 else sample.read_bytes()
            if n == 2:
                data = data[: len(data) // 2]
            (folder / f"{n}-{sample.name}").write_bytes(data)
    reports: dict[Path, ImportReport] = {}
    sessions = _load(tmp_path, reports=reports)
    assert len(reports) == 3 * len(SAMPLES)
    intact = [p for p in reports if p.name.startswith("1-")]
    assert all(reports[p].error is None and reports[p].sessions for p in intact)
    assert len(sessions) >= sum(reports[p].sessions for p in intact)
    assert not any("importer failed" in (report.error or "") for report in reports.values()), {
        str(p): r.error for p, r in reports.items() if "importer failed" in (r.error or "")
    }
