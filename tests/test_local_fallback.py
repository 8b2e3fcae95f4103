"""Without a Docker engine, understudy falls back to the local backend and says so loudly.

The engine is made unreachable for real: DOCKER_HOST names a unix socket nobody listens on (and
the cached engine client is dropped). The runs are real too: the `understudy` command line,
a real git repository in a tmp dir, the real openai client talking to the scripted server on
127.0.0.1, and commands running on this machine in local sandboxes. Every test checks that
nothing is left behind: no scratch directory, no process.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_prefix import DIFFERENT, MAKE_NOTE, bash, make_session
from typer.testing import CliRunner, Result

from understudy.cli import app
from understudy.jsonl import read_models, write_models
from understudy.replay.demo import make_repo
from understudy.sandbox import NO_ENGINE_FALLBACK, engine, resolve_backend
from understudy.testing import ChatRequest, ScriptedServer, ScriptedTurn
from understudy.trajectory import Provenance, Rollout

MODEL = "fallback-scripted"
ADD_2_3 = "python3 -c 'import calc; print(calc.add(2, 3))'"


@pytest.fixture
def dead_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DOCKER_HOST points at a unix socket that exists but where nothing listens."""
    path = tmp_path / "dead-docker.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))  # bound, never listening: connections are refused
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    monkeypatch.setattr(engine, "_client", None)  # a client cached by earlier tests
    return str(path)


def processes_under(directory: Path) -> list[str]:
    """Processes of this machine whose working directory lies under ``directory``."""
    found = []
    for cwd_link in Path("/proc").glob("[0-9]*/cwd"):
        try:
            cwd = os.readlink(cwd_link)
        except OSError:
            continue
        if cwd.startswith(str(directory)):
            found.append(f"{cwd_link.parent.name}: {cwd}")
    return found


@pytest.fixture(name="scratch")
def scratch_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary directories and the local cache go under tmp_path; afterwards no scratch
    directory is left and no process still works in one."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield temp
    assert sorted(path.name for path in temp.iterdir()) == []
    # (A test's own git repositories may have git helpers running: they are not looked at.)
    assert processes_under(temp) == []
    assert processes_under(tmp_path / "cache") == []


def invoke(*arguments: str | Path) -> Result:
    return CliRunner().invoke(app, [str(argument) for argument in arguments])


# -- choosing the backend ----------------------------------------------------------------------


def test_auto_resolves_to_local_and_warns_without_an_engine(
    dead_engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert resolve_backend("auto") == "local"
    logged = capsys.readouterr().err
    assert "falling back to the local backend" in logged
    assert "NO isolation" in logged

    warnings: list[str] = []
    assert resolve_backend("auto", warn=warnings.append) == "local"
    assert warnings == [NO_ENGINE_FALLBACK]
    assert resolve_backend("docker") == "docker"  # asked for by name: not second-guessed


# -- understudy run ----------------------------------------------------------------------------


def candidate_policy(request: ChatRequest) -> ScriptedTurn:
    """Reads the prefix's note and runs the code, fixes add(), runs it again, reports."""
    last_user = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    done = sum(m["role"] == "tool" for m in request.messages[last_user:])
    if done == 0:
        return ScriptedTurn(
            content="Looking around.",
            tool_calls=[("bash", {"command": f"cat build/note.txt; {ADD_2_3}"})],
        )
    if done == 1:
        edit = {
            "command": "str_replace",
            "path": "/workspace/calc.py",
            "old_str": "a - b",
            "new_str": "a + b",
        }
        return ScriptedTurn(content="Fixing add().", tool_calls=[("str_replace_editor", edit)])
    if done == 2:
        return ScriptedTurn(content="Checking.", tool_calls=[("bash", {"command": ADD_2_3})])
    return ScriptedTurn(content="add() is fixed.")


@pytest.fixture
def sessions_file(tmp_path: Path) -> Path:
    """One session whose prefix made build/note.txt in a real git repository."""
    repo = make_repo(tmp_path / "repos", "calc")
    path = tmp_path / "sessions.jsonl"
    with path.open("w") as handle:
        write_models(handle, [make_session(repo, [MAKE_NOTE], "local-run")])
    return path


def test_run_falls_back_to_the_local_backend_and_completes_a_rollout(
    dead_engine: str, scratch: Path, sessions_file: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    with ScriptedServer(candidate_policy, models=[MODEL]) as server:
        result = invoke(
            "run", sessions_file, "--model", MODEL, "--base-url", server.base_url, "-o", run_dir
        )
    assert result.exit_code == 0, result.output
    assert "WARNING: no Docker engine answers" in result.stderr
    assert "NO isolation" in result.stderr
    assert json.loads((run_dir / "run.json").read_text())["config"]["settings"]["backend"] == (
        "local"
    )

    [rollout] = list(read_models(run_dir / "rollouts.jsonl", Rollout))
    assert rollout.status == "completed", rollout.error
    tools = [message for message in rollout.messages if message.role == "tool"]
    assert [message.provenance for message in tools] == [Provenance.EXECUTED] * 3
    assert tools[0].content.splitlines()[:2] == ["hello", "-1"]  # the prefix's note; the bug
    assert tools[2].content.splitlines()[0] == "5"  # the edit really changed calc.py
    changed = {change["path"]: change["kind"] for change in rollout.meta["changed_files"]}
    assert changed["/workspace/calc.py"] == "modified"
    # Relative to the state at the cut: the prefix's own file is not the candidate's change.
    assert "/workspace/build/note.txt" not in changed
    prefix = rollout.meta["prefix"]
    assert (prefix["compared"], prefix["matched"], prefix["cached"]) == (1, 1, False)
    assert rollout.env_fidelity == 1.0
    # The original repository is untouched: the sandbox worked on a copy.
    assert "a - b" in (tmp_path / "repos" / "calc" / "calc.py").read_text()


def test_run_with_docker_asked_for_and_no_engine_is_the_engine_error(
    dead_engine: str, sessions_file: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = invoke(
        "run", sessions_file, "--model", MODEL, "--base-url", "http://127.0.0.1:9/v1",
        "-o", run_dir, "--sandbox", "docker",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "error: no Docker engine answers" in result.stderr
    assert "--sandbox local" in result.stderr
    assert not run_dir.exists()  # refused before anything was written


# -- understudy fidelity -----------------------------------------------------------------------


def test_fidelity_with_the_local_backend(dead_engine: str, scratch: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repos", "calc")
    read_note = bash("c-read", "cat build/note.txt", "hello\n")
    session = make_session(repo, [MAKE_NOTE, DIFFERENT, read_note], "local-fidelity")
    sessions = tmp_path / "sessions.jsonl"
    with sessions.open("w") as handle:
        write_models(handle, [session])

    result = invoke("fidelity", sessions, "--sandbox", "local", "--json")
    assert result.exit_code == 0, result.output
    assert "NO isolation" in result.stderr
    [measured] = json.loads(result.stdout)["sessions"]
    assert measured["error"] is None
    assert (measured["compared"], measured["matched"]) == (3, 2)
    assert [(m["call_id"], m["reason"]) for m in measured["mismatches"]] == [
        ("c-echo", "output differs")
    ]
