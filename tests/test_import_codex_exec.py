"""Codex CLI's headless output (``codex exec --json``), read by the Codex importer.

The sample is the one Codex's documentation gives (see ``data/trajectories/SOURCES.md``); the
other item types are written here in the shapes ``codex-rs/exec/src/exec_events.rs`` defines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from understudy.replay.importers import ImportReport, detect_format
from understudy.replay.importers.codex import CodexImporter
from understudy.tools.adapters import find_adapter

SAMPLE = Path(__file__).parent / "data" / "trajectories" / "codex" / "exec-json-readme.jsonl"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _item(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "item": item}


def test_the_documented_sample_is_one_session() -> None:
    lines = _lines(SAMPLE)
    assert detect_format(SAMPLE) == "codex"
    report = ImportReport()
    (session,) = CodexImporter().load(SAMPLE, report)
    assert session.id == lines[0]["thread_id"]
    assert session.source.format == "codex" and session.source.agent == "codex"
    assert session.task == ""  # the prompt was the command's argument
    assert session.meta["usage"] == lines[-1]["usage"]
    completed = {line["item"]["id"]: line["item"] for line in lines if "item" in line}
    command = completed["item_1"]
    call_message, result, reply = session.messages
    assert call_message.reasoning == completed["item_0"]["text"]
    (call,) = call_message.tool_calls
    assert (call.id, call.name, call.arguments) == (
        "item_1",
        "shell",
        {"command": ["bash", "-lc", "ls"]},
    )
    assert result.tool_call_id == "item_1" and result.content == command["aggregated_output"]
    assert result.meta["exit_code"] == 0 and not result.is_error
    assert reply.content == completed["item_3"]["text"]
    assert reply.reasoning == completed["item_2"]["text"]
    assert not report.issues
    # The call is Codex's own ``shell`` shape: its adapter replays the script.
    adapter = find_adapter("shell", "codex")
    assert adapter.translate("shell", call.arguments).arguments["command"] == "ls"


def test_every_item_type(tmp_path: Path) -> None:
    lines = [
        {"type": "thread.started", "thread_id": "t-1"},
        {"type": "turn.started"},
        _item(
            "item.completed",
            {
                "id": "i0",
                "type": "command_execution",
                "command": "bash -lc 'pytest -q'",
                "aggregated_output": "1 failed",
                "exit_code": 1,
                "status": "failed",
            },
        ),
        _item(
            "item.completed",
            {
                "id": "i1",
                "type": "file_change",
                "status": "completed",
                "changes": [
                    {"path": "src/a.py", "kind": "update"},
                    {"path": "b.py", "kind": "add"},
                ],
            },
        ),
        _item(
            "item.completed",
            {
                "id": "i2",
                "type": "mcp_tool_call",
                "server": "docs",
                "tool": "search",
                "arguments": {"q": "x"},
                "status": "completed",
                "error": None,
                "result": {
                    "content": [{"type": "text", "text": "found"}],
                    "structured_content": None,
                },
            },
        ),
        _item(
            "item.completed",
            {
                "id": "i3",
                "type": "web_search",
                "query": "pytest fixtures",
                "action": {"type": "search"},
            },
        ),
        _item(
            "item.completed",
            {
                "id": "i4",
                "type": "todo_list",
                "items": [{"text": "fix", "completed": True}, {"text": "test", "completed": False}],
            },
        ),
        _item("item.completed", {"id": "i5", "type": "error", "message": "Reconnecting... 1/5"}),
        {"type": "error", "message": "stream disconnected"},
        {
            "type": "turn.completed",
            "usage": {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 2},
        },
        {"type": "turn.started"},
        _item(
            "item.started",
            {
                "id": "i0",  # numbered again in a later turn
                "type": "command_execution",
                "command": "bash -lc 'sleep 600'",
                "aggregated_output": "",
                "exit_code": None,
                "status": "in_progress",
            },
        ),
        {"type": "turn.failed", "error": {"message": "interrupted"}},
    ]
    (session,) = CodexImporter().load(_write(tmp_path / "codex.jsonl", lines), ImportReport())
    calls = {c.id: c for m in session.messages for c in m.tool_calls}
    results = {m.tool_call_id: m for m in session.messages if m.role == "tool"}
    assert [c.name for c in calls.values()] == [
        "shell",
        "file_change",
        "docs__search",
        "web_search",
        "update_plan",
        "shell",
    ]
    assert results["i0"].is_error and results["i0"].meta["exit_code"] == 1
    assert calls["i1"].arguments["changes"][0] == {"path": "src/a.py", "kind": "update"}
    assert results["i1"].content == "update src/a.py\nadd b.py"
    assert calls["i2"].arguments == {"q": "x"} and results["i2"].content == "found"
    assert calls["i4"].arguments["plan"] == [
        {"step": "fix", "status": "completed"},
        {"step": "test", "status": "pending"},
    ]
    # No result is in the output for a search or a plan, nor for a command cut short.
    assert set(results) == {"i0", "i1", "i2"}
    assert session.meta["errors"] == ["Reconnecting... 1/5", "stream disconnected", "interrupted"]
    assert session.meta["usage"]["input_tokens"] == 10
    assert calls["i0-turn2"].arguments == {"command": ["bash", "-lc", "sleep 600"]}
