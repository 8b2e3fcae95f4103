"""The state at the cut: the prefix's recorded calls re-executed in a real sandbox, compared with
the recording, snapshotted once and shared by the samples of a run."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import SandboxFileNotFoundError
from understudy.jsonl import write_models
from understudy.logging import configure_logging
from understudy.replay.candidate import OpenAICandidate
from understudy.replay.demo import BASH, EDITOR, make_repo
from understudy.replay.prefix import plan_prefix, prefix_recipe, restore_prefix, session_agent
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envbuilder import EnvBuilder
from understudy.testing import ChatRequest, ScriptedServer, ScriptedTurn
from understudy.tools.adapters import find_adapter, is_read_only, normalize_agent
from understudy.trajectory import (
    EnvSpec,
    Message,
    RepoSpec,
    Rollout,
    Session,
    SourceInfo,
    ToolCall,
)

Step = tuple[ToolCall, str, dict[str, object]]


def bash(call_id: str, command: str, output: str, **meta: object) -> Step:
    return ToolCall(id=call_id, name="bash", arguments={"command": command}), output, meta


def editor(call_id: str, output: str, **arguments: object) -> Step:
    return ToolCall(id=call_id, name="str_replace_editor", arguments=arguments), output, {}


def opaque(call_id: str, output: str) -> Step:
    return ToolCall(id=call_id, name="deploy", arguments={"target": "staging"}), output, {}


MAKE_NOTE = bash(
    "c-make",
    "mkdir -p build && printf 'hello\\n' > build/note.txt && echo made build/note.txt",
    "made build/note.txt\n",
)
# Recorded on another day in other temp dirs: only timestamps and temp paths differ from live.
VOLATILE = bash(
    "c-volatile",
    "date -u; date -u +%Y-%m-%dT%H:%M:%SZ; mktemp -d; "
    "python3 -c 'import tempfile; print(tempfile.mkdtemp())'",
    "Tue Mar  2 04:05:06 UTC 2021\n2021-03-02T04:05:06Z\n/tmp/tmp.Q2w3E4r5T6\n/tmp/tmpq2w_3e4r\n",
)
# Read-only, so skipped: its (deliberately wrong) recording must not count.
VIEW = editor("c-view", "nothing like the real file", command="view", path="/workspace/calc.py")
CREATE_NOTES = editor(
    "c-create",
    "File created successfully at: /workspace/notes.md",
    command="create",
    path="/workspace/notes.md",
    file_text="remember the milk\n",
)
ENTER_BUILD = bash("c-cd", "cd build && export GREETING=hi && pwd", "/workspace/build\n")
# Really different: the recording says TWO where the live run says two.
DIFFERENT = bash("c-echo", "echo one; echo two", "one\nTWO\n")
MISSING = bash("c-missing", "cat missing.txt", "contents of missing.txt\n", exit_code=0)
DEPLOY = opaque("c-deploy", "deployed to staging")
AFTER = bash("c-after", "touch after.txt && echo after", "after\n")


def make_session(repo: Path, steps: list[Step], session_id: str = "prefix-demo") -> Session:
    """A session whose first user turn ran ``steps``; the last user turn is the cut."""
    messages = [
        Message(role="system", content="You are a careful engineer."),
        Message(role="user", content="Prepare the workspace."),
    ]
    for call, output, meta in steps:
        messages.append(Message(role="assistant", content="", tool_calls=[call]))
        messages.append(
            Message(role="tool", tool_call_id=call.id, name=call.name, content=output, meta=meta)
        )
    messages += [
        Message(role="assistant", content="Prepared."),
        Message(role="user", content="Now show me what is there."),
    ]
    return Session(
        id=session_id,
        source=SourceInfo(format="native", agent="understudy-demo", model="recorded"),
        env=EnvSpec(repo=RepoSpec(path=str(repo)), workdir="/workspace"),
        tools=[BASH, EDITOR],
        messages=messages,
    )


def result_index(session: Session, call_id: str) -> int:
    return next(i for i, m in enumerate(session.messages) if m.tool_call_id == call_id)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repos", "calc")


@pytest.fixture
async def env_sandbox(repo: Path, base_image: str, run_id: str) -> AsyncIterator[DockerSandbox]:
    """A sandbox of the repository's env image, as the runner starts one before the prefix."""
    env = await EnvBuilder(run_id=run_id).build(EnvSpec(repo=RepoSpec(path=str(repo))))
    config = SandboxConfig(image=env.image, workdir="/workspace", run_id=run_id)
    async with await DockerSandbox.start(config) as sandbox:
        yield sandbox


@pytest.mark.docker
async def test_state_changing_calls_are_reexecuted_and_read_only_ones_skipped(
    repo: Path, env_sandbox: DockerSandbox
) -> None:
    session = make_session(repo, [MAKE_NOTE, VOLATILE, VIEW, CREATE_NOTES, ENTER_BUILD])
    state = await restore_prefix(session, len(session.messages), env_sandbox)

    assert await env_sandbox.read_file("/workspace/build/note.txt") == b"hello\n"
    assert await env_sandbox.read_file("/workspace/notes.md") == b"remember the milk\n"
    outcomes = {call.call_id: call.outcome for call in state.calls}
    assert outcomes == {
        "c-make": "matched",
        "c-volatile": "matched",  # timestamps and temp paths differ, nothing else
        "c-view": "skipped",
        "c-create": "matched",
        "c-cd": "matched",
    }
    assert state.calls[2].reason == "read-only"
    assert (state.compared, state.matched, state.skipped) == (4, 4, 1)
    assert state.fidelity == 1.0
    assert state.failed_call is None and not state.aborted


@pytest.mark.docker
async def test_a_really_different_output_lowers_fidelity_and_is_named(
    repo: Path, env_sandbox: DockerSandbox
) -> None:
    session = make_session(repo, [MAKE_NOTE, DIFFERENT, VOLATILE])
    state = await restore_prefix(session, len(session.messages), env_sandbox)

    assert state.fidelity == pytest.approx(2 / 3)
    [mismatch] = state.mismatches()
    assert mismatch.outcome == "mismatched"  # it ran fine; its output is not the recorded one
    assert mismatch.message_index == result_index(session, "c-echo")
    assert mismatch.reason == "output differs"
    assert mismatch.detail is not None
    assert "line 2" in mismatch.detail and "'TWO'" in mismatch.detail
    assert "'two'" in mismatch.detail
    assert state.failed_call is None


@pytest.mark.docker
async def test_abort_stops_at_the_first_failed_call(repo: Path, env_sandbox: DockerSandbox) -> None:
    session = make_session(repo, [MAKE_NOTE, MISSING, DEPLOY, AFTER])
    state = await restore_prefix(session, len(session.messages), env_sandbox, on_error="abort")

    assert state.aborted
    assert [call.call_id for call in state.calls] == ["c-make", "c-missing"]
    assert state.failed_call is not None
    assert state.failed_call.call_id == "c-missing"
    assert state.failed_call.reason == "exit code differs"
    assert state.failed_call.message_index == result_index(session, "c-missing")
    with pytest.raises(SandboxFileNotFoundError):
        await env_sandbox.read_file("/workspace/after.txt")


@pytest.mark.docker
async def test_continue_goes_past_failed_calls(repo: Path, env_sandbox: DockerSandbox) -> None:
    session = make_session(repo, [MAKE_NOTE, MISSING, DEPLOY, AFTER])
    state = await restore_prefix(session, len(session.messages), env_sandbox)

    assert not state.aborted
    assert [(c.call_id, c.outcome, c.reason) for c in state.calls] == [
        ("c-make", "matched", None),
        ("c-missing", "failed", "exit code differs"),
        ("c-deploy", "failed", "no live implementation"),
        ("c-after", "matched", None),
    ]
    assert state.failed_call is not None and state.failed_call.call_id == "c-missing"
    assert state.fidelity == 0.5
    assert await env_sandbox.read_file("/workspace/after.txt") == b""


def test_only_calls_known_to_leave_the_sandbox_alone_are_read_only() -> None:
    assert is_read_only("Read", {"file_path": "/workspace/a.py"}, "claude-code")
    assert is_read_only("Grep", {"pattern": "def"}, "claude-code")
    assert is_read_only("Glob", {"pattern": "**/*.py"}, "claude-code")
    assert is_read_only("str_replace_editor", {"command": "view", "path": "/a"})
    assert is_read_only("find_file", {"file_name": "a.py"}, "swe-agent")
    assert is_read_only("TodoWrite", {"todos": []}, "claude-code")
    assert is_read_only("WebSearch", {"query": "x"}, "claude-code")
    assert not is_read_only("Bash", {"command": "ls"}, "claude-code")  # a shell never is
    assert not is_read_only("bash", {"command": "cat a.py"})
    assert not is_read_only("str_replace_editor", {"command": "create", "path": "/a"})
    assert not is_read_only("Edit", {"file_path": "/a", "old_string": "a", "new_string": "b"})
    assert not is_read_only("submit", {}, "swe-agent")  # stages every change
    # Opening a file moves SWE-agent's viewer, which a later windowed edit acts on.
    assert not is_read_only("open", {"path": "a.py"}, "swe-agent")
    assert not is_read_only("open", {"path": "a.py"})  # unknown meaning outside SWE-agent
    assert not is_read_only("deploy", {"target": "staging"})


@pytest.mark.parametrize(
    ("logged", "harness"),
    [
        ("0.x (legacy)", "sweagent0x"),
        ("0.7.0", "sweagent0x"),
        ("1.x", "sweagent"),
        (None, "sweagent"),
    ],
)
def test_a_sessions_tools_follow_its_harness_version(logged: str | None, harness: str) -> None:
    # SWE-agent 0.x and 1.x print the same tools differently: the version picks the adapters.
    from understudy.replay.importers.swe_agent import SweAgentImporter
    from understudy.trajectory import SourceInfo

    source = SourceInfo(format=SweAgentImporter.name, agent="swe-agent", version=logged)
    session = Session(id="s", source=source, messages=[Message(role="user", content="go")])
    agent = session_agent(session)
    assert normalize_agent(agent) == harness
    assert find_adapter("open", agent) is not None


def test_the_recipe_follows_what_is_reexecuted(repo: Path) -> None:
    session = make_session(repo, [MAKE_NOTE, VIEW])
    cut = len(session.messages)
    assert [p.skip for p in plan_prefix(session, cut)] == [None, "read-only"]
    assert prefix_recipe(session, cut) == prefix_recipe(session.model_copy(deep=True), cut)
    assert prefix_recipe(session, cut) != prefix_recipe(session, cut, on_error="abort")
    with_another_command = make_session(repo, [MAKE_NOTE, ENTER_BUILD])
    assert prefix_recipe(session, cut) != prefix_recipe(with_another_command, cut)


# -- the runner --------------------------------------------------------------------------------

LOOK = "cat /workspace/build/note.txt /workspace/notes.md; pwd; echo greeting=$GREETING"


def look_around(request: ChatRequest) -> ScriptedTurn:
    if request.tool_results():
        return ScriptedTurn(content="Seen: " + request.tool_result_text().replace("\n", " "))
    return ScriptedTurn(content="Looking.", tool_calls=[("bash", {"command": LOOK})])


def events(run_dir: Path, name: str) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    return [event for event in map(json.loads, lines) if event.get("event") == name]


def mismatches_named(run_dir: Path) -> list[dict[str, Any]]:
    """The prefix calls a run's events name as mismatched: logged while the prefix was built,
    or carried by the reuse of a snapshot that an earlier run built."""
    built = events(run_dir, "prefix call mismatch")
    reused = [m for event in events(run_dir, "prefix snapshot reused") for m in event["mismatches"]]
    return built + reused


@pytest.mark.docker
async def test_samples_share_one_prefix_snapshot_and_see_its_state(
    repo: Path, tmp_path: Path, base_image: str, run_id: str
) -> None:
    session = make_session(repo, [MAKE_NOTE, DIFFERENT, CREATE_NOTES, ENTER_BUILD])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    configure_logging(events_file=run_dir / "events.jsonl")
    try:
        with ScriptedServer(look_around) as server:
            candidate = OpenAICandidate("scripted", base_url=server.base_url)
            settings = RunSettings(run_id=run_id, samples=3, sandboxes=2)
            await run_to_dir([session], settings, lambda s: candidate, RunDir(run_dir))
            await candidate.close()
    finally:
        configure_logging()
    rollouts = RunDir(run_dir).rollouts()

    assert len(rollouts) == 3
    assert sorted(r.meta["prefix"]["cached"] for r in rollouts) == [False, True, True]
    images = {r.meta["prefix"]["image"] for r in rollouts}
    assert len(images) == 1
    docker_client().images.get(images.pop())  # the snapshot is there for later runs
    mismatch_index = result_index(session, "c-echo")
    for rollout in rollouts:
        assert rollout.status == "completed", rollout.error
        seen = rollout.messages[1].content
        assert "hello" in seen and "remember the milk" in seen  # files of the prefix
        assert "/workspace/build" in seen and "greeting=hi" in seen  # its shell state
        assert rollout.env_fidelity == pytest.approx(3 / 4)
        [mismatch] = rollout.meta["prefix"]["mismatches"]
        assert mismatch["message_index"] == mismatch_index
        assert mismatch["reason"] == "output differs"
        assert rollout.timing["prefix_s"] >= 0
    built = events(run_dir, "prefix call mismatch")
    assert len(built) == 1  # logged while building, once
    assert built[0]["message_index"] == mismatch_index
    assert built[0]["reason"] == "output differs"
    assert "TWO" not in json.dumps(built[0])  # no payloads in events
    reused = events(run_dir, "prefix snapshot reused")
    assert len(reused) == 2
    for event in reused:  # each reuse names the mismatch too, without payloads
        [named] = event["mismatches"]
        assert named["message_index"] == mismatch_index and named["outcome"] == "mismatched"
        assert "TWO" not in json.dumps(event)


@pytest.mark.docker
async def test_abort_makes_the_rollout_an_error_naming_the_call(
    repo: Path, tmp_path: Path, base_image: str, run_id: str
) -> None:
    session = make_session(repo, [MAKE_NOTE, DEPLOY, AFTER])
    with ScriptedServer(look_around) as server:
        candidate = OpenAICandidate("scripted", base_url=server.base_url)
        settings = RunSettings(run_id=run_id, prefix_errors="abort")
        await run_to_dir([session], settings, lambda s: candidate, RunDir(tmp_path / "abort"))
        settings = RunSettings(run_id=run_id, prefix_errors="continue")
        await run_to_dir([session], settings, lambda s: candidate, RunDir(tmp_path / "go-on"))
        await candidate.close()
        requests = server.requests
    [aborted] = RunDir(tmp_path / "abort").rollouts()
    [carried_on] = RunDir(tmp_path / "go-on").rollouts()

    assert aborted.status == "error"
    assert aborted.error is not None
    index = result_index(session, "c-deploy")
    assert f"message {index} (deploy, call c-deploy): no live implementation" in aborted.error
    assert aborted.messages == []
    assert aborted.meta["prefix"]["aborted"] is True
    assert carried_on.status == "completed", carried_on.error
    assert carried_on.meta["prefix"]["failed_call"]["call_id"] == "c-deploy"
    assert len(requests) == 2  # the candidate was only called in the run that carried on


@pytest.mark.docker
async def test_no_prefix_state_starts_from_the_env_image(
    repo: Path, tmp_path: Path, base_image: str, run_id: str
) -> None:
    session = make_session(repo, [MAKE_NOTE])
    with ScriptedServer(look_around) as server:
        candidate = OpenAICandidate("scripted", base_url=server.base_url)
        settings = RunSettings(run_id=run_id, prefix_state=False)
        await run_to_dir([session], settings, lambda s: candidate, RunDir(tmp_path / "run"))
        await candidate.close()
    [rollout] = RunDir(tmp_path / "run").rollouts()
    assert rollout.status == "completed"
    assert "build/note.txt: No such file" in rollout.messages[1].content
    assert "prefix" not in rollout.meta and rollout.env_fidelity is None


@pytest.mark.docker
def test_run_command_takes_the_prefix_options(
    repo: Path, tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions_file = tmp_path / "sessions.jsonl"
    with sessions_file.open("w") as handle:
        write_models(handle, [make_session(repo, [MAKE_NOTE, DEPLOY, AFTER])])

    def run(output: Path, *options: str, exit_code: int = 0) -> Rollout:
        arguments = ["run", str(sessions_file), "--original", "-o", str(output), "--run-id", run_id]
        result = CliRunner().invoke(app, [*arguments, *options])
        assert result.exit_code == exit_code, result.output
        [rollout] = RunDir(output).rollouts()
        return rollout

    # The only rollout ends in error: the run exits with 3.
    aborted = run(tmp_path / "abort", "--prefix-errors", "abort", exit_code=3)
    assert aborted.status == "error" and aborted.error is not None
    assert aborted.error_kind == "prefix"
    assert "(deploy, call c-deploy): no live implementation" in aborted.error
    [event] = mismatches_named(tmp_path / "abort")
    assert event["call_id"] == "c-deploy" and event["reason"] == "no live implementation"

    plain = run(tmp_path / "plain", "--no-prefix-state")
    assert plain.status == "completed" and "prefix" not in plain.meta
