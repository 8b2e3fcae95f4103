"""SWE-agent's own tools, run live: the calls of the real SWE-agent logs, replayed in a Docker
sandbox holding the logged repository, give back the logged observations (compared as fidelity
compares them, through ``compare_outputs``).

The test-repo logs are in tests/data; the marshmallow logs and the marshmallow repository come
from ../shared (beside the checkout in CI), and their tests skip without it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from test_adapters import serve

from understudy.protocols import Sandbox
from understudy.replay.importers import import_paths
from understudy.replay.normalize import compare_outputs
from understudy.replay.prefix import judge_live_result, session_agent
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
    is_cursors_call,
)
from understudy.tools.shell import PROBE_MARK, split_probe, with_probe
from understudy.trajectory import Message, Provenance, Session

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


def same_output(name: str, logged: str, live: str, agent: str) -> bool:
    """Whether a live result reproduces the logged one, as fidelity judges it: both made
    comparable by the call's adapter (wording SWE-agent's releases differ in), then compared."""
    adapter = find_adapter(name, agent)
    assert adapter is not None
    comparable = adapter.comparable
    return compare_outputs(comparable(name, logged), comparable(name, live)) is None


async def assert_replayed(
    sandbox: Sandbox, calls: list[tuple[str, dict[str, Any], str]], agent: str
) -> None:
    for index, (name, arguments, logged) in enumerate(calls):
        live = await serve(sandbox, name, arguments, agent)
        assert same_output(name, logged, live.content, agent), (index, name, live.content)


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


# -- SWE-agent 1.x insert and the wording of its releases ------------------------------------------

# The function_calling_replace demonstrations (SWE-agent trajectories/demonstrations, MIT
# License): ``create reproduce.py``, then ``insert {text}`` appends the text after its empty line.
DEMO_SCRIPT = (
    "from marshmallow.fields import TimeDelta\nfrom datetime import timedelta\n\n"
    'td_field = TimeDelta(precision="milliseconds")\n\nobj = dict()\n'
    'obj["td_field"] = timedelta(milliseconds=345)\n\n'
    'print(td_field.serialize("td_field", obj))'
)
DEMO_FOOTER = "(Open file: /testbed/reproduce.py)\n(Current directory: /testbed)\nbash-$"
DEMO_CREATED = f"[File: reproduce.py (1 lines total)]\r\n1:\n{DEMO_FOOTER}"
DEMO_INSERTED = (
    "[File: /testbed/reproduce.py (10 lines total)]\r\n1:\r\n"
    + "".join(f"{n}:{line}\r\n" for n, line in enumerate(DEMO_SCRIPT.split("\n"), start=2))[:-2]
    + f"\n{DEMO_FOOTER}"
)


@DOCKER_ONLY
@pytest.mark.docker
async def test_insert_as_the_demonstrations_show(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory.start(workdir="/testbed")
    created = await serve(sandbox, "create", {"filename": "reproduce.py"}, "swe-agent")
    assert same_output("create", DEMO_CREATED, created.content, "swe-agent"), created.content
    inserted = await serve(sandbox, "insert", {"text": DEMO_SCRIPT}, "swe-agent")
    assert same_output("insert", DEMO_INSERTED, inserted.content, "swe-agent"), inserted.content
    assert (await sandbox.read_file("reproduce.py")).decode() == f"\n{DEMO_SCRIPT}"
    # A line puts the text before that line (every 1.x release: ``line - 1``).
    await serve(sandbox, "insert", {"text": "import os\n", "line": 2}, "swe-agent")
    lines = (await sandbox.read_file("reproduce.py")).decode().split("\n")
    assert lines[:3] == ["", "import os", "from marshmallow.fields import TimeDelta"]
    # An insert that breaks the syntax is refused, in the insert script's words.
    before = await sandbox.read_file("reproduce.py")
    refused = await serve(sandbox, "insert", {"text": "    x = (", "line": 1}, "swe-agent")
    assert refused.content.startswith(
        "Your proposed edit has introduced new syntax error(s).\n"
        "Please read this error message carefully and then retry editing the file.\n\n"
        "ERRORS:\n\n- E999 "
    ), refused.content
    assert "Your changes have NOT been applied." in refused.content
    assert await sandbox.read_file("reproduce.py") == before


@DOCKER_ONLY
@pytest.mark.docker
async def test_search_and_replace_refusals_as_swe_agent_words_them(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory.start(workdir="/repo")
    lines = [f"x{n} = {n}" for n in range(1, 151)] + ["y = 1", "y = 1"]
    await sandbox.write_file("a.py", ("\n".join(lines) + "\n").encode())
    await serve(sandbox, "open", {"path": "a.py"}, "swe-agent")
    same = await serve(sandbox, "edit", {"search": "x1 ", "replace": "x1 "}, "swe-agent")
    assert same.content.startswith("Your search and replace strings are the same.")
    outside = await serve(sandbox, "edit", {"search": "x140 =", "replace": "z ="}, "swe-agent")
    assert outside.content.startswith(
        "Your edit was not applied (file not modified): Text 'x140 =' not found in displayed "
        "lines.\n\nHowever, we found the following occurrences of your search string in the "
        "file:\n\n- line 140\n\nYou can use the `goto` command"
    ), outside.content
    await serve(sandbox, "goto", {"line_number": 150}, "swe-agent")
    twice = await serve(sandbox, "edit", {"search": "y = 1", "replace": "y = 2"}, "swe-agent")
    assert "Found more than one occurrence of 'y = 1' in the currently displayed" in twice.content
    both = {"search": "y = 1", "replace": "y = 2", "replace-all": True}
    replaced = await serve(sandbox, "edit", both, "swe-agent")
    assert replaced.content.startswith("Replaced 2 occurrences. Please review the changes")
    one = await serve(sandbox, "edit", {"search": "x150 = 150", "replace": "x = 0"}, "swe-agent")
    assert one.content.startswith("Text replaced. Please review the changes and make sure")


OLD_REPLACED = (
    "Replaced 1 occurrences. Please review the changes and make sure they are correct\r\n"
    "(correct indentation, no duplicate lines, etc). Edit the file again if necessary.\r\n"
)
DEV_REPLACED = OLD_REPLACED.replace("Replaced 1 occurrences", "Text replaced")
NEW_REPLACED = (
    "Text replaced. Please review the changes and make sure they are correct:\n\n"
    "1. The edited file is correctly indented\n"
    "2. The edited file does not contain duplicate lines\n"
    "3. The edit does not break existing functionality\n\n"
    "Edit the file again if necessary.\n"
)
WINDOW_SHOWN = "[File: /repo/a.py (1 lines total)]\n1:x = 2\n(Open file: /repo/a.py)\nbash-$"


def tool_message(content: str, provenance: Provenance) -> Message:
    return Message(
        role="tool", tool_call_id="c1", name="edit", content=content, provenance=provenance
    )


@pytest.mark.parametrize("recorded", [OLD_REPLACED, DEV_REPLACED])
def test_the_releases_success_messages_compare_as_one(recorded: str) -> None:
    logged = tool_message(recorded + WINDOW_SHOWN, Provenance.RECORDED)
    live = tool_message(NEW_REPLACED + WINDOW_SHOWN, Provenance.EXECUTED)
    for agent in ("swe-agent", DEV):
        assert judge_live_result(logged, live, agent)[0] == "matched"
    # Only the wording is made one: the window, and the number of replacements, still count.
    moved = tool_message(NEW_REPLACED + WINDOW_SHOWN.replace("x = 2", "x = 3"), Provenance.EXECUTED)
    assert judge_live_result(logged, moved, "swe-agent")[0] == "mismatched"
    three = NEW_REPLACED.replace("Text replaced", "Replaced 3 occurrences")
    everywhere = tool_message(three + WINDOW_SHOWN, Provenance.EXECUTED)
    assert judge_live_result(logged, everywhere, "swe-agent")[0] == "mismatched"
    adapter = find_adapter("edit", "swe-agent")
    assert adapter is not None
    assert adapter.comparable("open", NEW_REPLACED) == NEW_REPLACED  # edits only


def test_insert_is_an_edit_of_the_open_file() -> None:
    arguments = {"text": "import os", "line": 3}
    assert describe_call("insert", arguments, "swe-agent") == describe_windowed_edit(
        "insert", arguments
    )
    assert not is_read_only("insert", arguments, "swe-agent")
    assert find_adapter("insert", LEGACY) is None  # 0.x had no insert
    adapter = find_adapter("insert", "swe-agent")
    assert adapter is not None
    command = adapter.translate("insert", arguments).arguments["command"]
    assert command.endswith("\ninsert 'import os' 3")


# -- SWE-agent 0.x's cursors command set -----------------------------------------------------------

CURSORS_DEMO = json.loads(
    (Path(__file__).parent / "data" / "swe-agent-cursors-demo.json").read_text()
)
"""The calls of the ``default_sys-env_cursors_window100`` demonstration (all but ``python``,
``ls``, ``rm`` and ``submit``), as imported, with their observations."""


def cursors_calls() -> list[tuple[str, dict[str, Any], str]]:
    return [(c["name"], c["arguments"], c["observation"]) for c in CURSORS_DEMO["calls"]]


def test_only_the_cursors_set_has_set_cursors_and_a_bare_edit() -> None:
    names = [name for name, _, _ in cursors_calls()]
    assert names == ["create", "edit", "find_file", "open", "bash", "edit", "edit"]
    picked = [is_cursors_call(name, arguments) for name, arguments, _ in cursors_calls()]
    assert picked == [False, True, False, False, True, True, True]
    assert not is_cursors_call("edit", {"start_line": 1, "end_line": 2, "replacement_text": "x"})
    assert not is_cursors_call("bash", {"command": "echo set_cursors"})
    adapter = find_adapter("edit", LEGACY)
    assert adapter is not None
    edit = adapter.translate("edit", {"command": "edit\n    x = 1\nend_of_edit"})
    assert edit.arguments["command"].endswith("\nedit <<'end_of_edit'\n    x = 1\nend_of_edit")
    assert "set_cursors()" in edit.arguments["command"]  # the switch to the cursors set
    opened = adapter.translate("open", {"path": "a b.py"}).arguments["command"]
    assert "\n_swe_agent_view_note open 'a b.py'\nopen 'a b.py'" in opened


@DOCKER_ONLY
@pytest.mark.docker
async def test_the_cursors_set_creates_and_edits_between_the_cursors(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory.start(workdir="/marshmallow-code__marshmallow")
    (create, edit, *_) = cursors_calls()
    # Nothing in a create tells the cursors set: it runs the default set's (no cursor marks).
    created = await serve(sandbox, create[0], create[1], LEGACY)
    assert not same_output("create", create[2], created.content, LEGACY)
    assert created.content.startswith("[File: /marshmallow-code__marshmallow/reproduce.py (1 l")
    # The bare edit switches to the cursors set: the create is made again under it, which put
    # both cursors on line 1, and the edit replaces that line.
    edited = await serve(sandbox, edit[0], edit[1], LEGACY)
    assert same_output("edit", edit[2], edited.content, LEGACY), edited.content
    # From then on every command is the cursors set's.
    moved = await serve(sandbox, "bash", {"command": "set_cursors 4 5"}, LEGACY)
    assert "3:\n<<<<< START CURSOR >>>>>\n4:td_field" in moved.content, moved.content
    assert "5:\n<<<<< END CURSOR >>>>>\n6:obj = dict()" in moved.content
    again = {"command": "edit\ntd_field = TimeDelta(precision='seconds')\nend_of_edit"}
    replaced = await serve(sandbox, "edit", again, LEGACY)
    assert "<<<<< START CURSOR >>>>>\n4:td_field = TimeDelta(precision='seconds')\n" in (
        replaced.content
    )
    assert "<<<<< END CURSOR >>>>>\n5:obj = dict()" in replaced.content, replaced.content
    text = (await sandbox.read_file("reproduce.py")).decode()
    assert text.split("\n")[3:5] == ["td_field = TimeDelta(precision='seconds')", "obj = dict()"]
    reopened = await serve(sandbox, "open", {"path": "reproduce.py"}, LEGACY)
    assert "<<<<< START CURSOR >>>>>" in reopened.content


@DOCKER_ONLY
@pytest.mark.docker
@pytest.mark.slow
async def test_the_cursors_demonstration_replays(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await sandbox_factory.start(workdir="/marshmallow-code__marshmallow")
    await commit_repo(sandbox, {"src/marshmallow/fields.py": marshmallow_fields(tmp_path)}, ())
    calls = cursors_calls()
    await serve(sandbox, *calls[0][:2], LEGACY)  # the create: see the test above
    # edit, find_file, open at 1474, set_cursors, the edit the lint check refuses, the edit.
    await assert_replayed(sandbox, calls[1:], LEGACY)


@DOCKER_ONLY
@pytest.mark.docker
async def test_the_switch_makes_the_viewer_moves_again(sandbox_factory: SandboxFactory) -> None:
    text = "".join(f"line {n}\n" for n in range(1, 501)).encode()
    shown = []
    for switch_first in (False, True):
        sandbox = await sandbox_factory.start(workdir="/repo")
        await sandbox.write_file("a.txt", text)
        if switch_first:  # a shell in the cursors set from the start
            first = await serve(sandbox, "bash", {"command": "set_cursors 1 1"}, LEGACY)
            assert first.content.startswith("No file open. Use the open command first.")
        await serve(sandbox, "create", {"filename": "b.txt"}, LEGACY)
        await serve(sandbox, "open", {"path": "a.txt", "line_number": 120}, LEGACY)
        await serve(sandbox, "scroll_down", {}, LEGACY)
        moved = await serve(sandbox, "bash", {"command": "set_cursors 330 331"}, LEGACY)
        shown.append(moved.content)
    assert shown[0] == shown[1]
    assert shown[0].startswith("[File: /repo/a.txt (500 lines total)]\n(217 more lines above)\n")
    assert (
        "329:line 329\n<<<<< START CURSOR >>>>>\n330:line 330\n331:line 331\n<<<<< END"
        in (shown[0])
    )
