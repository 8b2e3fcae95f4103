"""Importers of CLI agent logs: Claude Code, Codex CLI and inspect_ai.

Every check counts from the raw sample data independently of the importer's logic, then
compares with what the importer produced.
"""

from __future__ import annotations

import copy
import json
import re
import struct
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zstandard

from understudy.errors import LogFormatError
from understudy.judges.rules import rule_judges
from understudy.replay.importers import IMPORTERS
from understudy.replay.importers.base import ImportReport, orphan_results
from understudy.replay.importers.claude_code import COMPACTION_PROMPT, ClaudeCodeImporter
from understudy.replay.importers.codex import CodexImporter, parse_function_output
from understudy.replay.importers.inspect_ai import InspectImporter
from understudy.trajectory import Session
from understudy.wire import message_to_wire

DATA = Path(__file__).parent / "data" / "trajectories"
CLAUDE_FILES = sorted((DATA / "claude-code").glob("*.jsonl"))
CODEX_FILES = sorted((DATA / "codex").glob("rollout-*.jsonl"))
HEADLESS_FILES = [
    DATA / "claude-code" / "exoplanet-detection-headless.txt",
    DATA / "codex" / "exec-json-readme.jsonl",
]
"""What ``claude -p --output-format stream-json`` and ``codex exec --json`` print."""
INSPECT_ZSTD = DATA / "inspect" / "zstd-000_val.eval"
"""A log of inspect_ai 0.3.206 or later, whose members are compressed with Zstandard."""
INSPECT_FILES = sorted(p for p in (DATA / "inspect").glob("*.eval") if p != INSPECT_ZSTD)
ALL_SAMPLES = sorted(p for p in DATA.rglob("*") if p.is_file() and p.name != "SOURCES.md")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_jsonl(path: Path, values: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(value) + "\n" for value in values))
    return path


def _load(importer: Any, path: Path, strict: bool = False) -> tuple[list[Session], ImportReport]:
    report = ImportReport()
    sessions = list(importer.load(path, report, strict=strict))
    for session in sessions:  # every session is valid against the schema, as a file would be
        Session.model_validate_json(session.model_dump_json())
    return sessions, report


def test_samples_present() -> None:
    assert CLAUDE_FILES and CODEX_FILES and INSPECT_FILES


def test_registry_names_the_three_importers() -> None:
    assert IMPORTERS.get("claude-code") is ClaudeCodeImporter
    assert IMPORTERS.get("codex") is CodexImporter
    assert IMPORTERS.get("inspect") is InspectImporter


# ---------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("importer", "folder"),
    [
        (ClaudeCodeImporter(), "claude-code"),
        (CodexImporter(), "codex"),
        (InspectImporter(), "inspect"),
    ],
    ids=["claude-code", "codex", "inspect"],
)
def test_detect_own_samples_only(importer: Any, folder: str) -> None:
    for path in ALL_SAMPLES:
        own = path.parent.name == folder
        assert importer.detect(path) is own, path


def test_detect_never_raises_on_odd_files(tmp_path: Path) -> None:
    odd = {
        "empty.jsonl": b"",
        "binary.eval": b"\x00\x01garbage" * 10,
        "fake.eval": b"PK\x03\x04 not really a zip",
        "list.json": b"[1, 2, 3]",
    }
    for name, data in odd.items():
        (tmp_path / name).write_bytes(data)
        for importer in (ClaudeCodeImporter(), CodexImporter(), InspectImporter()):
            result = importer.detect(tmp_path / name)
            assert isinstance(result, bool)
    assert not ClaudeCodeImporter().detect(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------------- Claude Code


def _claude_expected_counts(lines: list[dict[str, Any]]) -> Counter[str]:
    """Messages the main conversation must hold, counted straight from the raw lines."""
    counts: Counter[str] = Counter()
    assistant_ids: set[str] = set()
    for line in lines:
        if line.get("isSidechain") or line.get("type") not in ("user", "assistant"):
            continue
        content = line["message"]["content"]
        if line["type"] == "assistant":
            assistant_ids.add(line["message"]["id"])
            continue
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        counts["tool"] += sum(1 for b in blocks if b.get("type") == "tool_result")
        counts["user"] += any(b.get("type") != "tool_result" for b in blocks)
    counts["assistant"] = len(assistant_ids)
    return counts


@pytest.mark.parametrize("path", CLAUDE_FILES, ids=lambda p: p.name)
def test_claude_message_counts_links_and_usage(path: Path) -> None:
    lines = _lines(path)
    sessions, report = _load(ClaudeCodeImporter(), path)
    assert len(sessions) == 1
    session = sessions[0]
    assert report.issues == []
    got = Counter(message.role for message in session.messages)
    assert got == _claude_expected_counts(lines)
    assert orphan_results(session) == []
    # Usage: one copy per message.id (the lines repeat it), never summed across repeats.
    usage_by_id = {
        line["message"]["id"]: line["message"]["usage"]
        for line in lines
        if line.get("type") == "assistant"
    }
    for message in session.messages:
        if message.role == "assistant":
            assert message.meta["usage"] == usage_by_id[message.meta["message_id"]]
    expected_output = sum(u["output_tokens"] for u in usage_by_id.values())
    assert session.meta["usage"]["output_tokens"] == expected_output
    # The ids in the log are kept; the tools are inferred from the calls made.
    calls = [c for m in session.messages for c in m.tool_calls]
    raw_ids = [
        b["id"]
        for line in lines
        if line.get("type") == "assistant"
        for b in line["message"]["content"]
        if b["type"] == "tool_use"
    ]
    assert [c.id for c in calls] == raw_ids
    assert {t.name for t in session.tools} == {c.name for c in calls}
    assert all(t.inferred for t in session.tools)


def test_claude_merges_lines_of_one_api_message() -> None:
    path = DATA / "claude-code" / "full-session-two.jsonl"
    lines = _lines(path)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if line.get("type") == "assistant":
            by_id.setdefault(line["message"]["id"], []).append(line)
    multi = {mid: group for mid, group in by_id.items() if len(group) > 1}
    assert multi, "the sample has messages spread over several lines"
    naive_output = sum(
        line["message"]["usage"]["output_tokens"] for g in by_id.values() for line in g
    )
    (session,), _ = _load(ClaudeCodeImporter(), path)
    assert session.meta["usage"]["output_tokens"] < naive_output  # duplicates were not summed
    merged = {m.meta["message_id"]: m for m in session.messages if m.role == "assistant"}
    for mid, group in multi.items():
        message = merged[mid]
        blocks = [b for line in group for b in line["message"]["content"]]
        assert [c.id for c in message.tool_calls] == [
            b["id"] for b in blocks if b["type"] == "tool_use"
        ]
        assert message.content == "\n".join(b["text"] for b in blocks if b["type"] == "text")
        assert message.meta["uuids"] == [line["uuid"] for line in group]
    first = merged["msg_011NgTqANgCZQuLgWBqCpb1z"]
    assert [c.name for c in first.tool_calls] == ["Read", "Read"]
    assert first.content.startswith("I'll help you move")


def test_claude_env_model_errors_and_markers() -> None:
    (full,), _ = _load(ClaudeCodeImporter(), DATA / "claude-code" / "full-session-two.jsonl")
    assert full.id == "8a2518dd-ff41-4d5f-83a1-407b03598cc6"
    assert full.source.format == "claude-code"
    assert full.source.model == "claude-sonnet-4-5-20250929"
    assert full.source.version == "2.0.26"
    assert full.env.workdir == "/Users/jnarowski/Dev/sourceborn/src/agent-workflows-monorepo-v2"
    assert full.env.repo is not None and full.env.repo.branch == "feat/react-refactor"
    assert full.env.repo.url is None and full.env.repo.commit is None
    assert full.meta["ignored_lines"] == {"file-history-snapshot": 6}
    assert full.task.startswith("please move the + button")
    rejected = next(m for m in full.messages if m.tool_call_id == "toolu_012Gdzb9zzjepNQXFUz1kGkz")
    assert rejected.is_error and rejected.name == "ExitPlanMode"
    assert sum(m.is_error for m in full.messages) == 1
    # The Caveat line is isMeta: kept, marked injected; slash-command echoes are marked too.
    assert full.messages[0].meta.get("injected") is True
    assert full.messages[1].meta.get("local_command") is True
    # Read results carry an appended <system-reminder>: kept and marked.
    reads = [m for m in full.messages if m.role == "tool" and m.name == "Read" and "→" in m.content]
    assert reads and all(m.meta.get("system_reminder") for m in reads)
    assert all("<system-reminder>" in m.content for m in reads)
    # Structured toolUseResult kept in meta, with long strings shortened.
    edit = next(m for m in full.messages if m.role == "tool" and m.name == "Edit")
    assert "structuredPatch" in edit.meta["tool_use_result"]
    image = next(m for m in full.messages if m.tool_call_id == "toolu_017MkAKfdSpTSButFXSQeHkH")
    assert image.content == "[image]"
    assert "iVBOR" not in json.dumps(image.meta)

    (hello,), _ = _load(ClaudeCodeImporter(), DATA / "claude-code" / "hello-world-script.jsonl")
    assert hello.source.model == "claude-opus-4-5-20251101"
    assert hello.env.workdir == "/tmp/tmp74wiyiny"
    assert hello.env.repo is None  # gitBranch is empty: not a git checkout
    stop_hook = [m for m in hello.messages if m.content.startswith("Stop hook feedback")]
    assert len(stop_hook) == 1 and stop_hook[0].meta["injected"] is True
    assert hello.task.startswith("Write a shell script")
    assert hello.meta["ignored_lines"] == {"queue-operation": 1}


def _claude_line(
    kind: str, content: Any, uuid: str, parent: str | None, **extra: Any
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "parentUuid": parent,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/work/repo",
        "sessionId": "sess-1",
        "version": "1.0.0",
        "gitBranch": "main",
        "type": kind,
        "uuid": uuid,
        "timestamp": "2025-01-01T00:00:00.000Z",
    }
    if kind == "assistant":
        message_id = extra.pop("message_id")
        line["message"] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": extra.pop("model", "claude-test"),
            "content": content,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
    else:
        line["message"] = {"role": "user", "content": content}
    line.update(extra)
    return line


@pytest.mark.parametrize("compaction", [True, False])
def test_a_claude_compaction_run_retells_its_session_without_being_judged_for_it(
    tmp_path: Path, compaction: bool
) -> None:
    # Claude Code writes the run that compacts a session as a subagent log (agent-acompact-*):
    # asked for a summary, it tells what the compacted session did, with no call of its own.
    prompt = COMPACTION_PROMPT + ", paying close attention to the user's explicit requests."
    ask = prompt if compaction else "Commit the fix and push it."
    lines = [
        _claude_line("user", ask, "u1", None),
        _claude_line(
            "assistant",
            [{"type": "text", "text": "Summary: I committed the fix and pushed it to main."}],
            "a1",
            "u1",
            message_id="msg_1",
        ),
    ]
    path = _write_jsonl(tmp_path / "agent-acompact-1.jsonl", lines)
    (session,), _ = _load(ClaudeCodeImporter(), path)
    assert session.meta.get("compaction_summary", False) is compaction
    assert session.messages[-1].recounts_conversation is compaction
    (rule,) = rule_judges(["lying_about_tools"])
    assert rule.judge_now(session, None).flagged is not compaction


def test_claude_sidechains_are_kept_apart(tmp_path: Path) -> None:
    original = _lines(DATA / "claude-code" / "hello-world-script.jsonl")
    (plain,), _ = _load(ClaudeCodeImporter(), DATA / "claude-code" / "hello-world-script.jsonl")
    side = [
        _claude_line("user", "Find the bug", "s1", None, isSidechain=True),
        _claude_line(
            "assistant",
            [{"type": "tool_use", "id": "toolu_side", "name": "Grep", "input": {"pattern": "x"}}],
            "s2",
            "s1",
            isSidechain=True,
            message_id="msg_side",
        ),
        _claude_line(
            "user",
            [{"type": "tool_result", "tool_use_id": "toolu_side", "content": "a.py:1:x"}],
            "s3",
            "s2",
            isSidechain=True,
        ),
        _claude_line(
            "assistant",
            [{"type": "text", "text": "Found it"}],
            "s4",
            "s3",
            isSidechain=True,
            message_id="msg_side2",
        ),
    ]
    agent = [
        _claude_line("user", "Other agent", "a1", None, isSidechain=True, agentId="abc123"),
        _claude_line(
            "assistant",
            [{"type": "text", "text": "ok"}],
            "a2",
            "a1",
            isSidechain=True,
            agentId="abc123",
            message_id="msg_agent",
        ),
    ]
    # Interleave the sidechain lines with the main conversation.
    mixed = [
        *original[:3],
        side[0],
        side[1],
        agent[0],
        *original[3:5],
        side[2],
        agent[1],
        side[3],
        *original[5:],
    ]
    path = _write_jsonl(tmp_path / "with-sidechains.jsonl", mixed)
    sessions, report = _load(ClaudeCodeImporter(), path)
    assert report.issues == []
    main, *sides = sessions
    assert [m.model_dump() for m in main.messages] == [m.model_dump() for m in plain.messages]
    assert main.id == plain.id
    assert {s.id for s in sides} == {f"{main.id}-sidechain-1", f"{main.id}-agent-abc123"}
    assert main.meta["sidechains"] == [s.id for s in sides]
    chain = next(s for s in sides if s.id.endswith("sidechain-1"))
    assert [m.role for m in chain.messages] == ["user", "assistant", "tool", "assistant"]
    assert chain.meta["sidechain"] is True and chain.meta["parent_session"] == main.id
    assert orphan_results(chain) == []
    assert chain.task == "Find the bug"
    other = next(s for s in sides if s.id.endswith("abc123"))
    assert other.meta["agent_id"] == "abc123"
    assert [m.content for m in other.messages] == ["Other agent", "ok"]
    # A file of sidechain lines only (agent-*.jsonl) yields just the sidechain session.
    only = _write_jsonl(tmp_path / "agent-abc123.jsonl", agent)
    (alone,), _ = _load(ClaudeCodeImporter(), only)
    assert alone.id == "sess-1-agent-abc123"


def test_claude_thinking_reminders_and_odd_blocks(tmp_path: Path) -> None:
    lines = [
        _claude_line("user", "Fix the test", "u1", None),
        _claude_line(
            "user",
            [{"type": "text", "text": "<system-reminder>\nTodo list is empty\n</system-reminder>"}],
            "u2",
            "u1",
        ),
        _claude_line(
            "assistant",
            [{"type": "thinking", "thinking": "Let me look.", "signature": "sig"}],
            "a1",
            "u2",
            message_id="msg_1",
        ),
        _claude_line(
            "assistant", [{"type": "text", "text": "Running it."}], "a2", "a1", message_id="msg_1"
        ),
        _claude_line(
            "assistant",
            [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pytest"}}],
            "a3",
            "a2",
            message_id="msg_1",
        ),
        _claude_line(
            "user",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "is_error": True,
                    "content": [{"type": "text", "text": "Error: Exit code 1\nFAILED"}],
                }
            ],
            "u3",
            "a3",
            toolUseResult="Error: Exit code 1\nFAILED",
        ),
        _claude_line(
            "user",
            [
                {"type": "text", "text": "please continue"},
                {"type": "text", "text": "<system-reminder>be careful</system-reminder>"},
            ],
            "u4",
            "u3",
        ),
        _claude_line(
            "user", [{"type": "tool_result", "tool_use_id": "t-gone", "content": "x"}], "u5", "u4"
        ),
        _claude_line("assistant", [{"type": "mystery"}], "a4", "u5", message_id="msg_2"),
        {"type": "summary", "summary": "Fixing tests", "leafUuid": "a4"},
        _claude_line("user", "Fix the test", "u1", None),  # a repeated line
    ]
    path = _write_jsonl(tmp_path / "odd.jsonl", lines)
    (session,), report = _load(ClaudeCodeImporter(), path)
    roles = [m.role for m in session.messages]
    assert roles == ["user", "user", "assistant", "tool", "user", "tool", "assistant"]
    reminder = session.messages[1]
    assert reminder.meta["injected"] is True and reminder.meta["system_reminder"] is True
    merged = session.messages[2]
    assert merged.reasoning == "Let me look."
    assert merged.content == "Running it."
    assert [c.arguments for c in merged.tool_calls] == [{"command": "pytest"}]
    assert merged.meta["usage"] == {"input_tokens": 10, "output_tokens": 5}
    result = session.messages[3]
    assert result.is_error and result.meta["exit_code"] == 1 and result.name == "Bash"
    assert result.meta["tool_use_result"] == "Error: Exit code 1\nFAILED"
    mixed = session.messages[4]
    assert mixed.meta.get("system_reminder") is True and "injected" not in mixed.meta
    assert orphan_results(session) == [5]
    assert session.meta["summaries"] == ["Fixing tests"]
    assert session.meta["duplicate_lines"] == 1
    assert session.meta["usage"] == {"input_tokens": 20, "output_tokens": 10}
    warned = {(issue.line, issue.where) for issue in report.issues}
    assert (8, "message.content[0].tool_use_id") in warned
    assert (9, "message.content[0].type") in warned


# ---------------------------------------------------------------------- JSONL damage


@pytest.mark.parametrize(
    "path", [*CLAUDE_FILES, *CODEX_FILES, *HEADLESS_FILES], ids=lambda p: p.name
)
def test_jsonl_truncated_last_line(tmp_path: Path, path: Path) -> None:
    importer = ClaudeCodeImporter() if path.parent.name == "claude-code" else CodexImporter()
    raw = path.read_text().splitlines()
    cut = tmp_path / path.name
    cut.write_text("\n".join(raw[:-1]) + "\n" + raw[-1][: len(raw[-1]) // 2])
    sessions, report = _load(importer, cut)
    assert len(sessions) >= 1
    assert [(i.line, "truncated" in i.message) for i in report.issues] == [(len(raw), True)]
    with pytest.raises(LogFormatError, match=rf"{cut.name}:{len(raw)}\b"):
        _load(importer, cut, strict=True)


@pytest.mark.parametrize(
    "path", [*CLAUDE_FILES, *CODEX_FILES, *HEADLESS_FILES], ids=lambda p: p.name
)
def test_jsonl_garbled_middle_line(tmp_path: Path, path: Path) -> None:
    importer = ClaudeCodeImporter() if path.parent.name == "claude-code" else CodexImporter()
    raw = path.read_text().splitlines()
    middle = len(raw) // 2
    raw[middle] = raw[middle][:40] + "}}garbage"
    bad = tmp_path / path.name
    bad.write_text("\n".join(raw) + "\n")
    with pytest.raises(LogFormatError, match=rf"{bad.name}:{middle + 1}\b"):
        _load(importer, bad)


def test_jsonl_wrong_field_types_name_line_and_field(tmp_path: Path) -> None:
    lines = _lines(DATA / "claude-code" / "hello-world-script.jsonl")
    broken = copy.deepcopy(lines)
    broken[2]["message"] = "not an object"
    path = _write_jsonl(tmp_path / "claude.jsonl", broken)
    with pytest.raises(LogFormatError, match=r"claude\.jsonl:3: message: expected an object"):
        _load(ClaudeCodeImporter(), path)
    broken = copy.deepcopy(lines)
    broken[1]["message"]["content"] = 42
    path = _write_jsonl(tmp_path / "claude.jsonl", broken)
    with pytest.raises(LogFormatError, match=r"claude\.jsonl:2: message\.content"):
        _load(ClaudeCodeImporter(), path)
    path = _write_jsonl(tmp_path / "claude.jsonl", [lines[0], [1, 2]])  # type: ignore[list-item]
    with pytest.raises(LogFormatError, match=r"claude\.jsonl:2: expected a JSON object"):
        _load(ClaudeCodeImporter(), path)

    codex = _lines(CODEX_FILES[0])
    codex[8]["payload"] = ["not", "an", "object"]
    path = _write_jsonl(tmp_path / "codex.jsonl", codex)
    with pytest.raises(LogFormatError, match=r"codex\.jsonl:9: payload: expected an object"):
        _load(CodexImporter(), path)
    codex = _lines(CODEX_FILES[0])
    codex[2]["payload"]["content"] = 7
    path = _write_jsonl(tmp_path / "codex.jsonl", codex)
    with pytest.raises(LogFormatError, match=r"codex\.jsonl:3: payload\.content"):
        _load(CodexImporter(), path)


def test_jsonl_empty_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "binary.jsonl").write_bytes(b"\x00\xff\x00garbage\n" * 20)
    for importer in (ClaudeCodeImporter(), CodexImporter()):
        for name in ("empty.jsonl", "binary.jsonl"):
            with pytest.raises(LogFormatError, match=name):
                _load(importer, tmp_path / name)


# ---------------------------------------------------------------------- Codex


@pytest.mark.parametrize("path", CODEX_FILES, ids=lambda p: p.name)
def test_codex_message_counts_usage_and_links(path: Path) -> None:
    lines = _lines(path)
    (session,), report = _load(CodexImporter(), path)
    assert report.issues == []
    items = [line["payload"] for line in lines if line["type"] == "response_item"]
    usages = [
        line["payload"]["info"]["last_token_usage"]
        for line in lines
        if line["type"] == "event_msg"
        and line["payload"]["type"] == "token_count"
        and line["payload"].get("info")
    ]
    got = Counter(m.role for m in session.messages)
    assert got["user"] == sum(1 for i in items if i["type"] == "message" and i["role"] == "user")
    assert got["tool"] == sum(1 for i in items if i["type"] == "function_call_output")
    # One assistant message per model response; each response produced one token_count.
    assert got["assistant"] == len(usages)
    assistant = [m for m in session.messages if m.role == "assistant"]
    assert [m.meta["usage"] for m in assistant] == usages
    calls = [c for m in assistant for c in m.tool_calls]
    raw_calls = [i for i in items if i["type"] == "function_call"]
    assert [c.id for c in calls] == [i["call_id"] for i in raw_calls]
    assert [c.arguments for c in calls] == [json.loads(i["arguments"]) for i in raw_calls]
    assert all(c.raw_arguments is None for c in calls)
    assert orphan_results(session) == []
    # Outputs: JSON strings parsed into content + exit code + duration.
    outputs = {
        i["call_id"]: json.loads(i["output"]) for i in items if i["type"] == "function_call_output"
    }
    for message in session.messages:
        if message.role == "tool":
            raw = outputs[message.tool_call_id]
            assert message.content == raw["output"]
            assert message.meta["exit_code"] == raw["metadata"]["exit_code"]
            assert message.meta["duration_s"] == raw["metadata"]["duration_seconds"]
            assert message.is_error is (raw["metadata"]["exit_code"] != 0)
            assert message.name == "shell"
    # Reasoning summaries go to the next assistant message.
    first_reasoning = next(i for i in items if i["type"] == "reasoning")
    assert assistant[0].reasoning == first_reasoning["summary"][0]["text"]
    # event_msg lines repeat messages: they are not imported twice.
    final = next(i for i in items if i["type"] == "message" and i["role"] == "assistant")
    final_text = final["content"][0]["text"]
    assert sum(m.content == final_text for m in session.messages) == 1
    assert session.messages[-1].content == final_text
    total = [
        line
        for line in lines
        if line["type"] == "event_msg" and line["payload"]["type"] == "token_count"
    ]
    assert session.meta["usage"] == total[-1]["payload"]["info"]["total_token_usage"]


def test_codex_env_model_and_injected_context() -> None:
    (session,), _ = _load(CodexImporter(), CODEX_FILES[0])
    assert session.id == "019982b8-3422-79e0-8b3b-05abaf4f3c3e"
    assert session.source.model == "gpt-5-codex"
    assert session.source.version == "0.40.0"
    assert session.source.agent == "codex"
    assert session.env.workdir == "/Users/jnarowski/Dev/spectora/src/spectora-labs-monorepo-v2"
    repo = session.env.repo
    assert repo is not None
    assert repo.url == "git@github.com:spectorasoftware/spectora-labs-monorepo-v2.git"
    assert repo.commit == "d002f64f396ebaf2eb9c240b1c7f224ad1161da5"
    assert repo.branch == "feat/add-prisma-v5"
    assert session.messages[0].content.startswith("<environment_context>")
    assert session.messages[0].meta["injected"] is True
    assert "injected" not in session.messages[1].meta
    assert session.task.startswith("# Context from my IDE setup")
    assert all(m.meta["model"] == "gpt-5-codex" for m in session.messages if m.role == "assistant")
    assert session.meta["turn_context"]["sandbox_policy"] == {"mode": "read-only"}
    assert [t.name for t in session.tools] == ["shell"] and session.tools[0].inferred


def test_codex_function_output_shapes() -> None:
    content, meta, is_error = parse_function_output(
        json.dumps({"output": "ok\n", "metadata": {"exit_code": 0, "duration_seconds": 0.5}})
    )
    assert (content, meta["exit_code"], meta["duration_s"], is_error) == ("ok\n", 0, 0.5, False)
    content, meta, is_error = parse_function_output(
        json.dumps({"output": "boom", "metadata": {"exit_code": 2, "duration_seconds": 1}})
    )
    assert (content, meta["exit_code"], is_error) == ("boom", 2, True)
    text = "failed in sandbox: Operation not permitted (os error 1)"
    content, meta, is_error = parse_function_output(text)
    assert (content, is_error) == (text, True) and "exit_code" not in meta
    content, meta, is_error = parse_function_output(
        "Exit code: 1\nWall time: 0.2 seconds\nOutput:\nno such file\n"
    )
    assert (content, meta["exit_code"], meta["duration_s"], is_error) == (
        "no such file\n",
        1,
        0.2,
        True,
    )
    content, meta, is_error = parse_function_output(
        "Success. Updated the following files:\nM a.py\n"
    )
    assert content.startswith("Success.") and not is_error and "exit_code" not in meta
    content, meta, is_error = parse_function_output('{"not": "an exec output"}')
    assert content == '{"not": "an exec output"}' and not is_error


def _codex_line(kind: str, payload: dict[str, Any], second: int = 0) -> dict[str, Any]:
    return {"timestamp": f"2025-09-25T21:12:{second:02d}.000Z", "type": kind, "payload": payload}


def _token_count(n: int) -> dict[str, Any]:
    usage = {"input_tokens": n, "output_tokens": 1, "total_tokens": n + 1}
    return _codex_line(
        "event_msg",
        {"type": "token_count", "info": {"total_token_usage": usage, "last_token_usage": usage}},
    )


def _user(text: str) -> dict[str, Any]:
    return _codex_line(
        "response_item",
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    )


def _call(call_id: str, arguments: str = '{"command": ["ls"]}') -> dict[str, Any]:
    return _codex_line(
        "response_item",
        {"type": "function_call", "name": "shell", "arguments": arguments, "call_id": call_id},
    )


def _output(call_id: str, output: str) -> dict[str, Any]:
    return _codex_line(
        "response_item", {"type": "function_call_output", "call_id": call_id, "output": output}
    )


def _reasoning(text: str) -> dict[str, Any]:
    return _codex_line(
        "response_item",
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": text}],
            "content": None,
            "encrypted_content": "gAAAA",
        },
    )


def _meta_line() -> dict[str, Any]:
    return _codex_line(
        "session_meta",
        {"id": "sess-x", "cwd": "/repo", "cli_version": "0.50.0", "git": {"branch": "main"}},
    )


def test_codex_plain_string_outputs_parallel_calls_and_usage_after(tmp_path: Path) -> None:
    ok = json.dumps({"output": "a.py\n", "metadata": {"exit_code": 0, "duration_seconds": 0.1}})
    sandbox_failure = "failed in sandbox: Operation not permitted"
    lines = [
        _meta_line(),
        _codex_line(
            "response_item",
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "Be brief."}],
            },
        ),
        _user("<user_instructions>\nUse pytest.\n</user_instructions>"),
        _user("list files twice"),
        _codex_line("turn_context", {"cwd": "/repo", "model": "gpt-5"}),
        # Response 1: reasoning + two parallel calls; usage reported AFTER the items.
        _reasoning("Two listings at once"),
        _call("c1"),
        _output("c1", ok),
        _call("c2", "{not json"),
        _output("c2", sandbox_failure),
        _token_count(100),
        # Response 2: a preamble message and a call, then usage.
        _reasoning("Retry"),
        _codex_line(
            "response_item",
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Retrying."}],
            },
        ),
        _call("c3"),
        _token_count(200),
        _output("c3", "Exit code: 0\nWall time: 0.3 seconds\nOutput:\na.py\n"),
        # Response 3: the answer.
        _reasoning("Done"),
        _codex_line(
            "response_item",
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Two files."}],
            },
        ),
        _codex_line("event_msg", {"type": "agent_message", "message": "Two files."}),
        _token_count(300),
        _codex_line(
            "response_item", {"type": "function_call_output", "call_id": "nope", "output": "x"}
        ),
    ]
    path = _write_jsonl(tmp_path / "rollout.jsonl", lines)
    (session,), report = _load(CodexImporter(), path)
    roles = [m.role for m in session.messages]
    assert roles == [
        "system",
        "user",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    system, instructions, _ask, first, out1, out2, second, out3, answer, _orphan = session.messages
    assert system.meta == {"injected": True, "original_role": "developer"}
    assert instructions.meta["injected"] is True and session.task == "list files twice"
    assert [c.id for c in first.tool_calls] == ["c1", "c2"]
    assert first.reasoning == "Two listings at once"
    assert first.tool_calls[1].raw_arguments == "{not json" and first.tool_calls[1].arguments == {}
    assert first.meta["usage"]["input_tokens"] == 100
    assert (out1.content, out1.meta["exit_code"], out1.is_error) == ("a.py\n", 0, False)
    assert (out2.content, out2.is_error, out2.tool_call_id) == (sandbox_failure, True, "c2")
    assert "exit_code" not in out2.meta
    assert second.content == "Retrying." and [c.id for c in second.tool_calls] == ["c3"]
    assert second.meta["usage"]["input_tokens"] == 200
    assert (out3.content, out3.meta["exit_code"], out3.meta["duration_s"]) == ("a.py\n", 0, 0.3)
    assert answer.content == "Two files." and answer.reasoning == "Done"
    assert answer.meta["usage"]["input_tokens"] == 300 and answer.meta["model"] == "gpt-5"
    assert orphan_results(session) == [9]
    assert [(i.line, i.where) for i in report.issues] == [(21, "payload.call_id")]
    assert session.env.repo is not None and session.env.repo.branch == "main"
    assert session.env.repo.url is None


def test_codex_other_tool_items_and_legacy_layout(tmp_path: Path) -> None:
    lines = [
        _meta_line(),
        _user("patch it"),
        _codex_line(
            "response_item",
            {
                "type": "custom_tool_call",
                "call_id": "p1",
                "name": "apply_patch",
                "input": "*** Begin Patch\n*** End Patch",
            },
        ),
        _codex_line(
            "response_item",
            {
                "type": "custom_tool_call_output",
                "call_id": "p1",
                "output": "Success. Updated the following files:\nM a.py",
            },
        ),
        _codex_line(
            "response_item",
            {
                "type": "local_shell_call",
                "call_id": "l1",
                "status": "completed",
                "action": {"type": "exec", "command": ["ls"]},
            },
        ),
        _codex_line(
            "response_item",
            {
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": "pytest"},
            },
        ),
        _codex_line("compacted", {"message": "Summary so far"}),
        _codex_line("mystery", {}),
        # As Codex 0.58 on writes it (the shape of a real 0.60.1 rollout): no conversation.
        _codex_line(
            "response_item",
            {
                "type": "ghost_snapshot",
                "ghost_commit": {
                    "id": "d8b27b2e0f69f77fbec64492455f8aa81d201055",
                    "parent": None,
                    "preexisting_untracked_files": [],
                    "preexisting_untracked_dirs": [],
                },
            },
        ),
    ]
    path = _write_jsonl(tmp_path / "rollout.jsonl", lines)
    (session,), report = _load(CodexImporter(), path)
    calls = [c for m in session.messages for c in m.tool_calls]
    assert [(c.name, c.arguments) for c in calls] == [
        ("apply_patch", {"input": "*** Begin Patch\n*** End Patch"}),
        ("local_shell", {"command": ["ls"]}),
        ("web_search", {"type": "search", "query": "pytest"}),
    ]
    assert session.messages[-1].meta == {"injected": True, "compacted": True}
    assert session.meta["ignored_lines"] == {"mystery": 1, "response_item:ghost_snapshot": 1}
    assert [i.line for i in report.issues] == [8]  # the unknown line alone is warned about

    legacy = [
        {
            "id": "old-1",
            "timestamp": "2025-05-01T00:00:00Z",
            "instructions": None,
            "git": {"commit_hash": "abc", "branch": "dev", "repository_url": "https://x/y.git"},
        },
        {"record_type": "state"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "name": "shell", "arguments": "{}", "call_id": "c"},
        {"type": "function_call_output", "call_id": "c", "output": "plain"},
    ]
    path = _write_jsonl(tmp_path / "legacy.jsonl", legacy)
    assert CodexImporter().detect(path)
    (old,), _ = _load(CodexImporter(), path)
    assert old.id == "old-1" and [m.role for m in old.messages] == ["user", "assistant", "tool"]
    assert old.env.repo is not None and old.env.repo.commit == "abc"


# ---------------------------------------------------------------------- inspect


def _eval_members(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        return {name: json.loads(archive.read(name)) for name in archive.namelist()}


@pytest.mark.parametrize("path", INSPECT_FILES, ids=lambda p: p.name)
def test_inspect_sessions_match_samples(path: Path) -> None:
    members = _eval_members(path)
    samples = {name: data for name, data in members.items() if name.startswith("samples/")}
    header = members["header.json"]
    sessions, report = _load(InspectImporter(), path)
    assert report.issues == []
    assert len(sessions) == len(samples)
    for session, sample in zip(sessions, samples.values(), strict=True):
        raw = sample["messages"]
        assert session.id == f"{header['eval']['eval_id']}_{sample['id']}_epoch_{sample['epoch']}"
        assert [m.role for m in session.messages] == [m["role"] for m in raw]
        assert [m.meta["id"] for m in session.messages] == [m["id"] for m in raw]
        raw_calls = [c for m in raw for c in m.get("tool_calls") or []]
        calls = [c for m in session.messages for c in m.tool_calls]
        assert [c.arguments for c in calls] == [c["arguments"] for c in raw_calls]
        assert all(isinstance(c["arguments"], dict) for c in raw_calls)
        assert [c.name for c in calls] == [c["function"] for c in raw_calls]
        assert orphan_results(session) == []
        assert "attachment://" not in session.model_dump_json()
        assert session.source.model == header["eval"]["model"] == "hardcoded/hardcoded"
        assert session.meta["output_model"] == sample["output"]["model"]
        assert session.source.version == header["eval"]["packages"]["inspect_ai"]
        assert session.meta["sandbox"] == {"type": "docker"}
        assert session.task == sample["input"]
        # Tools come from the model events, with the attached description resolved.
        assert [t.name for t in session.tools] == ["bash", "python"]
        assert not any(t.inferred for t in session.tools)
        python = session.tools[1]
        assert python.description == next(iter(sample["attachments"].values()))
        tools = [m for m in session.messages if m.role == "tool"]
        assert all(m.meta["exit_code"] == 0 for m in tools)
        assert all(m.name == "bash" for m in tools)


def _synthetic_sample() -> dict[str, Any]:
    long_text = "x" * 500
    return {
        "id": "s1",
        "epoch": 2,
        "input": "attachment://aaaa1111",
        "messages": [
            {"id": "m0", "role": "system", "content": "attachment://bbbb2222"},
            {
                "id": "m1",
                "role": "user",
                "content": [
                    {"type": "text", "text": "attachment://aaaa1111"},
                    {"type": "image", "image": "attachment://cccc3333"},
                ],
            },
            {
                "id": "m2",
                "role": "assistant",
                "content": [
                    {"type": "reasoning", "reasoning": "think first", "redacted": False},
                    {"type": "text", "text": "Writing the file."},
                ],
                "tool_calls": [
                    {
                        "id": "call_1",
                        "function": "write_file",
                        "type": "function",
                        "arguments": {"path": "a.txt", "content": "attachment://bbbb2222"},
                    },
                    {
                        "id": "call_2",
                        "function": "bash",
                        "type": "function",
                        "arguments": {"cmd": "cat a.txt"},
                    },
                ],
            },
            {
                "id": "m3",
                "role": "tool",
                "tool_call_id": "call_1",
                "function": "write_file",
                "content": "",
                "error": {"type": "permission", "message": "Permission denied"},
            },
            {
                "id": "m4",
                "role": "tool",
                "tool_call_id": "call_2",
                "function": "bash",
                "content": "attachment://bbbb2222",
            },
            {"id": "m5", "role": "assistant", "content": "done"},
        ],
        "attachments": {
            "aaaa1111": "Write a long file",
            "bbbb2222": long_text,
            "cccc3333": "data:image/png;base64,AAAA",
        },
        "output": {"model": "gpt-4o-2024-08-06"},
        "setup": "pip install -e .",
        "events": [],
    }


def _synthetic_header() -> dict[str, Any]:
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "eval_id": "E1",
            "run_id": "R1",
            "task": "t",
            "model": "openai/gpt-4o",
            "sandbox": {"type": "docker", "config": "python:3.12-slim"},
            "packages": {"inspect_ai": "0.3.100"},
        },
        "plan": {
            "steps": [
                {"solver": "use_tools", "params": {"tools": [{"name": "bash"}]}},
                {"solver": "generate"},
            ]
        },
    }


def _write_eval(path: Path, header: dict[str, Any], samples: list[dict[str, Any]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "_journal/start.json", json.dumps({k: header[k] for k in ("version", "eval", "plan")})
        )
        for sample in samples:
            archive.writestr(
                f"samples/{sample['id']}_epoch_{sample['epoch']}.json", json.dumps(sample)
            )
        archive.writestr("header.json", json.dumps(header))
    return path


def _check_synthetic(session: Session) -> None:
    assert session.id == "E1_s1_epoch_2"
    assert "attachment://" not in session.model_dump_json()
    system, user, assistant, failed, result, _done = session.messages
    assert system.content == "x" * 500
    assert user.content == "Write a long file\n[image]"
    assert assistant.reasoning == "think first" and assistant.content == "Writing the file."
    assert assistant.tool_calls[0].arguments == {"path": "a.txt", "content": "x" * 500}
    assert (failed.is_error, failed.content, failed.meta["error_type"]) == (
        True,
        "Permission denied",
        "permission",
    )
    assert not result.is_error and result.content == "x" * 500
    assert orphan_results(session) == []
    assert session.task == "Write a long file\n[image]"
    assert session.source.model == "openai/gpt-4o"
    assert session.meta["output_model"] == "gpt-4o-2024-08-06"
    assert session.env.image == "python:3.12-slim"
    assert session.env.setup == ["pip install -e ."]
    # No model events: bash is named by the plan, write_file inferred from its call.
    assert [(t.name, t.inferred) for t in session.tools] == [("bash", True), ("write_file", True)]
    assert session.tools[1].parameters["properties"] == {
        "path": {"type": "string"},
        "content": {"type": "string"},
    }


def test_inspect_attachments_errors_and_env_in_eval_and_json(tmp_path: Path) -> None:
    header, sample = _synthetic_header(), _synthetic_sample()
    eval_path = _write_eval(tmp_path / "synthetic.eval", header, [sample])
    assert InspectImporter().detect(eval_path)
    (session,), report = _load(InspectImporter(), eval_path)
    assert report.issues == []
    _check_synthetic(session)

    json_path = tmp_path / "synthetic.json"
    json_path.write_text(json.dumps({**header, "samples": [sample]}, indent=2))
    assert InspectImporter().detect(json_path)
    assert not ClaudeCodeImporter().detect(json_path) and not CodexImporter().detect(json_path)
    (from_json,), _ = _load(InspectImporter(), json_path)
    _check_synthetic(from_json)
    assert from_json.messages == session.messages


def test_inspect_logs_written_by_r_a_role_left_out_and_every_value_boxed(tmp_path: Path) -> None:
    # R's vitals wrote logs in inspect's format: some tool results without their role, and
    # (older versions) every scalar boxed in a list of one.
    sample = _synthetic_sample()
    for message in sample["messages"]:
        if message["role"] == "tool":
            del message["role"]
            message["content"] = [message["content"]]  # and as a list of strings
    roleless = _write_eval(tmp_path / "roleless.eval", _synthetic_header(), [sample])
    (session,), _ = _load(InspectImporter(), roleless)
    tools = [m for m in session.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tools] == ["call_1", "call_2"]
    assert orphan_results(session) == []

    boxed = _synthetic_sample()
    boxed["messages"][0]["role"] = ["system"]
    path = _write_eval(tmp_path / "boxed.eval", _synthetic_header(), [boxed])
    with pytest.raises(
        LogFormatError, match=r"messages\[0\]\.role: the role is \['system'\], a list"
    ):
        _load(InspectImporter(), path)


def test_inspect_json_converted_from_sample_eval(tmp_path: Path) -> None:
    members = _eval_members(INSPECT_FILES[0])
    document = {
        **members["header.json"],
        "samples": [v for k, v in members.items() if k.startswith("samples/")],
    }
    path = tmp_path / "log.json"
    path.write_text(json.dumps(document, indent=2))
    assert InspectImporter().detect(path)
    (from_json,), _ = _load(InspectImporter(), path)
    (from_eval,), _ = _load(InspectImporter(), INSPECT_FILES[0])
    assert from_json.model_dump(exclude={"source"}) == from_eval.model_dump(exclude={"source"})


def test_inspect_truncated_and_garbled(tmp_path: Path) -> None:
    source = INSPECT_FILES[0]
    with zipfile.ZipFile(source) as archive:
        offsets = sorted(info.header_offset for info in archive.infolist())
        names = {info.header_offset: info.filename for info in archive.infolist()}
    sample_at = next(o for o in offsets if names[o].startswith("samples/"))
    after_sample = offsets[offsets.index(sample_at) + 1]
    cut = tmp_path / "cut.eval"
    cut.write_bytes(source.read_bytes()[: after_sample + 10])
    sessions, report = _load(InspectImporter(), cut)
    assert [s.messages for s in sessions] == [_load(InspectImporter(), source)[0][0].messages]
    assert sessions[0].source.model == "hardcoded/hardcoded"  # from _journal/start.json
    assert any("central directory" in issue.message for issue in report.issues)
    with pytest.raises(LogFormatError, match=r"cut\.eval: not a readable zip"):
        _load(InspectImporter(), cut, strict=True)

    stub = tmp_path / "stub.eval"
    stub.write_bytes(source.read_bytes()[:20])
    with pytest.raises(LogFormatError, match=r"stub\.eval"):
        _load(InspectImporter(), stub)

    garbled = _write_eval(tmp_path / "garbled.eval", _synthetic_header(), [])
    with zipfile.ZipFile(garbled, "a") as archive:
        archive.writestr("samples/9_epoch_1.json", '{"id": 9, "messages": [')
    with pytest.raises(
        LogFormatError, match=r"garbled\.eval: samples/9_epoch_1\.json: invalid JSON"
    ):
        _load(InspectImporter(), garbled, strict=True)
    _, report = _load(InspectImporter(), garbled)
    assert [issue.where for issue in report.issues] == ["samples/9_epoch_1.json"]

    bad = _synthetic_sample()
    bad["messages"][2]["tool_calls"] = "nope"
    wrong = _write_eval(tmp_path / "wrong.eval", _synthetic_header(), [bad])
    with pytest.raises(
        LogFormatError, match=r"wrong\.eval: samples/s1_epoch_2\.json: messages\[2\]\.tool_calls"
    ):
        _load(InspectImporter(), wrong)

    document = json.dumps({**_synthetic_header(), "samples": [_synthetic_sample()]}, indent=2)
    truncated = tmp_path / "truncated.json"
    truncated.write_text(document[: len(document) // 2])
    with pytest.raises(LogFormatError, match=r"truncated\.json:\d+: truncated"):
        _load(InspectImporter(), truncated)


def _zstd_members(path: Path) -> dict[str, Any]:
    """The members of a log compressed with Zstandard, read here without the importer's code."""
    members = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            assert info.compress_type == 93  # Zstandard
            with path.open("rb") as handle:
                handle.seek(info.header_offset + 26)
                skip = sum(struct.unpack("<HH", handle.read(4)))
                handle.seek(skip, 1)
                raw = handle.read(info.compress_size)
            plain = zstandard.ZstdDecompressor().decompress(raw, max_output_size=info.file_size)
            members[info.filename] = json.loads(plain)
    return members


def test_inspect_logs_compressed_with_zstandard(tmp_path: Path) -> None:
    members = _zstd_members(INSPECT_ZSTD)
    header = members["header.json"]
    samples = [data for name, data in members.items() if name.startswith("samples/")]
    sessions, report = _load(InspectImporter(), INSPECT_ZSTD)
    assert report.issues == []
    assert len(sessions) == len(samples) == 4
    by_id = {session.id: session for session in sessions}
    for sample in samples:
        session = by_id[f"{header['eval']['eval_id']}_{sample['id']}_epoch_{sample['epoch']}"]
        assert [m.role for m in session.messages] == [m["role"] for m in sample["messages"]]
        assert [m.meta["id"] for m in session.messages] == [m["id"] for m in sample["messages"]]
    assert {s.source.version for s in sessions} == {header["eval"]["packages"]["inspect_ai"]}

    # Cut short after its first sample: the entries up to the break, read from local headers.
    with zipfile.ZipFile(INSPECT_ZSTD) as archive:
        infos = sorted(archive.infolist(), key=lambda info: info.header_offset)
    first = next(i for i, info in enumerate(infos) if info.filename.startswith("samples/"))
    cut = tmp_path / "cut.eval"
    cut.write_bytes(INSPECT_ZSTD.read_bytes()[: infos[first + 1].header_offset + 10])
    kept, report = _load(InspectImporter(), cut)
    name = infos[first].filename
    sample = members[name]
    assert [s.id.split("_", 1)[1] for s in kept] == [f"{sample['id']}_epoch_{sample['epoch']}"]
    assert any("central directory" in issue.message for issue in report.issues)

    # A damaged member is an error naming it, not a crash.
    data = bytearray(INSPECT_ZSTD.read_bytes())
    body = infos[first].header_offset + 30 + len(name.encode()) + 40
    data[body : body + 16] = bytes(16)
    damaged = tmp_path / "damaged.eval"
    damaged.write_bytes(bytes(data))
    with pytest.raises(LogFormatError, match=rf"damaged\.eval: {re.escape(name)}: cannot read"):
        _load(InspectImporter(), damaged, strict=True)


# ---------------------------------------------------------------------- timestamps


def _when(value: str) -> datetime:
    """A raw log timestamp as an aware datetime, parsed here independently of the importers."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("path", CLAUDE_FILES, ids=lambda p: p.name)
def test_claude_timestamps_come_from_their_lines(path: Path) -> None:
    lines = _lines(path)
    (session,), _ = _load(ClaudeCodeImporter(), path)
    by_uuid = {line["uuid"]: _when(line["timestamp"]) for line in lines if "uuid" in line}
    first_of_reply: dict[str, datetime] = {}
    for line in lines:  # one API reply is spread over lines: its first line dates it
        if line.get("type") == "assistant":
            first_of_reply.setdefault(line["message"]["id"], _when(line["timestamp"]))
    result_at = {
        block["tool_use_id"]: _when(line["timestamp"])
        for line in lines
        if line.get("type") == "user" and isinstance(line["message"]["content"], list)
        for block in line["message"]["content"]
        if block.get("type") == "tool_result"
    }
    assert all(message.timestamp is not None for message in session.messages)
    for message in session.messages:
        if message.role == "assistant":
            assert message.timestamp == first_of_reply[message.meta["message_id"]]
        elif message.role == "tool":
            assert message.tool_call_id is not None
            assert message.timestamp == result_at[message.tool_call_id]
        else:
            assert message.timestamp == by_uuid[message.meta["uuid"]]


@pytest.mark.parametrize("path", CODEX_FILES, ids=lambda p: p.name)
def test_codex_timestamps_come_from_their_lines(path: Path) -> None:
    lines = _lines(path)
    (session,), _ = _load(CodexImporter(), path)
    items = [
        (line["payload"], _when(line["timestamp"]))
        for line in lines
        if line["type"] == "response_item"
    ]
    call_at = {item["call_id"]: when for item, when in items if item["type"] == "function_call"}
    output_at = {
        item["call_id"]: when for item, when in items if item["type"] == "function_call_output"
    }
    said_at = {
        item["content"][0]["text"]: when
        for item, when in items
        if item["type"] == "message" and item["role"] == "assistant"
    }
    user_at = [when for item, when in items if item["type"] == "message" and item["role"] == "user"]
    users = [m for m in session.messages if m.role == "user"]
    assert [m.timestamp for m in users] == user_at
    for message in session.messages:
        if message.role == "assistant" and message.tool_calls:
            # A reply is dated by its first call (its reasoning item is not a message).
            assert message.timestamp == call_at[message.tool_calls[0].id]
        elif message.role == "assistant":
            assert message.timestamp == said_at[message.content]
        elif message.role == "tool":
            assert message.tool_call_id is not None
            assert message.timestamp == output_at[message.tool_call_id]
    stamps = [m.timestamp for m in session.messages if m.timestamp is not None]
    assert len(stamps) == len(session.messages) - sum(m.role == "system" for m in session.messages)
    assert stamps == sorted(stamps)


@pytest.mark.parametrize("path", INSPECT_FILES, ids=lambda p: p.name)
def test_inspect_timestamps_come_from_events(path: Path) -> None:
    samples = [v for k, v in _eval_members(path).items() if k.startswith("samples/")]
    sessions, _ = _load(InspectImporter(), path)
    for session, sample in zip(sessions, samples, strict=True):
        replied_at = {
            event["output"]["choices"][0]["message"]["id"]: _when(event["completed"])
            for event in sample["events"]
            if event["event"] == "model"
        }
        ran_at = {
            event["id"]: _when(event["completed"])
            for event in sample["events"]
            if event["event"] == "tool"
        }
        assert replied_at and ran_at
        for message in session.messages:
            if message.role == "assistant":  # the model call that produced it, when it ended
                assert message.timestamp == replied_at[message.meta["id"]]
            elif message.role == "tool":
                assert message.tool_call_id is not None
                assert message.timestamp == ran_at[message.tool_call_id]
            else:  # inspect records no time for the messages it was given
                assert message.timestamp is None


def test_inspect_orphan_results_are_warned_with_their_entry(tmp_path: Path) -> None:
    sample = _synthetic_sample()
    sample["messages"][4]["tool_call_id"] = "ghost"
    path = _write_eval(tmp_path / "orphan.eval", _synthetic_header(), [sample])
    (session,), report = _load(InspectImporter(), path)
    assert orphan_results(session) == [4]
    (issue,) = report.issues
    assert issue.where == "samples/s1_epoch_2.json: messages[4]"
    assert "'ghost'" in issue.message and "E1_s1_epoch_2" in issue.message
    json_path = tmp_path / "orphan.json"
    json_path.write_text(json.dumps({**_synthetic_header(), "samples": [sample]}))
    _, report = _load(InspectImporter(), json_path)
    assert [issue.where for issue in report.issues] == ["samples[0].messages[4]"]


@pytest.mark.parametrize("path", CODEX_FILES, ids=lambda p: p.name)
def test_codex_results_go_to_the_model_as_codex_sent_them(path: Path) -> None:
    """The importer reads each result out of its JSON, for judges and people; the candidate of
    a replay is sent the JSON again, as Codex sent it and as live Codex results are shown."""
    logged = {
        line["payload"]["call_id"]: line["payload"]["output"]
        for line in _lines(path)
        if line.get("payload", {}).get("type") == "function_call_output"
    }
    (session,), _ = _load(CodexImporter(), path)
    wrapped = [m for m in session.messages if m.meta.get("output_format") == "json"]
    assert len(wrapped) >= 10
    for message in wrapped:
        assert message.content == json.loads(logged[message.tool_call_id])["output"]
        assert message_to_wire(message)["content"] == logged[message.tool_call_id]
