"""Workspaces rebuilt from the log, for sessions whose repository cannot be had.

The real Claude Code and Codex logs in ../shared name no reachable repository: their
workspaces are what the logs show, and ``understudy fidelity`` replays them in it (both
backends) instead of failing with an environment error. Built here with the real engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import EnvBuildError
from understudy.replay.env_resolution import resolve_env
from understudy.replay.fidelity import FidelitySettings, session_fidelity
from understudy.replay.importers import import_paths
from understudy.replay.normalize import compare_tool_results
from understudy.replay.rundir import RunDir
from understudy.replay.workspace import log_workspace
from understudy.replay.workspace_guard import WorkspaceGuard
from understudy.sandbox.envspec import spec_hash
from understudy.sandbox.local_env import LocalEnvBuilder
from understudy.sandbox.repo_source import parse_mirror_rules
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import (
    EnvFile,
    EnvSpec,
    Message,
    Provenance,
    Session,
    SourceInfo,
    ToolCall,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LOGS = SHARED / "trajectories"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not there")

CLAUDE_TWO = "8a2518dd-ff41-4d5f-83a1-407b03598cc6"
CLAUDE_HELLO = "de3b8b19-5bc0-4a2a-934a-1b6806567e25"
CODEX = "019982b8-3422-79e0-8b3b-05abaf4f3c3e"
CLAUDE_ROOT = "/Users/<USER_1>/Dev/sourceborn/src/agent-workflows-monorepo-v2"
CODEX_ROOT = "/Users/<USER_1>/Dev/spectora/src/spectora-labs-monorepo-v2"
COMMAND_MENU = f"{CLAUDE_ROOT}/apps/app/src/client/components/CommandMenu.tsx"


def real(*parts: str) -> dict[str, Session]:
    return {session.id: session for _, session in import_paths([LOGS.joinpath(*parts)])}


def claude_session(*messages: Message, workdir: str = "/repo") -> Session:
    return Session(
        id="s",
        source=SourceInfo(format="claude-code", agent="claude-code"),
        env=EnvSpec(workdir=workdir),
        messages=[Message(role="user", content="go"), *messages],
    )


def read(call_id: str, path: str, shown: str, **arguments: Any) -> list[Message]:
    call = ToolCall(id=call_id, name="Read", arguments={"file_path": path, **arguments})
    return [
        Message(role="assistant", tool_calls=[call]),
        Message(role="tool", tool_call_id=call_id, name="Read", content=shown),
    ]


# -- the workspaces of the real logs -------------------------------------------------------------


@needs_shared
def test_the_claude_code_workspace_holds_what_was_read_before_the_edits() -> None:
    session = real("claude-code", "full-session-two.jsonl")[CLAUDE_TWO]
    files, coverage = log_workspace(session)
    assert coverage.full == [
        COMMAND_MENU,
        f"{CLAUDE_ROOT}/apps/app/src/client/pages/projects/sessions/components/NewSessionButton.tsx",
    ]
    assert coverage.partial == [p for p in coverage.partial if p.endswith(".png")] != []
    assert coverage.names == [] and coverage.created == []
    assert coverage.unknown_calls == 1  # the screenshot, an image: no text to write
    menu = next(file for file in files if file.path == COMMAND_MENU)
    shown = next(m.content for m in session.messages if m.role == "tool" and "1→" in m.content)
    numbered = shown.split("<system-reminder>")[0].rstrip("\n").split("\n")
    assert menu.content.split("\n") == [line.split("→", 1)[1] for line in numbered]
    # as the session found it: the Edit's old text is there, its new text is not
    edit = next(c for m in session.messages for c in m.tool_calls if c.name == "Edit")
    assert edit.arguments["old_string"] in menu.content
    assert edit.arguments["new_string"] not in menu.content
    assert f"{CLAUDE_ROOT}/apps/app/src/client" in {f.path for f in files if f.directory}


@needs_shared
def test_a_session_that_only_creates_files_needs_no_workspace() -> None:
    session = real("claude-code", "hello-world-script.jsonl")[CLAUDE_HELLO]
    files, coverage = log_workspace(session)
    assert files == [] and coverage.empty
    assert coverage.created == ["/tmp/tmp74wiyiny/hello.sh"]
    resolved, record = resolve_env(session, [], "auto")
    assert resolved == session  # nothing to rebuild: it starts empty, and says so
    assert record == {
        "source": "empty workspace",
        "reason": "the log names no repository or image, and shows no file it needs",
    }


@needs_shared
def test_the_codex_workspace_joins_sed_pieces_and_keeps_listed_names_unknown() -> None:
    session = real("codex")[CODEX]
    files, coverage = log_workspace(session)
    assert len(coverage.full) == 23 and coverage.partial == []
    types = next(f for f in files if f.path == f"{CODEX_ROOT}/packages/services/src/types.ts")
    pieces = [
        m.content for m in session.messages if m.role == "tool" and m.content.startswith("/**\n")
    ]
    assert types.content.endswith(pieces[0]) or types.content.endswith(pieces[0] + "\n")
    assert f"{CODEX_ROOT}/node_modules" in coverage.names
    assert f"{CODEX_ROOT}/packages/services" in coverage.directories
    assert not any(path in coverage.names for path in coverage.full)
    assert coverage.unknown_calls == 8  # the listings and searches of partly known trees


@needs_shared
def test_auto_uses_the_log_when_the_repository_cannot_be_had() -> None:
    claude = real("claude-code", "full-session-two.jsonl")[CLAUDE_TWO]
    with pytest.raises(EnvBuildError, match="only the branch"):
        resolve_env(claude, [], "repo")
    resolved, record = resolve_env(claude, [], "auto")
    assert resolved.env.repo is None and len(resolved.env.files) > 2
    assert record["source"] == "log"
    assert record["workspace"]["reason"].startswith("its repository is not known")
    codex = real("codex")[CODEX]
    _, record = resolve_env(codex, [], "auto")
    assert record["workspace"]["reason"].startswith("cannot reach https://github.com/")
    # A mirror rule for the whole host that holds no copy of this repository: the log again.
    rules = parse_mirror_rules([f"https://github.com/{{owner}}/{{name}}={SHARED}/repos/{{name}}"])
    _, record = resolve_env(codex, rules, "auto")
    assert record["mirror"] == rules[0].given
    assert record["workspace"]["reason"].endswith("no such file or directory")


def test_a_log_that_shows_no_file_keeps_the_error(tmp_path: Path) -> None:
    unreachable = Session(
        id="gone",
        source=SourceInfo(format="native"),
        env=EnvSpec.model_validate({"repo": {"url": f"file://{tmp_path}/missing", "commit": "a"}}),
    )
    with pytest.raises(EnvBuildError, match=r"shows no file to rebuild its workspace from.*--envs"):
        resolve_env(unreachable, [], "auto")


def test_files_are_part_of_the_env_hash() -> None:
    bare = EnvSpec()
    one = EnvSpec(files=[EnvFile(path="a.txt", content="1\n")])
    other = EnvSpec(files=[EnvFile(path="a.txt", content="2\n")])
    hashes = {spec_hash(spec, "base", None) for spec in (bare, one, other)}
    assert len(hashes) == 3
    described = bare.model_dump(mode="json")
    del described["files"]  # a spec without files hashes as before files existed
    assert spec_hash(bare, "base", None) == spec_hash(
        EnvSpec.model_validate(described), "base", None
    )


async def test_the_local_builder_writes_the_files(tmp_path: Path) -> None:
    spec = EnvSpec(
        workdir="/work/app",
        files=[
            EnvFile(path="/work/app/src", directory=True),
            EnvFile(path="src/a.py", content="A = 1\n"),
            EnvFile(path="/etc/outside.txt", content="x"),
        ],
    )
    built = await LocalEnvBuilder(cache_dir=tmp_path).build(spec)
    root = Path(built.image_id)
    assert (root / "work/app/src/a.py").read_text() == "A = 1\n"
    assert (root / "etc/outside.txt").read_text() == "x"
    assert (await LocalEnvBuilder(cache_dir=tmp_path).build(spec)).cached


# -- calls that touch unknown content ------------------------------------------------------------


async def test_reading_a_file_known_in_part_is_served_from_the_recording() -> None:
    session = claude_session(
        *read("r1", "/repo/big.py", "    10→x = 1\n", offset=10, limit=1),
        *read("r2", "/repo/small.py", "     1→y = 2\n     2→"),
    )
    files, coverage = log_workspace(session)
    assert [f.path for f in files if not f.directory] == ["/repo/small.py"]
    assert files[-1].content == "y = 2\n"
    assert coverage.partial == ["/repo/big.py"] and coverage.unknown_calls == 1
    guard = WorkspaceGuard.of(coverage.model_dump(), "/repo", "claude-code")
    router = ToolRouter(
        [],
        ReplayStore(session.messages),
        None,
        ToolPolicy(),
        agent="claude-code",
        guard=guard.check,
    )
    call = ToolCall(
        id="c", name="Read", arguments={"file_path": "/repo/big.py", "offset": 10, "limit": 1}
    )
    served = await router.call(call)
    assert served.provenance == Provenance.REPLAYED
    assert served.content == "    10→x = 1\n"
    assert served.meta["diagnostics"]["workspace"] == "/repo/big.py: the log shows it in part"


def test_a_file_the_session_writes_whole_is_known_from_then_on() -> None:
    guard = WorkspaceGuard({"/repo/a.txt": "by name only"}, "/repo", "claude-code")
    cat = ToolCall(id="1", name="Bash", arguments={"command": "cat a.txt | head -3"})
    assert guard.check(cat) == "/repo/a.txt: the log shows it by name only"
    listing = ToolCall(id="2", name="Bash", arguments={"command": "ls"})
    assert guard.check(listing) == "/repo holds /repo/a.txt, which the log shows by name only"
    write = ToolCall(id="3", name="Write", arguments={"file_path": "/repo/a.txt", "content": "x"})
    assert guard.check(write) is None
    assert guard.check(cat) is None


# -- live replays (real engine) ------------------------------------------------------------------


@needs_shared
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:LocalSandbox has NO isolation")
@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker), "local"])
async def test_a_read_then_edit_replays_live_against_the_workspace(
    backend: str, run_id: str, request: pytest.FixtureRequest
) -> None:
    if backend == "docker":
        request.getfixturevalue("base_image")
    session = real("claude-code", "full-session-two.jsonl")[CLAUDE_TWO]
    settings = FidelitySettings(run_id=run_id, backend=backend, workspace="auto")
    result = await session_fidelity(session, settings)
    assert result.error is None
    assert result.env["source"] == "log"
    assert result.unknown_content == 1
    live_tools = {"Read", "Edit"}
    assert not [m for m in result.mismatches if m.tool in live_tools], result.mismatches
    assert (result.compared, result.matched) == (6, 6)  # the user's answers: not compared


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``understudy fidelity`` over the Claude Code and Codex logs, with no option."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not there")
    folder = tmp_path_factory.mktemp("workspace")
    runner = CliRunner()
    files = []
    for kind in ("claude-code", "codex"):
        sessions = folder / f"{kind}.jsonl"
        imported = runner.invoke(app, ["import", "auto", str(LOGS / kind), "-o", str(sessions)])
        assert imported.exit_code == 0, imported.output
        files.append(str(sessions))
    done = runner.invoke(app, ["fidelity", *files, "--json"])
    assert done.exit_code == 0, done.output
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.docker
@pytest.mark.slow
def test_fidelity_of_the_claude_code_and_codex_logs_starts_and_reports_coverage(
    measured: dict[str, Any],
) -> None:
    assert measured["overall"]["errors"] == 0
    by_id = {session["session_id"]: session for session in measured["sessions"]}
    codex = by_id[CODEX]
    assert codex["env"]["source"] == "log"
    assert len(codex["env"]["workspace"]["full"]) == 23
    assert codex["unknown_content"] == 8
    assert codex["compared"] == 26 and codex["matched"] >= 24
    claude = by_id[CLAUDE_TWO]
    assert claude["env"]["workspace"]["full"][0] == COMMAND_MENU
    assert (claude["compared"], claude["matched"]) == (6, 6)
    assert by_id[CLAUDE_HELLO]["matched"] == 2 and "workspace" not in by_id[CLAUDE_HELLO]["env"]


@needs_shared
@pytest.mark.docker
@pytest.mark.slow
def test_workspace_log_can_be_forced_on_a_swe_agent_session(
    tmp_path: Path, base_image: str
) -> None:
    sessions = tmp_path / "swe.jsonl"
    runner = CliRunner()
    log = LOGS / "swe-agent" / "sweagenttestrepo-1c2844.traj"
    assert runner.invoke(app, ["import", "auto", str(log), "-o", str(sessions)]).exit_code == 0
    done = runner.invoke(
        app,
        ["fidelity", str(sessions), "--workspace", "log", "--allow-base-image", "--json"],
    )
    assert done.exit_code == 0, done.output
    (session,) = json.loads(done.stdout)["sessions"]
    assert session["error"] is None
    workspace = session["env"]["workspace"]
    assert workspace["reason"] == "asked for (--workspace log)"
    # The viewer's window shows all ten lines of the file: it is known in full, so the edit,
    # the run and the submitted diff (in the git repository the log's diff implies) reproduce.
    assert workspace["full"] == ["/SWE-agent__test-repo/tests/missing_colon.py"]
    assert workspace["partial"] == [] and workspace["git_repository"] is True
    assert session["unknown_content"] == workspace["unknown_calls"] == 1  # find_file walks /
    assert (session["compared"], session["matched"]) == (4, 4), session["mismatches"]


def test_an_unknown_workspace_mode_is_a_usage_error(tmp_path: Path) -> None:
    sessions = tmp_path / "none.jsonl"
    sessions.write_text("")
    done = CliRunner().invoke(app, ["fidelity", str(sessions), "--workspace", "git"])
    assert done.exit_code == 2
    assert "choose one of auto, log, repo" in done.output


@needs_shared
@pytest.mark.docker
@pytest.mark.slow
def test_a_run_edits_the_workspace_after_its_prefix_and_records_the_coverage(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = tmp_path / "claude.jsonl"
    runner = CliRunner()
    log = LOGS / "claude-code" / "full-session-two.jsonl"
    assert runner.invoke(app, ["import", "auto", str(log), "-o", str(sessions)]).exit_code == 0
    output = tmp_path / "run"
    arguments = ["run", str(sessions), "--original", "-o", str(output), "--run-id", run_id]
    done = runner.invoke(app, [*arguments, "--sandbox", "docker"])
    assert done.exit_code == 0, done.output
    (rollout,) = RunDir(output).rollouts()
    assert rollout.status == "completed", rollout.error
    assert rollout.meta["env"]["workspace"]["full"][0] == COMMAND_MENU
    # the prefix redid the first Edit on the file as the session found it; the second one too
    assert rollout.meta["prefix"]["matched"] == 1
    (edit,) = [m for m in rollout.messages if m.role == "tool" and m.name == "Edit"]
    assert edit.provenance == Provenance.EXECUTED and not edit.is_error
    assert "has been updated" in edit.content


def test_a_file_shown_only_after_the_sessions_edits_is_worked_back() -> None:
    edit = ToolCall(
        id="e1",
        name="Edit",
        arguments={"file_path": "/repo/a.py", "old_string": "x = 1", "new_string": "x = 2"},
    )
    write = ToolCall(id="w1", name="Write", arguments={"file_path": "/repo/b.py", "content": "b"})
    session = claude_session(
        Message(role="assistant", tool_calls=[edit, write]),
        Message(role="tool", tool_call_id="e1", name="Edit", content="The file has been updated."),
        Message(role="tool", tool_call_id="w1", name="Write", content="File created successfully"),
        *read("r1", "/repo/a.py", "     1→x = 2\n     2→y = 3\n     3→"),
        *read("r2", "/repo/b.py", "     1→b"),
    )
    files, coverage = log_workspace(session)
    assert [(f.path, f.content) for f in files if not f.directory] == [
        ("/repo/a.py", "x = 1\ny = 3\n")
    ]
    assert coverage.full == ["/repo/a.py"] and coverage.names == []
    assert coverage.created == ["/repo/b.py"] and coverage.unknown_calls == 0


def test_a_live_codex_result_is_compared_as_the_importer_kept_the_recorded_one() -> None:
    recorded = Message(role="tool", content="a\nb\n", meta={"output_format": "json"})
    live = Message(role="tool", content=json.dumps({"output": "a\nb\n", "metadata": {}}))
    assert compare_tool_results(recorded, live) is None
    plain = recorded.model_copy(update={"meta": {}})
    assert compare_tool_results(plain, live) is not None
