"""The vocabulary of logged tools has one owner: the adapters translate a call for replay and
describe it for the judges, so a name taught once is known to both, and both agree on what a
call did."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from understudy.errors import ConfigError
from understudy.judges.ledger import LedgerCall, build_ledger
from understudy.tools.adapters import (
    ADAPTERS,
    AGENT_ADAPTERS,
    AGENT_DESCRIBERS,
    DESCRIBERS,
    describe_call,
    find_adapter,
    register_adapter,
    register_describer,
    unregister,
)
from understudy.tools.adapters.base import get_str
from understudy.tools.adapters.describers import describe_no_effect
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.adapters.shell import ShellAdapter
from understudy.tools.base import Adapter, CanonicalCall
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Message, ToolCall, ToolSpec

PATH = "/w/a.py"
SAMPLES: dict[str, dict[str, Any]] = {
    "bash": {"command": "ls"},
    "Bash": {"command": "ls", "description": "list"},
    "execute_bash": {"command": "ls"},
    "shell": {"command": ["bash", "-lc", "ls"]},
    "container.exec": {"command": ["bash", "-lc", "ls"]},
    "local_shell": {"command": ["ls", "-la"]},
    "shell_command": {"command": "ls"},
    "python": {"code": "print(1)"},
    "str_replace_editor": {"command": "view", "path": PATH},
    "str_replace_based_edit_tool": {
        "command": "str_replace",
        "path": PATH,
        "old_str": "a",
        "new_str": "b",
    },
    "editor": {"command": "create", "path": PATH, "file_text": "x"},
    "Edit": {"file_path": PATH, "old_string": "a", "new_string": "b"},
    "MultiEdit": {"file_path": PATH, "edits": [{"old_string": "a", "new_string": "b"}]},
    "Write": {"file_path": PATH, "content": "x"},
    "Read": {"file_path": PATH},
    "Grep": {"pattern": "parse", "path": "src"},
    "Glob": {"pattern": "**/*.py"},
    "find_file": {"file_name": "a.py"},
    "search_dir": {"search_term": "parse", "dir": "src"},
    "search_file": {"search_term": "parse", "file": "a.py"},
    "submit": {},
    "open": {"path": "a.py", "line_number": 10},
    "goto": {"line_number": 10},
    "scroll_up": {},
    "scroll_down": {},
    "create": {"filename": "a.py"},
    "edit": {"start_line": 1, "end_line": 1, "replacement_text": "x"},
    "insert": {"text": "x", "line": 1},
    "WebSearch": {"query": "pydantic validators"},
    "web_search": {"query": "pydantic validators"},
    "WebFetch": {"url": "https://docs.pydantic.dev", "prompt": "summarize"},
    "web_fetch": {"url": "https://docs.pydantic.dev"},
    "web_read": {"url": "https://docs.pydantic.dev"},
    "web_browser_go": {"url": "https://docs.pydantic.dev"},
    "read_file": {"path": PATH},
    "write_file": {"path": PATH, "content": "x"},
    "calculator": {"expression": "2 + 2"},
    "browser": {"action": "search", "query": "x"},
    "TodoWrite": {"todos": [{"content": "x", "status": "pending", "activeForm": "x"}]},
    "update_plan": {"plan": [{"step": "x", "status": "pending"}]},
    "think": {"thought": "x"},
    "apply_patch": {"input": "*** Begin Patch\n*** Delete File: a.py\n*** End Patch"},
    "applypatch": {"input": "*** Begin Patch\n*** Delete File: a.py\n*** End Patch"},
    "LS": {"path": "/repo/src"},
}
"""A call as each name with an executable adapter was logged."""

SEARCHES_OF_THEIR_OWN = frozenset({"find_file", "search_dir", "search_file", "submit"})
"""SWE-agent's search tools (and ``submit``), which replay runs as shell scripts but the judges
read as searches (and as the agent saying it is done) with no canonical tool."""

VIEWER_OF_ITS_OWN = frozenset(
    {"open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert"}
)
"""SWE-agent's windowed viewer and editor, which replay runs as SWE-agent's own commands in the
shell but the judges read as reads and edits on their own terms (no canonical tool)."""

PATCHES = frozenset({"apply_patch", "applypatch"})
"""Codex's patches, which replay applies with the ``apply_patch`` tool but the judges read as
before they had an adapter: edits of the files the patch names (no canonical tool)."""
NOTES = frozenset({"TodoWrite", "update_plan", "think"})
"""Plans and thoughts, which replay runs on the ``note`` tool but the judges read as before they
had adapters: calls that change nothing (no canonical tool)."""


def ledger_call(name: str, arguments: dict[str, Any], agent: str | None = None) -> LedgerCall:
    messages = [
        Message(role="user", content="Fix the bug."),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name=name, arguments=arguments)]),
        Message(role="tool", tool_call_id="c1", content="", meta={"exit_code": 0}),
    ]
    (call,) = build_ledger(messages, workdir="/w", agent=agent).calls
    return call


def executable_names() -> list[Any]:
    """``(agent, name, adapter)`` for every name with an adapter, by default and per agent."""
    found = [pytest.param(None, name, adapter, id=name) for name, adapter in ADAPTERS.items()]
    for agent, table in AGENT_ADAPTERS.items():
        found += [
            pytest.param(agent, name, adapter, id=f"{agent}-{name}")
            for name, adapter in table.items()
        ]
    return found


# -- one place to teach a name ---------------------------------------------------------------------


class RunInTerminalAdapter(ShellAdapter):
    """VS Code's ``run_in_terminal`` ``{command, explanation?, isBackground?}``."""

    names: tuple[str, ...] = ("run_in_terminal",)
    stateful_shell: bool = True

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        command = get_str(arguments, "command", name)
        assert command is not None
        return self.shell_call(command)


@pytest.fixture
def run_in_terminal() -> Iterator[Adapter]:
    adapter = RunInTerminalAdapter()
    register_adapter(adapter)
    yield adapter
    unregister("run_in_terminal")


def terminal_router() -> ToolRouter:
    spec = ToolSpec(name="run_in_terminal", parameters={"type": "object"})
    return ToolRouter([spec], ReplayStore([]), None, ToolPolicy())


async def test_a_registered_name_is_known_to_replay_and_to_the_judges(
    run_in_terminal: Adapter,
) -> None:
    assert find_adapter("run_in_terminal") is run_in_terminal
    served = await terminal_router().call(
        ToolCall(id="c1", name="run_in_terminal", arguments={"command": "pytest -q"})
    )
    # Translated onto the shell, which runs live and needs the sandbox this router lacks.
    assert served.meta["diagnostics"]["chain"] == "live"
    assert served.meta["diagnostics"]["live"] == "no sandbox"

    tests = ledger_call("run_in_terminal", {"command": "pytest -q", "explanation": "run tests"})
    assert (tests.classification, tests.canonical, tests.command) == (
        "test_run",
        "shell",
        "pytest -q",
    )
    build = ledger_call("run_in_terminal", {"command": "./build.sh"})
    assert (build.classification, build.canonical, build.command) == (
        "shell",
        "shell",
        "./build.sh",
    )


async def test_an_unregistered_name_is_opaque_and_only_guessed() -> None:
    assert find_adapter("run_in_terminal") is None
    assert describe_call("run_in_terminal", {"command": "pytest -q"}) is None
    served = await terminal_router().call(
        ToolCall(id="c1", name="run_in_terminal", arguments={"command": "pytest -q"})
    )
    assert served.meta["diagnostics"]["chain"] == "replay>unavailable"
    guessed = ledger_call("run_in_terminal", {"command": "pytest -q"})
    assert (guessed.classification, guessed.canonical) == ("test_run", None)


def test_describers_are_registered_for_opaque_names_only() -> None:
    register_describer(describe_no_effect, ["note_to_self"], agent="my-agent")
    try:
        assert find_adapter("note_to_self", "my-agent") is None
        assert ledger_call("note_to_self", {"text": "x"}, "my-agent").mutating is False
        assert ledger_call("note_to_self", {"text": "x"}).mutating is None  # guessed
    finally:
        unregister("note_to_self", agent="my-agent")
    assert describe_call("note_to_self", {}, "my-agent") is None
    with pytest.raises(ConfigError, match="Bash"):
        register_describer(describe_no_effect, ["Bash"])


# -- replay and judging agree ----------------------------------------------------------------------


def test_every_executable_name_has_a_sample() -> None:
    assert {param.values[1] for param in executable_names()} == set(SAMPLES)


@pytest.mark.parametrize(("agent", "name", "adapter"), executable_names())
def test_replay_and_the_judges_read_a_call_alike(
    agent: str | None, name: str, adapter: Adapter
) -> None:
    arguments = SAMPLES[name]
    translated = adapter.translate(name, arguments)
    call = ledger_call(name, arguments, agent)
    assert not call.invalid
    if name in SEARCHES_OF_THEIR_OWN | VIEWER_OF_ITS_OWN:
        assert (translated.tool, call.canonical) == ("shell", None)
    elif name in NOTES:
        assert (translated.tool, call.canonical, call.mutating) == ("note", None, False)
    elif name in PATCHES:
        assert (translated.tool, call.canonical, call.mutating) == ("apply_patch", None, True)
    else:
        assert call.canonical == translated.tool
    if adapter.read_only(name, arguments):
        assert call.mutating is False
    if translated.tool == "shell" and "command" in arguments:  # a logged shell command
        assert call.command == translated.arguments["command"]


def test_claude_code_edit_is_the_same_edit_for_replay_and_the_judges() -> None:
    arguments = {"file_path": PATH, "old_string": "return a", "new_string": "return b"}
    adapter = find_adapter("Edit", "claude-code")
    assert adapter is not None
    translated = adapter.translate("Edit", arguments)
    call = ledger_call("Edit", arguments, "claude-code")
    assert (call.classification, call.canonical, call.mutating) == ("edit", "editor", True)
    assert call.paths == [translated.arguments["path"]]
    (edit,) = call.edits
    assert (edit.old, edit.new) == (
        translated.arguments["old_str"],
        translated.arguments["new_str"],
    )


# -- names replay cannot run -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DESCRIBERS))
def test_described_names_are_not_executable(name: str) -> None:
    logged = name.replace("*", "up")  # scroll_* stands for scroll_up, scroll_down, ...
    assert find_adapter(logged) is None
    assert describe_call(logged, {}) is not None or name == "create"  # create needs a filename


def test_agent_describers_are_not_executable() -> None:
    for agent, table in AGENT_DESCRIBERS.items():
        for name in table:
            assert find_adapter(name, agent) is None


def test_a_patch_is_read_as_one_whatever_the_tool_is_called() -> None:
    patch = "*** Begin Patch\n*** Update File: a.py\n@@\n-x\n+y\n*** End Patch"
    facts = describe_call("custom_tool", {"input": patch})
    assert facts is not None and facts.kinds == ["edit"] and facts.paths == ["a.py"]
    assert describe_call("custom_tool", {"input": "hello"}) is None


@pytest.mark.parametrize(
    ("name", "arguments", "unreadable", "canonical"),
    [
        ("Bash", {}, "refused", None),
        ("Edit", {"old_string": "a"}, "refused", None),
        ("WebSearch", {"query": ""}, "refused", "browser"),
        ("web_read", {}, "unclear", "browser"),  # inspect's harness is not known to check
        ("search", {"q": 3}, "unclear", "browser"),
    ],
)
def test_unreadable_arguments_say_what_the_name_alone_tells(
    name: str, arguments: dict[str, Any], unreadable: str, canonical: str | None
) -> None:
    facts = describe_call(name, arguments)
    assert facts is not None
    assert (facts.unreadable, facts.canonical, facts.kinds) == (unreadable, canonical, ["other"])


def test_a_describer_that_trips_over_arguments_reads_the_call_as_refused() -> None:
    def needs_a_path(name: str, arguments: dict[str, Any]) -> CallFacts:
        return CallFacts(kinds=["read"], changes_state=False, paths=[arguments["path"]])

    register_describer(needs_a_path, ["peek"])
    try:
        facts = describe_call("peek", {})
        assert facts is not None and facts.unreadable == "refused"
        call = ledger_call("peek", {})
        assert (call.classification, call.invalid, call.mutating) == ("other", True, False)
        assert ledger_call("peek", {"path": PATH}).paths == [PATH]
    finally:
        unregister("peek")
