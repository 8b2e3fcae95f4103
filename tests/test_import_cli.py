"""``understudy import`` from the command line: the summary table, redaction, truncation.

Runs the real CLI through typer's CliRunner on logs written fresh into tmp dirs (a secret is
planted in a new file rather than relying on sample data that may already be de-identified).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from understudy.cli import app
from understudy.jsonl import read_models
from understudy.replay.importers import iter_log_files
from understudy.trajectory import Session

DATA = Path(__file__).parent / "data" / "trajectories"
KEY = "sk-proj-" + "Zq9xW2vB" * 5
"""A planted API key (not a real one)."""
EMAIL = "dana.lee@corp.example.io"
COLUMNS = (
    "file",
    "format",
    "sessions",
    "messages",
    "tool calls",
    "orphans",
    "redacted",
    "warnings",
)


def _import(*arguments: str | Path) -> Result:
    # Wide enough that no cell of the table is folded onto a second line.
    return CliRunner().invoke(app, ["import", *(str(a) for a in arguments)], env={"COLUMNS": "400"})


def _table(stdout: str) -> dict[str, dict[str, str]]:
    """The summary table's rows by file name, as {column: cell}."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split("┃")[0].strip() == "file")
    assert [cell.strip() for cell in lines[header].split("┃")] == list(COLUMNS)
    rows: dict[str, dict[str, str]] = {}
    for line in lines[header + 2 :]:
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) != len(COLUMNS):
            break
        rows[Path(cells[0]).name] = dict(zip(COLUMNS, cells, strict=True))
    return rows


def _chat_with_secret_and_orphan() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": f"Deploy with {KEY} and tell {EMAIL} when done."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "shell",
                        "arguments": json.dumps({"cmd": f"OPENAI_API_KEY={KEY} ./deploy.sh"}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "deployed"},
        {"role": "tool", "tool_call_id": "call_gone", "content": "late output"},  # an orphan
        {"role": "assistant", "content": f"Done; mailed {EMAIL}."},
    ]


def _logs(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "chat.json").write_text(json.dumps(_chat_with_secret_and_orphan(), indent=2))
    shutil.copy(DATA / "codex" / "rollout-2025-09-25T15-12-14.jsonl", logs / "rollout.jsonl")
    return logs


def test_summary_table_per_file(tmp_path: Path) -> None:
    logs = _logs(tmp_path)
    out = tmp_path / "sessions.jsonl"
    result = _import("auto", logs, "-o", out)
    assert result.exit_code == 0, result.output
    rows = _table(result.stdout)
    assert set(rows) == {"chat.json", "rollout.jsonl"}
    chat = rows["chat.json"]
    assert chat == {
        "file": str(logs / "chat.json"),
        "format": "openai",
        "sessions": "1",
        "messages": "6",
        "tool calls": "1",
        "orphans": "1",
        "redacted": "api_key=3 email=3",  # the task (the first user message) counts too
        "warnings": "1",
    }
    # The codex row matches the sessions written (counted here from the output file).
    written = {s.source.format: s for s in read_models(out, Session)}
    codex = written["codex"]
    assert rows["rollout.jsonl"]["format"] == "codex"
    assert rows["rollout.jsonl"]["sessions"] == "1"
    assert rows["rollout.jsonl"]["messages"] == str(len(codex.messages))
    tool_calls = sum(len(m.tool_calls) for m in codex.messages)
    assert rows["rollout.jsonl"]["tool calls"] == str(tool_calls) and tool_calls > 10
    assert rows["rollout.jsonl"]["orphans"] == "0"
    assert "2 session(s) written to" in result.stdout
    # The orphan's warning names the file and field; values never reach the summary.
    assert f"warning: {logs / 'chat.json'}: [4].tool_call_id: " in result.stderr
    assert "'call_gone'" in result.stderr
    assert KEY not in result.output and EMAIL not in result.output
    # The progress bar had a total: it ends at 100%.
    assert "100%" in result.stderr


def test_no_redact_keeps_a_planted_secret_that_the_default_removes(tmp_path: Path) -> None:
    logs = _logs(tmp_path)
    redacted, raw = tmp_path / "redacted.jsonl", tmp_path / "raw.jsonl"
    first = _import("auto", logs / "chat.json", "-o", redacted)
    second = _import("auto", logs / "chat.json", "-o", raw, "--no-redact")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert KEY not in redacted.read_text() and EMAIL not in redacted.read_text()
    assert "<API_KEY_1>" in redacted.read_text()
    (session,) = read_models(raw, Session)
    assert KEY in session.messages[1].content and EMAIL in session.messages[1].content
    assert session.messages[2].tool_calls[0].arguments["cmd"] == f"OPENAI_API_KEY={KEY} ./deploy.sh"
    assert _table(first.stdout)["chat.json"]["redacted"] == "api_key=3 email=3"
    assert _table(second.stdout)["chat.json"]["redacted"] == "off"


def _truncated_native(tmp_path: Path) -> tuple[Path, list[str]]:
    lines = (DATA / "native" / "sessions.jsonl").read_text().splitlines()[:3]
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    return path, lines


def test_strict_on_a_truncated_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    path, _ = _truncated_native(tmp_path)
    out = tmp_path / "out" / "sessions.jsonl"
    out.parent.mkdir()
    result = _import("native", path, "-o", out, "--strict")
    assert result.exit_code == 1
    assert f"{path}:3: truncated last line" in result.stderr
    assert list(out.parent.iterdir()) == []  # neither the output nor a partial file


def test_truncated_file_without_strict_warns_and_keeps_earlier_sessions(tmp_path: Path) -> None:
    path, lines = _truncated_native(tmp_path)
    out = tmp_path / "sessions.jsonl"
    result = _import("auto", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"warning: {path}:3: truncated last line ignored" in result.stderr
    sessions = list(read_models(out, Session))
    assert [s.id for s in sessions] == [json.loads(line)["id"] for line in lines[:2]]
    row = _table(result.stdout)["cut.jsonl"]
    assert (row["sessions"], row["warnings"]) == ("2", "1")


def test_wrong_explicit_format_names_the_positional_argument(tmp_path: Path) -> None:
    sample = DATA / "codex" / "rollout-2025-09-25T15-12-14.jsonl"
    result = _import("swe-agent", sample, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 1
    assert "it looks like codex (use FORMAT 'codex', or auto)" in result.stderr
    assert "--format" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_walk_keeps_going_past_a_bad_file_and_exits_1(tmp_path: Path) -> None:
    logs = _logs(tmp_path)
    (logs / "notes.json").write_text('{"messages": [{"role": "us')  # a log cut short
    out = tmp_path / "sessions.jsonl"
    result = _import("auto", logs, "-o", out)
    assert result.exit_code == 1
    assert f"error: {logs / 'notes.json'}: unrecognized log format" in result.stderr
    # The table says which file failed, and how many did, not an empty file's zeros alone.
    assert _table(result.stdout)["notes.json"]["format"] == "? (failed)"
    assert "1 of 3 file(s) failed: see the errors above" in result.stderr
    assert len(list(read_models(out, Session))) == 2  # the good files were imported


def test_walk_passes_over_what_is_no_log_beside_the_logs(tmp_path: Path) -> None:
    # An agent's output directory: logs, and its README, configs and text logs.
    logs = _logs(tmp_path)
    (logs / "README.md").write_text("# runs of May\n")
    (logs / "run.info.log").write_text("INFO starting the agent\n")
    (logs / "config.yaml").write_text("agent: {}\n")
    (logs / "blank").write_bytes(b"")
    (logs / "preds.json").write_text('{"i-1": {"model_patch": "diff --git a/x b/x"}}\n')
    out = tmp_path / "sessions.jsonl"
    for options in ([], ["--strict"]):
        result = _import("auto", logs, "-o", out, *options)
        assert result.exit_code == 0, result.stderr
        assert len(list(read_models(out, Session))) == 2
        table = _table(result.stdout)
        for name in ("README.md", "run.info.log", "config.yaml", "blank", "preds.json"):
            assert table[name]["format"] == "? (not a log)"
        assert "5 file(s) passed over: not logs of a known format" in result.stderr
        assert "error" not in result.stderr
    # Named, such a file is refused as before.
    result = _import("auto", logs / "README.md", "-o", out)
    assert result.exit_code == 1
    assert "unrecognized log format" in result.stderr
    # A walk that finds no log at all says so, and fails.
    for name in ("chat.json", "rollout.jsonl"):
        (logs / name).unlink()
    result = _import("auto", logs, "-o", out)
    assert result.exit_code == 1
    assert "no log of a known format was found" in result.stderr
    # A log that holds no session yet (a Codex rollout of its first line) is still a log.
    codex = (DATA / "codex" / "rollout-2025-09-25T15-12-14.jsonl").read_text().splitlines()[0]
    (logs / "rollout.jsonl").write_text(codex + "\n")
    result = _import("auto", logs, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert _table(result.stdout)["rollout.jsonl"]["format"] == "codex"


def test_an_output_among_the_logs_is_never_read_back(tmp_path: Path) -> None:
    # `import auto . -o sessions.jsonl`: the file being written lies in the walked directory.
    # Read back as a log, it fed the import its own sessions without end (42 GB, a full disk).
    logs = _logs(tmp_path)
    out = logs / "sessions.jsonl"
    assert [path for path, _ in iter_log_files([logs], [out])] == sorted(
        path for path, _ in iter_log_files([logs]) if path != out
    )
    command = [sys.executable, "-m", "understudy", "import", "auto", str(logs), "-o", str(out)]

    def small_files() -> None:  # a regression dies at 20 MB instead of filling the disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (20 * 2**20, 20 * 2**20))

    for _ in range(2):  # the second time, the first output is in the directory too
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=small_files,
            env={**os.environ, "COLUMNS": "400"},
        )
        assert done.returncode == 0, done.stderr
        assert len(list(read_models(out, Session))) == 2
        assert sorted(_table(done.stdout)) == ["chat.json", "rollout.jsonl"]
