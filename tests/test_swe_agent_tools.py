"""SWE-agent's own tools, run live: the calls of the real SWE-agent logs, replayed in a Docker
sandbox holding the logged repository, give back the logged observations (compared as fidelity
compares them, through ``compare_outputs``).

The test-repo logs are in tests/data; the marshmallow logs and the marshmallow repository come
from ../shared (beside the checkout in CI), and their tests skip without it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from test_adapters import serve

from understudy.protocols import Sandbox
from understudy.replay.importers import import_paths
from understudy.replay.normalize import compare_outputs
from understudy.replay.prefix import session_agent
from understudy.tools import get_tool
from understudy.tools.adapters import describe_call, find_adapter, is_read_only, normalize_agent
from understudy.tools.adapters.describers import (
    describe_code_search,
    describe_create,
    describe_no_effect,
    describe_read,
    describe_windowed_edit,
)
from understudy.tools.adapters.windowed import (
    SweAgentLegacyAdapter,
    SweAgentLegacyBashAdapter,
    SweAgentWindowedAdapter,
)
from understudy.tools.shell import PROBE_MARK, split_probe, with_probe
from understudy.trajectory import Session

if TYPE_CHECKING:
    from conftest import SandboxFactory

LOGS = Path(__file__).parent / "data" / "trajectories" / "swe-agent"
SHARED = Path(__file__).parents[2] / "shared"
MARSHMALLOW_BUNDLE = SHARED / "repos" / "marshmallow-code__marshmallow.bundle"
MARSHMALLOW_COMMIT = "bfd2593d4b416122e30cdefe0c72d322ef471611"
LEGACY = "SWE-agent 0.x"
"""The agent of a 0.x log (the importer names both versions ``swe-agent``)."""
DEV = "swe-agent 1.x dev"
"""The agent of a log of a 1.x development version (the last step is not in its history)."""

DOCKER_ONLY = pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker)])

# tests/missing_colon.py of SWE-agent/test-repo (blob 20edef5, mode 100755), as both test-repo
# sessions found it.
MISSING_COLON = (
    "#!/usr/bin/env python3\n\n\ndef division(a: float, b: float) -> float\n    return a/b\n\n\n"
    'if __name__ == "__main__":\n    print(division(123, 15))\n\n'
)
WINDOWED = ("open", "goto", "scroll_up", "scroll_down", "create", "edit")


# -- which adapter, and what judges read -----------------------------------------------------------


def test_the_version_picks_the_adapters() -> None:
    assert normalize_agent(LEGACY) == normalize_agent("swe-agent 0.x (legacy)") == "sweagent0x"
    for name in WINDOWED:
        assert find_adapter(name) is None  # opaque to an agent that is not named
        assert isinstance(find_adapter(name, LEGACY), SweAgentLegacyAdapter)
        assert isinstance(find_adapter(name, "swe-agent"), SweAgentWindowedAdapter)
    assert isinstance(find_adapter("bash", LEGACY), SweAgentLegacyBashAdapter)
    for name in ("find_file", "search_dir", "search_file", "submit"):
        assert isinstance(find_adapter(name, LEGACY), SweAgentLegacyAdapter)


@pytest.mark.parametrize(
    ("name", "arguments", "describe"),
    [
        ("open", {"path": "src/marshmallow/fields.py", "line_number": 1474}, describe_read),
        ("goto", {"line_number": 10}, describe_read),
        ("scroll_down", {}, describe_read),
        ("create", {"filename": "reproduce.py"}, describe_create),
        (
            "edit",
            {"start_line": 4, "end_line": 4, "replacement_text": "def f():"},
            describe_windowed_edit,
        ),
        ("edit", {"search": "a", "replace": "b", "replace-all": False}, describe_windowed_edit),
        ("find_file", {"file_name": "fields.py", "dir": "src"}, describe_code_search),
        ("search_file", {"search_term": "x"}, describe_code_search),
        ("submit", {}, describe_no_effect),
    ],
)
def test_judges_read_the_calls_as_before(
    name: str, arguments: dict[str, Any], describe: Any
) -> None:
    for agent in (LEGACY, "swe-agent"):
        if find_adapter(name, agent) is not None:
            assert describe_call(name, arguments, agent) == describe(name, arguments)


def test_rebuilding_the_state_keeps_the_viewer_moves() -> None:
    # open/goto/scroll change no file but move the viewer a later edit acts on.
    assert not is_read_only("open", {"path": "a.py"}, LEGACY)
    assert not is_read_only("goto", {"line_number": 3}, "swe-agent")
    assert is_read_only("find_file", {"file_name": "a.py"}, LEGACY)


def test_edit_is_sent_as_swe_agent_0x_typed_it() -> None:
    adapter = find_adapter("edit", LEGACY)
    assert adapter is not None
    call = adapter.translate("edit", {"start_line": 4, "end_line": 5, "replacement_text": "x"})
    assert call.arguments["command"].endswith("\nedit 4:5 <<'end_of_edit'\nx\nend_of_edit")
    assert call.arguments["persistent"] is True and "CURRENT_FILE" in call.arguments["probe"]
    tricky = adapter.translate(
        "edit", {"start_line": 1, "end_line": 1, "replacement_text": "end_of_edit"}
    )
    assert tricky.arguments["command"].endswith("<<'end_of_edit_'\nend_of_edit\nend_of_edit_")


# -- live, against the logs ------------------------------------------------------------------------


def logged_calls(path: Path) -> list[tuple[str, dict[str, Any], str]]:
    """``(name, arguments, observation)`` of every call of a log, in order (by position: the
    demonstrations reuse call ids)."""
    ((_, session),) = import_paths([path])
    assert isinstance(session, Session)
    calls = [call for message in session.messages for call in message.tool_calls]
    results = [message.content for message in session.messages if message.role == "tool"]
    assert len(calls) == len(results)
    return [(c.name, c.arguments, str(r)) for c, r in zip(calls, results, strict=True)]


def logged_agent(path: Path) -> str:
    """The agent whose adapters replay the log's calls (as ``run`` and ``fidelity`` pick it)."""
    ((_, session),) = import_paths([path])
    assert isinstance(session, Session)
    return session_agent(session)


async def commit_repo(sandbox: Sandbox, files: dict[str, str], executable: tuple[str, ...]) -> None:
    """A git repository at the sandbox's workdir holding ``files``, committed."""
    for path, text in files.items():
        await sandbox.write_file(path, text.encode())
    chmod = f"chmod +x {' '.join(executable)} && " if executable else ""
    setup = await sandbox.exec(
        f"{chmod}git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm base"
    )
    assert setup.exit_code == 0, setup.output


async def assert_replayed(
    sandbox: Sandbox, calls: list[tuple[str, dict[str, Any], str]], agent: str
) -> None:
    for index, (name, arguments, logged) in enumerate(calls):
        live = await serve(sandbox, name, arguments, agent)
        assert compare_outputs(logged, live.content) is None, (index, name, live.content)


@DOCKER_ONLY
@pytest.mark.docker
async def test_swe_agent_0x_test_repo_session(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory.start(workdir="/klieret__swe-agent-test-repo")
    await commit_repo(
        sandbox, {"tests/missing_colon.py": MISSING_COLON}, ("tests/missing_colon.py",)
    )
    calls = logged_calls(LOGS / "legacy-test-repo-i1.traj")
    assert [name for name, _, _ in calls] == ["find_file", "open", "edit", "bash", "submit"]
    await assert_replayed(sandbox, calls, LEGACY)


@DOCKER_ONLY
@pytest.mark.docker
async def test_swe_agent_1x_test_repo_session(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory.start(workdir="/SWE-agent__test-repo")
    await commit_repo(
        sandbox, {"tests/missing_colon.py": MISSING_COLON}, ("tests/missing_colon.py",)
    )
    calls = logged_calls(LOGS / "sweagenttestrepo-1c2844.traj")
    assert [name for name, _, _ in calls] == ["find_file", "open", "edit", "bash", "submit"]
    # A development version: its history lacks the submit step, whose bare observation is
    # recovered from the trajectory (no state footer).
    assert logged_agent(LOGS / "sweagenttestrepo-1c2844.traj") == DEV
    await assert_replayed(sandbox, calls, DEV)


def marshmallow_fields(tmp_path: Path) -> str:
    """src/marshmallow/fields.py at the sessions' base commit, from the real repository."""
    if not MARSHMALLOW_BUNDLE.exists():
        pytest.skip(f"{MARSHMALLOW_BUNDLE} is not here (../shared is beside the checkout in CI)")
    clone = tmp_path / "marshmallow.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(MARSHMALLOW_BUNDLE), str(clone)], check=True
    )
    shown = subprocess.run(
        ["git", "--git-dir", str(clone), "show", f"{MARSHMALLOW_COMMIT}:src/marshmallow/fields.py"],
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout


@DOCKER_ONLY
@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(
    ("log", "workdir", "agent"),
    [
        ("marshmallow-1867-legacy-from-source.traj", "/marshmallow-code__marshmallow", LEGACY),
        ("marshmallow-1867-function-calling.traj", "/testbed", "swe-agent"),
    ],
)
async def test_marshmallow_edits_with_the_lint_rejection(
    sandbox_factory: SandboxFactory, tmp_path: Path, log: str, workdir: str, agent: str
) -> None:
    path = SHARED / "trajectories" / "swe-agent" / log
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared is beside the checkout in CI)")
    sandbox = await sandbox_factory.start(workdir=workdir)
    await commit_repo(sandbox, {"src/marshmallow/fields.py": marshmallow_fields(tmp_path)}, ())
    calls = [call for call in logged_calls(path) if call[0] != "bash"]
    if log.startswith("marshmallow-1867-legacy"):
        calls = calls[1:]  # opens setup.py, left out of this repository (and redacted in the log)
    names = [name for name, _, _ in calls]
    assert names == ["create", "edit", "find_file", "open", "edit", "edit", "submit"]
    rejected = calls[4][2]
    assert rejected.startswith("Your proposed edit has introduced new syntax error(s).")
    # The removal of reproduce.py (a bash call) comes before submit: do it here.
    replayed = calls[:-1]
    await assert_replayed(sandbox, replayed, agent)
    assert (await sandbox.exec("rm reproduce.py")).exit_code == 0
    submit = await serve(sandbox, "submit", {}, logged_agent(path))
    # 0.x: the diff alone; 1.0.0's history: the diff, then the state footer.
    assert compare_outputs(calls[-1][2], submit.content) is None, submit.content


@DOCKER_ONLY
@pytest.mark.docker
async def test_a_rejected_edit_leaves_the_file_as_it_was(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory.start(workdir="/repo")
    await commit_repo(sandbox, {"a.py": "def f():\n    return 1\n"}, ())
    for agent in (LEGACY, "swe-agent"):
        await serve(sandbox, "open", {"path": "a.py"}, agent)
        bad = {"start_line": 2, "end_line": 2, "replacement_text": "return 2"}
        rejected = await serve(sandbox, "edit", bad, agent)
        assert "ERRORS:\n- E999 IndentationError: expected an indented block" in rejected.content
        assert "Your changes have NOT been applied." in rejected.content
        assert (await sandbox.read_file("a.py")).decode() == "def f():\n    return 1\n"
        assert rejected.content.endswith(
            "(Open file: /repo/a.py)\n(Current directory: /repo)\nbash-$"
        )


def window_of(observation: str) -> tuple[str, int, int, str]:
    """The lines above, the first and last line shown and the lines below, of a window."""
    lines = observation.split("\n")
    numbered = [int(line.split(":", 1)[0]) for line in lines if line[:1].isdigit()]
    above = next((line for line in lines if line.endswith("more lines above)")), "")
    below = next((line for line in lines if line.endswith("more lines below)")), "")
    return above, numbered[0], numbered[-1], below


@DOCKER_ONLY
@pytest.mark.docker
@pytest.mark.parametrize(
    ("agent", "windows"),
    [
        (  # 0.x: CURRENT_LINE is the window's middle line (defaults.sh)
            LEGACY,
            [
                ("", 1, 100, "(150 more lines below)"),
                ("(98 more lines above)", 99, 198, "(52 more lines below)"),
                ("(150 more lines above)", 151, 250, ""),
                ("(52 more lines above)", 53, 152, "(98 more lines below)"),
            ],
        ),
        (  # 1.x: FIRST_LINE is the window's first line (windowed_file.py)
            "swe-agent",
            [
                ("", 1, 100, "(150 more lines below)"),
                ("(98 more lines above)", 99, 198, "(52 more lines below)"),
                ("(150 more lines above)", 151, 250, ""),
                ("(52 more lines above)", 53, 152, "(98 more lines below)"),
            ],
        ),
    ],
)
async def test_the_window_moves_as_swe_agent_moved_it(
    sandbox_factory: SandboxFactory, agent: str, windows: list[tuple[str, int, int, str]]
) -> None:
    sandbox = await sandbox_factory.start(workdir="/repo")
    await sandbox.write_file("a.txt", "".join(f"line {n}\n" for n in range(1, 251)).encode())
    calls = [
        ("open", {"path": "a.txt"}),
        ("scroll_down", {}),
        ("goto", {"line_number": 240}),
        ("scroll_up", {}),
    ]
    for (name, arguments), window in zip(calls, windows, strict=True):
        shown = await serve(sandbox, name, arguments, agent)
        assert window_of(shown.content) == window, (name, shown.content[-300:])
    if agent == LEGACY:  # 0.x searches the open file when given none
        found = await serve(sandbox, "search_file", {"search_term": "line 25"}, agent)
        assert found.content.startswith('Found 2 matches for "line 25" in /repo/a.txt:\n')
        assert "Line 25:line 25\nLine 250:line 250\nEnd of matches" in found.content


def test_a_probe_reads_state_apart_from_the_output() -> None:
    script = with_probe("ls", 'printf "%s" "$CURRENT_FILE"')
    assert script.startswith("ls\n__us_command_status=$?\n")
    assert script.endswith("\n(exit $__us_command_status)")  # the command's exit code stays
    assert split_probe(f"a\nb\n\n{PROBE_MARK}/w/a.py") == ("a\nb\n", "/w/a.py")
    assert split_probe("killed by a timeout") == ("killed by a timeout", None)


# -- SWE-agent 1.x's terminal ----------------------------------------------------------------------

LS_FILES = [
    "AUTHORS.rst",
    "CHANGELOG.rst",
    "CODE_OF_CONDUCT.md",
    "CONTRIBUTING.rst",
    "LICENSE",
    "MANIFEST.in",
    "NOTICE",
    "README.rst",
    "RELEASING.md",
    "azure-pipelines.yml",
    "pyproject.toml",
    "reproduce.py",
    "setup.cfg",
    "setup.py",
    "tox.ini",
]
LS_DIRS = ("docs", "examples", "performance", "src", "tests")


@DOCKER_ONLY
@pytest.mark.docker
async def test_ls_prints_columns_on_swe_agent_1x_terminal(sandbox_factory: SandboxFactory) -> None:
    # marshmallow-1867-function-calling.traj, message 9: SWE-ReX's 80-column terminal.
    path = SHARED / "trajectories" / "swe-agent" / "marshmallow-1867-function-calling.traj"
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared is beside the checkout in CI)")
    ((name, arguments, logged),) = [c for c in logged_calls(path) if c[1] == {"command": "ls -F"}]
    sandbox = await sandbox_factory.start(workdir="/testbed")
    for file in LS_FILES:
        await sandbox.write_file(file, b"x\n")
    for folder in LS_DIRS:
        await sandbox.write_file(f"{folder}/.keep", b"")
    await serve(sandbox, "open", {"path": "reproduce.py"}, "swe-agent")
    live = await serve(sandbox, name, arguments, "swe-agent")
    assert compare_outputs(logged, live.content) is None, live.content
    assert live.meta["exit_code"] == 0 and live.meta["probe"] == "/testbed/reproduce.py"
    # 0.x ran its commands without a terminal: one name a line.
    legacy = await serve(sandbox, "bash", {"command": "ls -F"}, LEGACY)
    assert legacy.content.startswith("AUTHORS.rst\nCHANGELOG.rst\n")


@DOCKER_ONLY
@pytest.mark.docker
async def test_swe_agent_1x_terminal_keeps_state_status_and_order(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory.start(workdir="/repo")
    script = (
        "mkdir -p sub && cd sub && export ANSWER=42; "
        "test -t 0 && test -t 1 && test -t 2 && echo tty; stty size; "
        "python3 -c 'import sys; print(1); print(2, file=sys.stderr); print(3)'; "
        "printf '\\033[31mred\\033[0m\\n'; exit_with() { return $1; }; exit_with 3"
    )
    shown = await serve(sandbox, "bash", {"command": script}, "swe-agent")
    assert shown.meta["exit_code"] == 3
    assert shown.content == (
        "tty\n24 80\n1\n2\n3\nred\n(Open file: n/a)\n(Current directory: /repo/sub)\nbash-$"
    )
    again = await serve(sandbox, "bash", {"command": 'echo "$ANSWER"; exit_with 0'}, "swe-agent")
    assert again.content.startswith("42\n(Open file: n/a)\n(Current directory: /repo/sub)")
    assert again.meta["exit_code"] == 0
    # A command that reads its input waits on the terminal, as in SWE-agent, until its timeout;
    # the timeout stops the terminal's relay too.
    terminal = {"columns": 80, "rows": 24}
    waiting = await get_tool("shell").run(
        {"command": "read line", "timeout": 2, "persistent": True, "terminal": terminal}, sandbox
    )
    assert waiting.meta["timed_out"]
    after = await serve(sandbox, "bash", {"command": "echo $ANSWER; pwd"}, "swe-agent")
    assert after.content.startswith("42\n/repo/sub\n(Open file: n/a)")
    relays = await sandbox.exec("grep -l '[T]IOCSCTTY' /proc/[0-9]*/cmdline")
    assert relays.output.strip() == "", relays.output  # no relay left running


@DOCKER_ONLY
@pytest.mark.docker
async def test_submit_shows_the_diff_as_each_version_logged_it(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory.start(workdir="/repo")
    # Nothing changed yet: 1.0.0 shows the no-output sentence, the others an empty diff.
    await commit_repo(sandbox, {"a.py": "x = 1\n"}, ())
    footer = "\n(Open file: /repo/a.py)\n(Current directory: /repo)\nbash-$"
    await serve(sandbox, "open", {"path": "a.py"}, "swe-agent")
    empty = await serve(sandbox, "submit", {}, "swe-agent")
    assert empty.content == f"Your command ran successfully and did not produce any output.{footer}"
    assert (await serve(sandbox, "submit", {}, DEV)).content == "\n"
    await sandbox.write_file("a.py", b"x = 2\n")
    released = await serve(sandbox, "submit", {}, "swe-agent")
    assert released.content.startswith("\ndiff --git a/a.py b/a.py\n")
    assert released.content.endswith(f"-x = 1\n+x = 2\n{footer}")  # the diff's newline kept
    assert (await serve(sandbox, "submit", {}, DEV)).content == released.content[: -len(footer)]
    legacy = await serve(sandbox, "submit", {}, LEGACY)
    assert legacy.content == released.content[: -len(footer)]


def test_the_log_names_the_version_whose_submit_form_it_holds() -> None:
    assert normalize_agent(DEV) == "sweagent1xdev"
    assert normalize_agent("swe-agent 1.x") == normalize_agent("swe-agent 1.0.1") == "sweagent"
    path = SHARED / "trajectories" / "swe-agent" / "marshmallow-1867-function-calling.traj"
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared is beside the checkout in CI)")
    assert logged_agent(path) == "swe-agent 1.x"  # its history has the submit step
    assert logged_calls(path)[-1][2].endswith("\n(Current directory: /testbed)\nbash-$")
