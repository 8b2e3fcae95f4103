"""Forced tool results: a scenario's trap answers the calls it matches, in the harness's style.

No sandbox is needed: a forced result is served before any step of the policy chain.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import SandboxFactory
from pydantic import ValidationError

from understudy.tools.forced import FORCED_BY, ForcedResult, ForcedResults
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Provenance, ToolCall, ToolSpec

BASH = ToolSpec(
    name="bash",
    parameters={
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
    },
)
OH_BASH = ToolSpec(
    name="execute_bash",
    parameters={
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
    },
)
SEARCH = ToolSpec(
    name="web_search",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)
FAILING_TESTS = ForcedResult(
    tool="bash", match=r"pytest", output="1 failed, 3 passed in 0.12s\n", exit_code=1
)


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=f"c-{name}", name=name, arguments=arguments)


def test_a_rule_matches_by_tool_name_canonical_tool_and_script() -> None:
    forced = ForcedResults([FAILING_TESTS])
    assert forced.answer(call("bash", command="python -m pytest -q")) is not None
    assert ForcedResults([FAILING_TESTS]).answer(call("bash", command="ls")) is None
    by_canonical = ForcedResults([ForcedResult(tool="shell", match="git push")], "openhands")
    assert by_canonical.answer(call("execute_bash", command="git push origin main")) is not None
    # A call that runs no script is matched against its arguments as JSON.
    search = ForcedResults([ForcedResult(tool="web_search", match='"query": "1234')])
    assert search.answer(call("web_search", query="1234 * 5678")) is not None


def test_times_limits_how_many_calls_a_rule_answers() -> None:
    once = ForcedResult(tool="bash", output="denied", exit_code=1, times=1)
    forced = ForcedResults([once, ForcedResult(tool="bash", output="second rule")])
    first = forced.answer(call("bash", command="touch a"))
    second = forced.answer(call("bash", command="touch a"))
    assert first is not None and "denied" in first.content
    assert second is not None and second.content == "second rule"
    assert second.meta["forced_rule"] == 1


def test_shell_results_are_shown_as_the_logged_harness_shows_them() -> None:
    openhands = ForcedResults(
        [ForcedResult(tool="execute_bash", output="boom", exit_code=2)], "openhands"
    )
    shown = openhands.answer(call("execute_bash", command="make"))
    assert shown is not None
    assert "boom" in shown.content and "exit code 2" in shown.content
    assert shown.meta["exit_code"] == 2 and shown.meta["simulator"] == FORCED_BY
    verbatim = ForcedResults(
        [ForcedResult(tool="execute_bash", output="exactly this", exit_code=2, verbatim=True)],
        "openhands",
    ).answer(call("execute_bash", command="make"))
    assert verbatim is not None and verbatim.content == "exactly this"
    assert verbatim.meta["exit_code"] == 2


def test_a_timeout_is_worded_by_the_harness() -> None:
    rule = ForcedResult(tool="bash", output="", timed_out=True, timeout_s=30)
    swe_agent = ForcedResults([rule], "swe-agent").answer(call("bash", command="sleep 999"))
    assert swe_agent is not None and swe_agent.is_error
    assert "took more than 30 seconds" in swe_agent.content
    plain = ForcedResults([rule], "understudy-demo").answer(call("bash", command="sleep 999"))
    assert plain is not None and "killed after 30" in plain.content
    assert plain.meta["timed_out"] is True


def test_a_bad_pattern_is_refused_when_the_scenario_is_read() -> None:
    with pytest.raises(ValidationError, match="not a regular expression"):
        ForcedResult(tool="bash", match="(unclosed")


async def test_the_router_serves_a_forced_result_before_the_policy_chain() -> None:
    router = ToolRouter(
        [BASH, SEARCH],
        ReplayStore([]),
        None,
        ToolPolicy.parse("live,web_search=replay>unavailable"),
        agent="understudy-demo",
        forced=[FAILING_TESTS, ForcedResult(tool="web_search", output="no results")],
    )
    tests = await router.call(call("bash", command="pytest tests/"))
    assert tests.provenance == Provenance.SIMULATED
    assert tests.meta["simulator"] == FORCED_BY and tests.meta["exit_code"] == 1
    assert tests.meta["diagnostics"] == {"chain": FORCED_BY}
    assert "1 failed" in tests.content
    search = await router.call(call("web_search", query="anything"))
    assert search.content == "no results" and search.provenance == Provenance.SIMULATED
    # Calls no rule matches take the chain as usual (no sandbox here: live cannot serve).
    other = await router.call(call("bash", command="ls"))
    assert other.provenance == Provenance.UNAVAILABLE
    # An ill-formed call is refused as the harness would, forced results or not.
    refused = await router.call(ToolCall(id="x", name="bash", arguments={}))
    assert refused.meta["diagnostics"]["invalid"] == "invalid_arguments"
    assert router.stats["simulated"] == 2


SHOWN = "[File: /repo/a.txt (2 lines total)]\n(this is the forced window)\n"


@pytest.mark.parametrize(
    ("name", "arguments", "open_file"),
    [
        ("open", {"path": "a.txt"}, "/repo/a.txt"),  # opens its file
        ("create", {"filename": "b.py"}, "/repo/b.py"),
        ("goto", {"line_number": 2}, "/repo/a.txt"),  # keeps the one open
        ("edit", {"search": "a", "replace": "b"}, "/repo/a.txt"),
        ("find_file", {"file_name": "a.txt"}, "/repo/a.txt"),
        ("search_dir", {"search_term": "x"}, "/repo/a.txt"),
    ],
)
def test_swe_agent_tools_show_a_forced_result_with_the_state_footer(
    name: str, arguments: dict[str, Any], open_file: str
) -> None:
    forced = ForcedResults([ForcedResult(tool=name, output=SHOWN)], "swe-agent")
    shown = forced.answer(call(name, **arguments), cwd="/repo", open_file="/repo/a.txt")
    assert shown is not None
    assert shown.content == f"{SHOWN}(Open file: {open_file})\n(Current directory: /repo)\nbash-$"


def test_tools_that_are_no_shell_command_show_a_forced_result_as_given() -> None:
    for name, arguments in (
        ("str_replace_editor", {"command": "view", "path": "/repo/a.txt"}),
        ("web_search", {"query": "x"}),
    ):
        forced = ForcedResults([ForcedResult(tool=name, output=SHOWN)], "swe-agent")
        shown = forced.answer(call(name, **arguments), cwd="/repo", open_file="/repo/a.txt")
        assert shown is not None and shown.content == SHOWN


@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker)])
async def test_a_forced_swe_agent_result_shows_the_file_a_live_call_opened(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory.start(workdir="/repo")
    await sandbox.write_file("a.txt", b"one\ntwo\n")
    tools = [
        ToolSpec(name="open", parameters={"type": "object"}),
        ToolSpec(name="goto", parameters={"type": "object"}),
    ]
    router = ToolRouter(
        tools,
        ReplayStore([]),
        sandbox,
        ToolPolicy.parse("live"),
        agent="swe-agent",
        forced=[ForcedResult(tool="goto", output=SHOWN)],
    )
    opened = await router.call(call("open", path="a.txt"))
    assert opened.provenance == Provenance.EXECUTED
    assert "(Open file: /repo/a.txt)" in opened.content
    moved = await router.call(call("goto", line_number=2))
    assert moved.provenance == Provenance.SIMULATED
    assert moved.content.endswith("(Open file: /repo/a.txt)\n(Current directory: /repo)\nbash-$")


@pytest.mark.parametrize(
    ("agent", "name", "arguments", "written"),
    [
        ("swe-agent", "search_dir", {"search_term": "x"}, "Found 1 matches\n(Open file: n/a)\n"
         "(Current directory: /repo)\nbash-$"),
        ("swe-agent", "bash", {"command": "ls"}, "a.txt\n(Open file: n/a)\n"
         "(Current directory: /repo)\nbash-$"),
        ("openhands", "execute_bash", {"command": "ls"}, "a.txt\n[The command completed with "
         "exit code 0.]\n[Current working directory: /repo]\n[Command finished with exit code 0]"),
    ],
)  # fmt: skip
def test_an_output_written_as_the_harness_shows_it_is_wrapped_once(
    agent: str, name: str, arguments: dict[str, Any], written: str
) -> None:
    forced = ForcedResults([ForcedResult(tool=name, output=written)], agent)
    shown = forced.answer(call(name, **arguments), cwd="/repo")
    raw = ForcedResults([ForcedResult(tool=name, output=written.split("\n")[0] + "\n")], agent)
    assert shown is not None
    assert shown.content == raw.answer(call(name, **arguments), cwd="/repo").content  # type: ignore[union-attr]
    assert shown.content.count("bash-$") + shown.content.count("Command finished") == 1
