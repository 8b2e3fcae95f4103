"""What a log shows of its workspace besides file contents, and the harness wrappers read off
its results: where the session worked, whether it was a git repository, executable files,
which directories the log shows whole, mini-swe-agent's submission.

The real mini-swe-agent logs in ../shared are the cases: the 1.x one names no working
directory (its tracebacks show ``/testbed``) and ends with ``git add -A && git diff --cached``;
the django one names a SWE-bench image that is not on this machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.replay.env_resolution import resolve_env
from understudy.replay.fidelity import FidelitySettings, session_fidelity
from understudy.replay.importers import import_paths
from understudy.replay.normalize import compare_outputs
from understudy.replay.prefix import plan_prefix, refused_calls
from understudy.replay.workspace import log_workspace
from understudy.replay.workspace_facts import (
    git_baseline,
    logged_workdir,
    shows_git_repository,
)
from understudy.replay.workspace_guard import WorkspaceGuard
from understudy.tools.adapters import find_adapter, logged_output
from understudy.tools.base import ToolOutcome
from understudy.trajectory import EnvSpec, Message, Session, SourceInfo, ToolCall

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT.parent / "shared" / "trajectories"
needs_shared = pytest.mark.skipif(not LOGS.is_dir(), reason=f"{LOGS} is not there")
MINI_LEGACY = "legacy-github_issue"
DJANGO = "django__django-11039"


def mini_sessions() -> dict[str, Session]:
    return {s.id: s for _, s in import_paths([LOGS / "mini-swe-agent"])}


def bash_session(*steps: tuple[str, str], workdir: str = "/workspace") -> Session:
    """A mini-swe-agent session of ``(command, shown result)`` steps."""
    messages = [Message(role="user", content="go")]
    for number, (command, shown) in enumerate(steps):
        call = ToolCall(id=f"c{number}", name="bash", arguments={"command": command})
        messages.append(Message(role="assistant", tool_calls=[call]))
        messages.append(Message(role="tool", tool_call_id=call.id, name="bash", content=shown))
    return Session(
        id="s",
        source=SourceInfo(format="mini-swe-agent", agent="mini-swe-agent"),
        env=EnvSpec(workdir=workdir),
        messages=messages,
    )


def wrapped(output: str, code: int = 0) -> str:
    return f"<returncode>{code}</returncode>\n<output>\n{output}</output>"


# -- the harness's wrapper, taken off ---------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "name", "arguments"),
    [
        ("mini-swe-agent", "bash", {"command": "cat a.py"}),
        ("swe-agent", "bash", {"command": "cat a.py"}),
        ("openhands", "execute_bash", {"command": "cat a.py"}),
        ("codex", "shell", {"command": ["bash", "-lc", "cat a.py"]}),
    ],
)
def test_each_adapter_unwraps_what_it_renders(
    agent: str, name: str, arguments: dict[str, Any]
) -> None:
    adapter = find_adapter(name, agent)
    assert adapter is not None
    printed = "def f():\n    return 1\n"
    outcome = ToolOutcome(content=printed, meta={"exit_code": 0, "cwd": "/repo"})
    shown = adapter.render(name, arguments, outcome).content
    assert shown != printed  # each of these harnesses wraps the output
    assert logged_output(name, arguments, shown, agent) == printed


def test_an_elided_mini_swe_agent_result_does_not_hold_the_whole_output() -> None:
    adapter = find_adapter("bash", "mini-swe-agent")
    assert adapter is not None
    long = ToolOutcome(content="x\n" * 6000, meta={"exit_code": 0})
    shown = adapter.render("bash", {"command": "cat big"}, long).content
    assert "<elided_chars>" in shown
    assert logged_output("bash", {"command": "cat big"}, shown, "mini-swe-agent") is None


def test_a_mini_swe_agent_submission_shows_what_it_submits() -> None:
    adapter = find_adapter("bash", "mini-swe-agent")
    assert adapter is not None
    command = {"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff"}
    done = ToolOutcome(content="COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\ndiff --git a/x b/x\n")
    assert adapter.render("bash", command, done).content == "diff --git a/x b/x\n"
    failed = done.model_copy(update={"meta": {"exit_code": 1}})
    assert adapter.render("bash", command, failed).content.startswith("<returncode>1<")


# -- the workspace of a log -------------------------------------------------------------------


def test_workspace_files_are_the_tools_output_not_the_harness_wrapper() -> None:
    session = bash_session(("cat app/main.py", wrapped("print(1)\n")))
    files, coverage = log_workspace(session)
    assert coverage.full == ["/workspace/app/main.py"]
    (content,) = [file.content for file in files if not file.directory]
    assert content == "print(1)\n"


def test_the_working_directory_is_the_one_the_outputs_show() -> None:
    traceback = 'Traceback:\n  File "/testbed/app/main.py", line 1\n'
    session = bash_session(("python app/main.py", wrapped(traceback, 1)))
    assert logged_workdir(session) == "/testbed"
    missing = "cat: /elsewhere/app/main.py: No such file or directory\n"
    elsewhere = bash_session(("cat app/main.py", wrapped(missing, 1)))
    assert logged_workdir(elsewhere) == "/workspace"  # a missing file shows nothing
    named = bash_session(("cd /workspace && python app/main.py", wrapped(traceback, 1)))
    assert logged_workdir(named) == "/workspace"  # the log names its own directory


def test_git_use_is_read_from_the_commands_and_listings() -> None:
    assert shows_git_repository(bash_session(("git status", wrapped("On branch main\n"))), "/w")
    refused = wrapped("fatal: not a git repository (or any of the parent directories)\n", 128)
    assert not shows_git_repository(bash_session(("git status", refused)), "/w")
    assert shows_git_repository(bash_session(("ls -a", wrapped(".\n..\n.git\nsrc\n"))), "/w")
    assert not shows_git_repository(bash_session(("ls", wrapped("src\n"))), "/w")


def test_a_long_listing_marks_executable_files_and_lists_the_directory() -> None:
    listing = (
        "total 8\n"
        "-rwxr-xr-x 1 root root 141 Jul 17 01:31 run.py\n"
        "-rw-r--r-- 1 root root  65 Jul 17 01:31 notes.txt\n"
    )
    session = bash_session(
        ("ls -la tools", wrapped(listing)),
        ("cat tools/run.py", wrapped("print(2)\n")),
        ("cat tools/notes.txt", wrapped("hello\n")),
    )
    files, coverage = log_workspace(session)
    modes = {file.path: file.executable for file in files if not file.directory}
    assert modes == {"/workspace/tools/run.py": True, "/workspace/tools/notes.txt": False}
    assert coverage.listed == ["/workspace/tools"] and coverage.names == []


def test_only_directories_the_log_lists_whole_can_be_walked_live() -> None:
    session = bash_session(
        ("ls lib", wrapped("a.py\n")),
        ("cat lib/a.py", wrapped("A = 1\n")),
        ("cat src/b.py", wrapped("B = 2\n")),
    )
    _, coverage = log_workspace(session)
    guard = WorkspaceGuard.of(coverage.model_dump(), "/workspace", "mini-swe-agent")

    def check(command: str) -> str | None:
        return guard.check(ToolCall(id="x", name="bash", arguments={"command": command}))

    assert check("ls lib") is None and check("grep -rn A lib") is None
    assert check("ls src") == "/workspace/src: the log does not show all it holds"
    assert check("find . -name '*.py'") is not None  # the working directory was never listed
    assert check("cat src/b.py") is None  # a file known in full reads live


# -- the real logs ----------------------------------------------------------------------------


@needs_shared
def test_the_legacy_mini_swe_agent_workspace_is_a_repository_at_testbed() -> None:
    session = mini_sessions()[MINI_LEGACY]
    resolved, record = resolve_env(session, [], "auto")
    assert resolved.env.workdir == "/testbed"
    assert resolved.env.setup == [git_baseline(None)]
    (shown,) = [file for file in resolved.env.files if not file.directory]
    assert shown.path == "/testbed/tests/missing_colon.py" and shown.executable
    assert shown.content.startswith("#!/usr/bin/env python3\n")
    workspace = record["workspace"]
    assert workspace["workdir"] == "/testbed" and workspace["git_repository"] is True


@needs_shared
def test_a_session_whose_image_is_absent_gets_the_workspace_its_log_shows() -> None:
    session = mini_sessions()[DJANGO]
    _, record = resolve_env(session, [], "auto", has_image=lambda image: False)
    assert "is not here and the log names no repository" in record["workspace"]["reason"]
    assert "/testbed/django/core/management/commands/sqlmigrate.py" in (record["workspace"]["full"])
    present, kept = resolve_env(session, [], "auto", has_image=lambda image: True)
    assert present is session and "workspace" not in kept


def test_a_name_quoted_for_its_placeholder_compares_equal() -> None:
    recorded = wrapped("cat: /Users/<USER_1>/x.py: No such file or directory\n", 1)
    live = wrapped("cat: '/Users/<USER_1>/x.py': No such file or directory\n", 1)
    assert compare_outputs(recorded, live) is None
    other = wrapped("cat: '/Users/<USER_1>/y.py': No such file or directory\n", 1)
    assert compare_outputs(recorded, other) is not None


@needs_shared
@pytest.mark.docker
@pytest.mark.slow
def test_the_mini_swe_agent_logs_replay_in_their_log_workspaces(
    tmp_path: Path, base_image: str
) -> None:
    sessions = tmp_path / "mini.jsonl"
    runner = CliRunner()
    imported = runner.invoke(
        app, ["import", "auto", str(LOGS / "mini-swe-agent"), "-o", str(sessions)]
    )
    assert imported.exit_code == 0, imported.output
    done = runner.invoke(app, ["fidelity", str(sessions), "--allow-base-image", "--json"])
    assert done.exit_code == 0, done.output
    by_id = {s["session_id"]: s for s in json.loads(done.stdout)["sessions"]}
    legacy = by_id[MINI_LEGACY]
    # Every call reproduces, the submitted diff too: the git repository of the workspace
    # has the logged blob ids and the file's executable mode.
    assert (legacy["compared"], legacy["matched"]) == (8, 8), legacy["mismatches"]
    assert legacy["unknown_content"] == 2  # ``ls -la`` of directories the log shows in part
    django = by_id[DJANGO]
    assert django["env"]["source"] == "log" and django["error"] is None
    assert django["unknown_content"] >= 10  # repository-wide finds and greps are not run live


def test_paths_the_workspace_lacks_are_not_walked_live_unless_the_session_made_them() -> None:
    session = bash_session(("cat src/app.py", wrapped("A = 1\n")))
    _, coverage = log_workspace(session)
    guard = WorkspaceGuard.of(coverage.model_dump(), "/workspace", "mini-swe-agent")

    def check(command: str) -> str | None:
        return guard.check(ToolCall(id="x", name="bash", arguments={"command": command}))

    assert check("find docs -name '*.md' 2>/dev/null") == (
        "/workspace/docs: the log does not show what it holds"
    )
    assert check("ls /usr/lib") is None  # outside the working directory: the image's own
    assert check("mkdir -p build && ls build") is None  # the session made it


def test_claude_code_reading_reminders_of_either_release_compare_equal() -> None:
    adapter = find_adapter("Read", "claude-code")
    assert adapter is not None
    numbered = "     1→x = 1\n"
    earlier = numbered + (
        "\n\n<system-reminder>\nWhenever you read a file, you should consider whether it looks "
        "malicious. If it does, you MUST refuse to improve or augment the code. You can still "
        "analyze existing code, write reports, or answer high-level questions about the code "
        "behavior.\n</system-reminder>\n"
    )
    live = adapter.render(
        "Read",
        {"file_path": "/a.py"},
        ToolOutcome(content="     1\tx = 1\n", meta={"lines_returned": 1, "file_bytes": 6}),
    ).content
    assert live != earlier
    assert adapter.comparable("Read", live) == adapter.comparable("Read", earlier)


async def test_work_handed_to_another_agent_is_not_compared(tmp_path: Path) -> None:
    task = ToolCall(
        id="t1", name="Task", arguments={"description": "explore", "prompt": "find the bug"}
    )
    bash = ToolCall(id="b1", name="Bash", arguments={"command": "echo hi"})
    session = Session(
        id="delegating",
        source=SourceInfo(format="claude-code", agent="claude-code"),
        env=EnvSpec(workdir=str(tmp_path)),
        messages=[
            Message(role="user", content="go"),
            Message(role="assistant", tool_calls=[task]),
            Message(role="tool", tool_call_id="t1", name="Task", content="The bug is in a.py."),
            Message(role="assistant", tool_calls=[bash]),
            Message(role="tool", tool_call_id="b1", name="Bash", content="hi"),
            Message(role="assistant", content="done"),
        ],
    )
    settings = FidelitySettings(run_id="delegation", backend="local", workspace="repo")
    result = await session_fidelity(session, settings)
    assert result.error is None, result
    assert (result.compared, result.matched) == (1, 1)  # the Bash call; the report is replayed


def test_a_session_that_listed_a_root_filesystem_worked_at_the_root() -> None:
    root = "bin\nboot\ndev\netc\nhome\nlib\nlib64\nmedia\nmnt\nopt\nproc\nroot\nrun\nsbin\nsrv\n"
    session = bash_session(("ls", wrapped(root + "sys\ntmp\nusr\nvar\n")))
    assert logged_workdir(session) == "/"
    resolved, record = resolve_env(session, [], "auto")
    workspace = record["workspace"]
    # The image's own directories are not files the log shows in part: ``ls`` runs live.
    assert resolved.env.workdir == "/" and workspace["listed"] == ["/"]
    assert workspace["names"] == [] and resolved.env.files == []


REFUSED = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it "
    "was a file edit, the new_string was NOT written to the file). STOP what you are doing and "
    "wait for the user to tell you how to proceed."
)


async def test_a_call_the_user_refused_in_the_log_is_not_run_again(tmp_path: Path) -> None:
    refused = ToolCall(id="r1", name="Bash", arguments={"command": "touch refused.txt"})
    allowed = ToolCall(id="a1", name="Bash", arguments={"command": "touch allowed.txt"})
    session = Session(
        id="refusing",
        source=SourceInfo(format="claude-code", agent="claude-code"),
        env=EnvSpec(workdir=str(tmp_path)),
        messages=[
            Message(role="user", content="go"),
            Message(role="assistant", tool_calls=[refused]),
            Message(role="tool", tool_call_id="r1", name="Bash", content=REFUSED, is_error=True),
            Message(role="assistant", tool_calls=[allowed]),
            Message(role="tool", tool_call_id="a1", name="Bash", content=""),
            Message(role="assistant", content="done"),
        ],
    )
    assert refused_calls(session) == {"r1"}
    (first, second) = plan_prefix(session, len(session.messages))
    assert (first.skip, second.skip) == ("refused by the user", None)
    settings = FidelitySettings(run_id="refusal", backend="local", workspace="repo")
    result = await session_fidelity(session, settings)
    assert (result.compared, result.matched) == (1, 1), result
