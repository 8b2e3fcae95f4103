"""Claude Code's headless output (``claude -p --verbose --output-format stream-json``), as a
harness records it, read by the Claude Code importer.

The sample is a real run's ``agent/claude-code.txt`` (see ``data/trajectories/SOURCES.md``): its
checks count from the raw lines, independently of the importer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from understudy.errors import LogFormatError
from understudy.replay.importers import ImportReport, detect_format, import_paths
from understudy.replay.importers.claude_code import ClaudeCodeImporter

SAMPLE = Path(__file__).parent / "data" / "trajectories" / "claude-code"
HEADLESS = SAMPLE / "exoplanet-detection-headless.txt"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_headless_run_is_read_as_its_session() -> None:
    lines = _lines(HEADLESS)
    init = lines[0]
    assert init["type"] == "system" and init["subtype"] == "init"
    assert detect_format(HEADLESS) == "claude-code"
    report = ImportReport()
    (session,) = ClaudeCodeImporter().load(HEADLESS, report)
    assert session.id == init["session_id"]
    assert session.source.version == init["claude_code_version"]
    assert session.env.workdir == init["cwd"]
    assert session.source.model == lines[1]["message"]["model"]
    assert session.task == ""  # the prompt was the command's argument, not a line

    blocks = [
        (line, block)
        for line in lines
        if line["type"] in ("assistant", "user")
        for block in line["message"]["content"]
    ]
    calls = [block["id"] for _, block in blocks if block["type"] == "tool_use"]
    results = [(line, block) for line, block in blocks if block["type"] == "tool_result"]
    message_ids = {line["message"]["id"] for line in lines if line["type"] == "assistant"}
    assistants = [m for m in session.messages if m.role == "assistant"]
    assert len(assistants) == len(message_ids)
    assert [c.id for m in assistants for c in m.tool_calls] == calls
    tools = [m for m in session.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tools] == [block["tool_use_id"] for _, block in results]
    assert [m.is_error for m in tools] == [block.get("is_error") is True for _, block in results]
    # The run was stopped during its last call: one call without a result, no orphan result.
    assert len(calls) - len(results) == 1 and report.orphan_results == 0
    # The line's structured result (``tool_use_result``) is kept as the session log's is.
    bash = next(m for m in tools if m.content == "16673 /root/data/tess_lc.txt")
    assert bash.meta["tool_use_result"]["stdout"] == "16673 /root/data/tess_lc.txt"
    assert not report.issues


def test_a_subagents_lines_and_the_result_line(tmp_path: Path) -> None:
    """A line with ``parent_tool_use_id`` belongs to the subagent of that ``Task`` call; the
    ``result`` line says how the run ended."""
    lines = _lines(HEADLESS)
    first = next(line for line in lines if line["type"] == "assistant")
    subagent = json.loads(json.dumps(first))
    subagent["parent_tool_use_id"] = "toolu_task_1"
    subagent["uuid"] = "sub-1"
    subagent["message"]["id"] = "msg_sub_1"
    result = {
        "type": "result",
        "subtype": "error_max_turns",
        "is_error": True,
        "num_turns": 9,
        "duration_ms": 61000,
        "result": "the last reply, repeated",
        "session_id": first["session_id"],
        "total_cost_usd": 0.4,
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }
    limit = {"type": "rate_limit_event", "session_id": first["session_id"], "uuid": "r-1"}
    path = _write(tmp_path / "claude-code.txt", [*lines, subagent, limit, result])
    report = ImportReport()
    main, side = ClaudeCodeImporter().load(path, report)
    assert side.id == f"{main.id}-agent-toolu_task_1"
    assert side.meta["sidechain"] is True and side.meta["parent_session"] == main.id
    assert [m.meta["message_id"] for m in side.messages] == ["msg_sub_1"]
    assert "msg_sub_1" not in [m.meta.get("message_id") for m in main.messages]
    assert main.meta["result"] == {
        "subtype": "error_max_turns",
        "is_error": True,
        "num_turns": 9,
        "duration_ms": 61000,
        "total_cost_usd": 0.4,
    }
    assert main.meta["ignored_lines"] == {"rate_limit_event": 1}
    assert not report.issues  # no line type went unrecognized


def test_a_harness_trial_folder_imports_its_transcript_and_passes_over_the_rest(
    tmp_path: Path,
) -> None:
    """A trial folder as harnesses write it: the transcript beside the setup's output and the
    trial's config and result."""
    trial = tmp_path / "trial"
    (trial / "agent" / "setup").mkdir(parents=True)
    (trial / "agent" / "claude-code.txt").write_bytes(HEADLESS.read_bytes())
    (trial / "agent" / "setup" / "stdout.txt").write_text("Setting up claude-code...\ndone\n")
    (trial / "config.json").write_text(json.dumps({"task": {"path": "exoplanet"}}))
    (trial / "result.json").write_text(json.dumps({"reward": 0.0}))
    reports: dict[Path, ImportReport] = {}
    sessions = [session for _, session in import_paths([trial], reports=reports)]
    assert [s.id for s in sessions] == [_lines(HEADLESS)[0]["session_id"]]
    skipped = {path.name for path, report in reports.items() if report.skipped}
    assert skipped == {"stdout.txt", "config.json", "result.json"}
    assert not any(report.error for report in reports.values())


def test_the_json_output_format_reads_as_the_stream(tmp_path: Path) -> None:
    """``--output-format json --verbose`` prints the stream's lines as one list on one line:
    the same session, and a problem in it is named by its element."""
    lines = _lines(HEADLESS)
    listed = tmp_path / "claude-output.json"
    listed.write_text(json.dumps(lines, separators=(",", ":")))
    assert detect_format(listed) == "claude-code"
    (from_list,) = ClaudeCodeImporter().load(listed, ImportReport())
    (from_stream,) = ClaudeCodeImporter().load(HEADLESS, ImportReport())
    assert from_list.model_dump(exclude={"source"}) == from_stream.model_dump(exclude={"source"})
    broken = [*lines[:3], {**lines[3], "message": "not an object"}]
    listed.write_text(json.dumps(broken, separators=(",", ":")))
    with pytest.raises(LogFormatError, match=r"claude-output\.json:1: message: expected an object"):
        list(ClaudeCodeImporter().load(listed, ImportReport()))


def test_lines_without_parent_tool_use_id_after_the_init_line(tmp_path: Path) -> None:
    """Versions whose lines carry no ``parent_tool_use_id`` are told by the init line."""
    lines = _lines(HEADLESS)
    for line in lines:
        line.pop("parent_tool_use_id", None)
    path = _write(tmp_path / "claude-code.txt", lines)
    assert detect_format(path) == "claude-code"
    (session,) = ClaudeCodeImporter().load(path, ImportReport())
    (original,) = ClaudeCodeImporter().load(HEADLESS, ImportReport())
    assert session.model_dump(exclude={"source"}) == original.model_dump(exclude={"source"})
    # Without the init line, such lines are no one's: nothing else is named so.
    path = _write(tmp_path / "bare.txt", lines[1:])
    assert ClaudeCodeImporter().detect(path) is False
