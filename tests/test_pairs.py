"""The pair database: built from real logs, idempotent, upgraded from version 1, de-identified
only, searchable by tool and text, and driven through ``understudy pairs``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.jsonl import write_models
from understudy.replay.importers import import_paths
from understudy.replay.pairs import (
    SCHEMA_VERSION,
    NotDeidentifiedError,
    build_from_sessions,
    connect,
    migrate,
    nearest,
    pair_id,
    pair_stats,
    schema_version,
)
from understudy.replay.pairs.build import session_pairs
from understudy.replay.pairs.schema import SCHEMA_V1
from understudy.replay.run_pairs import RUN_PAIRS, RUN_PAIRS_SOURCE, build_run_pairs
from understudy.replay.simulate import SimulatorConfig
from understudy.trajectory import Message, Session, SourceInfo, ToolCall

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "trajectories"
SAMPLES = ROOT / "tests" / "data" / "trajectories"


def imported(*paths: Path, redact: bool = True) -> list[tuple[str, Session]]:
    return [(str(p), s) for p, s in import_paths(paths, fmt="auto", redact=redact, reports={})]


def shell_session(session_id: str, commands: dict[str, str], agent: str = "claude-code") -> Session:
    """A session whose assistant runs each command with Claude Code's ``Bash``; the dict maps
    the command to the output recorded for it."""
    messages = [Message(role="user", content="do it")]
    for number, (command, output) in enumerate(commands.items()):
        call = ToolCall(id=f"c{number}", name="Bash", arguments={"command": command})
        messages.append(Message(role="assistant", tool_calls=[call]))
        messages.append(Message(role="tool", tool_call_id=call.id, name="Bash", content=output))
    return Session(id=session_id, source=SourceInfo(format=agent, agent=agent), messages=messages)


def read_session(session_id: str, paths: list[str]) -> Session:
    messages = [Message(role="user", content="read")]
    for number, path in enumerate(paths):
        call = ToolCall(id=f"r{number}", name="Read", arguments={"file_path": path})
        messages.append(Message(role="assistant", tool_calls=[call]))
        messages.append(Message(role="tool", tool_call_id=call.id, content=f"     1→{path}"))
    source = SourceInfo(format="claude-code", agent="claude-code")
    return Session(id=session_id, source=source, messages=messages)


def count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM pairs").fetchone()[0])


# -- building ----------------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/trajectories is absent")
def test_the_real_shared_logs_build_and_rebuild_to_the_same_pairs(tmp_path: Path) -> None:
    sessions = imported(SHARED)
    database = tmp_path / "pairs.db"
    first = build_from_sessions(database, sessions)
    expected = sum(1 for _, session in sessions for _ in session_pairs(session))
    assert first == {"added": expected, "updated": 0, "unchanged": 0}
    assert expected > 100
    assert build_from_sessions(database, sessions) == {
        "added": 0, "updated": 0, "unchanged": expected,
    }  # fmt: skip
    assert count(database) == expected
    stats = pair_stats(database)
    assert stats["schema_version"] == SCHEMA_VERSION
    assert stats["per_tool"]["shell"] > 50
    assert {"swe-agent", "mini-swe-agent", "codex", "claude-code"} <= set(stats["per_format"])


def test_the_sample_logs_give_pairs_with_what_the_adapters_know(tmp_path: Path) -> None:
    folders = ("claude-code", "mini-swe-agent", "swe-agent", "codex", "openhands")
    database = tmp_path / "pairs.db"
    counts = build_from_sessions(database, imported(*(SAMPLES / name for name in folders)))
    assert counts["added"] == count(database) > 50
    assert build_from_sessions(database, imported(*(SAMPLES / n for n in folders)))["added"] == 0
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        shell = connection.execute(
            "SELECT * FROM pairs WHERE canonical_tool = 'shell' AND script IS NOT NULL"
        ).fetchone()
        read = connection.execute("SELECT * FROM pairs WHERE tool = 'Read'").fetchone()
    assert shell["script"] and json.loads(shell["arguments"])
    assert shell["result"] and shell["format"] and shell["session_id"]
    assert read["canonical_tool"] == "read_file"
    assert "path" in json.loads(read["canonical_arguments"])
    assert read["output"] is not None
    assert read["pair_id"] == pair_id(read["session_id"], read["call_id"])


def test_a_changed_result_updates_its_pair_in_place(tmp_path: Path) -> None:
    database = tmp_path / "pairs.db"
    before = shell_session("s1", {"ls": "a.txt", "pwd": "/repo"})
    assert build_from_sessions(database, [("f", before)])["added"] == 2
    after = before.model_copy(deep=True)
    after.messages[2].content = "a.txt\nb.txt"
    after.messages[2].meta["exit_code"] = 0
    assert build_from_sessions(database, [("f", after)]) == {
        "added": 0, "updated": 1, "unchanged": 1,
    }  # fmt: skip
    assert count(database) == 2
    with sqlite3.connect(database) as connection:
        result, exit_code = connection.execute(
            "SELECT result, exit_code FROM pairs WHERE pair_id = ?", (pair_id("s1", "c0"),)
        ).fetchone()
        (fts_rows,) = connection.execute("SELECT COUNT(*) FROM pairs_fts").fetchone()
    assert (result, exit_code) == ("a.txt\nb.txt", 0)
    assert fts_rows == 2


# -- schema versions ---------------------------------------------------------------------------


def test_a_version_1_file_is_migrated_and_its_pairs_updated_once(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    old = sqlite3.connect(database)
    old.executescript(SCHEMA_V1 + "PRAGMA user_version = 1;")
    old.execute(
        "INSERT INTO pairs (pair_id, session_id, call_id, message_index, tool, arguments, result,"
        " is_error, format) VALUES (?, 's1', 'c0', 2, 'Bash', '{}', 'old', 0, 'claude-code')",
        (pair_id("s1", "c0"),),
    )
    old.execute("INSERT INTO pairs_fts (rowid, tool_key, text) VALUES (1, 'x', 'ls')")
    old.commit()
    old.close()

    connection = connect(str(database))
    assert schema_version(connection) == SCHEMA_VERSION == 2
    columns = {row[1] for row in connection.execute("PRAGMA table_info(pairs)")}
    indexes = {row[1] for row in connection.execute("PRAGMA index_list(pairs)")}
    assert "digest" in columns and "pairs_session" in indexes
    assert migrate(connection) == 2  # nothing left to do
    connection.close()

    session = shell_session("s1", {"ls": "a.txt"})
    assert build_from_sessions(database, [("f", session)])["updated"] == 1  # no digest before
    assert build_from_sessions(database, [("f", session)])["unchanged"] == 1
    assert count(database) == 1


def test_a_newer_or_foreign_file_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(Exception, match="schema version 3"):
        connect(str(newer))
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database at all, just text " * 10)
    with pytest.raises(Exception, match="not a pair database"):
        connect(str(garbage))


# -- de-identification -------------------------------------------------------------------------


def test_sessions_imported_without_de_identification_are_refused(tmp_path: Path) -> None:
    raw = imported(SAMPLES / "claude-code" / "full-session-two.jsonl", redact=False)
    with pytest.raises(NotDeidentifiedError) as caught:
        build_from_sessions(tmp_path / "pairs.db", raw)
    message = str(caught.value)
    assert "full-session-two.jsonl" in message and raw[0][1].id in message
    assert "user" in message  # the kind, never the value
    assert "Users/" not in message.split("would redact")[1]


def test_a_session_that_says_it_was_not_de_identified_is_refused(tmp_path: Path) -> None:
    session = shell_session("s1", {"ls": "a"}).model_copy(update={"meta": {"deidentified": False}})
    with pytest.raises(NotDeidentifiedError, match="s1"):
        build_from_sessions(tmp_path / "pairs.db", [("file.jsonl", session)])


# -- retrieval ---------------------------------------------------------------------------------


def test_a_shell_call_finds_the_most_similar_command_first(tmp_path: Path) -> None:
    database = tmp_path / "pairs.db"
    commands = {
        "pytest tests/test_models.py -x -q": "3 passed",
        "git status --short": " M a.py",
        "ls -la src": "total 0",
        "cat README.md": "# title",
        "pytest tests/test_views.py": "1 failed",
    }
    build_from_sessions(database, [("f", shell_session("s1", commands))])
    build_from_sessions(database, [("f", read_session("s2", ["/repo/tests/test_models.py"]))])
    connection = connect(str(database))
    call = ToolCall(id="q", name="Bash", arguments={"command": "pytest tests/test_models.py -q"})
    found = nearest(connection, call, "claude-code", k=3)
    assert found[0].script == "pytest tests/test_models.py -x -q"
    assert found[0].output == "3 passed" and found[0].same_tool
    assert found[1].script == "pytest tests/test_views.py"
    assert [n.score for n in found] == sorted(n.score for n in found)
    # Fewer shell pairs share a word than asked for: the Read of that path fills in, after them.
    wide = nearest(connection, call, "claude-code", k=10)
    assert [n.tool for n in wide if not n.same_tool] == ["Read"]
    assert wide[-1].tool == "Read"
    connection.close()


def test_a_read_of_a_path_finds_reads_of_that_path(tmp_path: Path) -> None:
    database = tmp_path / "pairs.db"
    paths = ["/repo/src/app/models.py", "/repo/src/app/views.py", "/repo/docs/index.md"]
    build_from_sessions(database, [("f", read_session("s1", paths))])
    build_from_sessions(database, [("f", shell_session("s2", {"cat /repo/src/app/views.py": "x"}))])
    connection = connect(str(database))
    call = ToolCall(id="q", name="Read", arguments={"file_path": "/repo/src/app/views.py"})
    found = nearest(connection, call, "claude-code", k=2)
    assert found[0].canonical_tool == "read_file"
    assert found[0].canonical_arguments is not None
    assert found[0].canonical_arguments["path"] == "/repo/src/app/views.py"
    assert all(n.same_tool for n in found)  # two reads match: the shell cat is not needed
    # A call with no words to match by stands in with the latest pairs of its logged tool.
    empty = nearest(connection, ToolCall(id="e", name="Read", arguments={}), "claude-code")
    assert empty and all(n.tool == "Read" and n.score == 0.0 for n in empty)
    unknown = ToolCall(id="u", name="Teleport", arguments={"to": "zzqx"})
    assert nearest(connection, unknown, "claude-code") == []
    connection.close()


def test_retrieval_sees_pairs_built_after_the_connection_was_opened(tmp_path: Path) -> None:
    database = tmp_path / "pairs.db"
    build_from_sessions(database, [("f", shell_session("s1", {"make build": "ok"}))])
    connection = connect(str(database))
    call = ToolCall(id="q", name="Bash", arguments={"command": "make release"})
    assert [n.script for n in nearest(connection, call, "claude-code")] == ["make build"]
    build_from_sessions(database, [("f", shell_session("s2", {"make release": "done"}))])
    found = nearest(connection, call, "claude-code")
    assert [n.script for n in found] == ["make release", "make build"]
    connection.close()


# -- the command line --------------------------------------------------------------------------


def invoke(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments), env={"COLUMNS": "400"})
    return result.exit_code, result.output


def test_pairs_build_and_stats_through_the_cli(tmp_path: Path) -> None:
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w", encoding="utf-8") as handle:
        write_models(
            handle, [shell_session("s1", {"ls": "a", "pwd": "/"}), read_session("s2", ["/a"])]
        )
    database = tmp_path / "pairs.db"
    code, output = invoke("pairs", "build", str(sessions_file), "-o", str(database))
    assert code == 0, output
    assert "3 pair(s) added, 0 updated, 0 unchanged" in output
    code, output = invoke("pairs", "build", str(sessions_file), "-o", str(database))
    assert "0 pair(s) added, 0 updated, 3 unchanged" in output
    code, output = invoke("pairs", "stats", str(database), "--json")
    assert code == 0, output
    stats = json.loads(output)
    assert stats["pairs"] == 3 and stats["schema_version"] == SCHEMA_VERSION
    assert stats["per_tool"] == {"shell": 2, "read_file": 1}
    assert stats["per_agent"] == {"claude-code": 3}
    code, output = invoke("pairs", "stats", str(database))
    assert code == 0 and "3 pair(s) from 2 session(s)" in output and "read_file" in output


def test_the_cli_names_a_missing_file_and_a_refused_session(tmp_path: Path) -> None:
    code, output = invoke("pairs", "build", str(tmp_path / "nope.jsonl"), "-o", "x.db")
    assert code == 1 and "nope.jsonl: no such file" in output
    raw_file = tmp_path / "raw.jsonl"
    raw = imported(SAMPLES / "claude-code" / "full-session-two.jsonl", redact=False)
    with raw_file.open("w", encoding="utf-8") as handle:
        write_models(handle, [session for _, session in raw])
    code, output = invoke("pairs", "build", str(raw_file), "-o", str(tmp_path / "p.db"))
    assert code == 1 and "raw.jsonl" in output and "not de-identified" in output
    code, output = invoke("pairs", "stats", str(tmp_path / "absent.db"))
    assert code == 1 and "absent.db: no such file" in output


def test_a_run_builds_its_pair_database_again_only_when_its_input_changed(
    tmp_path: Path,
) -> None:
    config = SimulatorConfig()
    first = [shell_session("s1", {"make build": "ok"})]
    build_run_pairs(config, first, tmp_path, "digest-1")
    assert count(tmp_path / RUN_PAIRS) == 1
    # The same sessions again (a --resume): the database is left as it is. Told the same digest,
    # even other sessions are not read, which shows that nothing was built.
    second = [*first, shell_session("s2", {"make test": "passed"})]
    build_run_pairs(config, second, tmp_path, "digest-1")
    assert count(tmp_path / RUN_PAIRS) == 1
    # Other sessions: brought up to date.
    build_run_pairs(config, second, tmp_path, "digest-2")
    assert count(tmp_path / RUN_PAIRS) == 2
    # A database changed since it was built (rows lost) is built again, as is a lost record.
    with sqlite3.connect(tmp_path / RUN_PAIRS) as database:
        database.executescript("DELETE FROM pairs; DELETE FROM pairs_fts;")
    build_run_pairs(config, second, tmp_path, "digest-2")
    assert count(tmp_path / RUN_PAIRS) == 2
    (tmp_path / RUN_PAIRS).unlink()
    build_run_pairs(config, second, tmp_path, "digest-2")
    assert count(tmp_path / RUN_PAIRS) == 2
    # A damaged record: built again (the third session shows it was, as above).
    (tmp_path / RUN_PAIRS_SOURCE).write_text("{torn")
    third = [*second, shell_session("s3", {"make lint": "clean"})]
    build_run_pairs(config, third, tmp_path, "digest-2")
    assert count(tmp_path / RUN_PAIRS) == 3
