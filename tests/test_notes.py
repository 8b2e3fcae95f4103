"""Plans and notes run live with their harness's wording; the user's answers are not compared.

``TodoWrite`` (Claude Code), ``update_plan`` (Codex) and OpenHands' ``think`` change nothing and
their harnesses answer them with a fixed text: they run on the canonical ``note`` tool, which
needs no sandbox. ``AskUserQuestion`` and ``ExitPlanMode`` are answered by the user: ``understudy
fidelity`` serves them from the recording. The last tests replay the real Claude Code log with
the real engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import InvalidToolArgumentsError
from understudy.tools import LIVE_TOOL_NAMES, TOOL_NAMES, get_tool
from understudy.tools.adapters import (
    USER_ANSWERED,
    describe_call,
    find_adapter,
    is_read_only,
    is_user_answered,
    register_adapter,
    unregister,
)
from understudy.tools.adapters.describers import describe_no_effect
from understudy.tools.adapters.notes import (
    CLAUDE_TODOS_REPLY,
    CODEX_PLAN_REPLY,
    OPENHANDS_THINK_REPLY,
    ClaudeTodoWriteAdapter,
    CodexUpdatePlanAdapter,
    NoteAdapter,
    OpenHandsThinkAdapter,
)
from understudy.tools.base import Adapter, CanonicalCall, ToolOutcome
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Provenance, ToolCall

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LOGS = SHARED / "trajectories"
CLAUDE_TWO = "8a2518dd-ff41-4d5f-83a1-407b03598cc6"

TODOS = [
    {"content": "Move the button", "status": "in_progress", "activeForm": "Moving the button"},
    {"content": "Test the layout", "status": "pending", "activeForm": "Testing the layout"},
]
PLAN = [{"step": "Read the code", "status": "completed"}, {"step": "Fix it", "status": "pending"}]

# (logged name, agent, arguments, the harness's reply)
NOTES: list[tuple[str, str, dict[str, Any], str]] = [
    ("TodoWrite", "claude-code", {"todos": TODOS}, CLAUDE_TODOS_REPLY),
    ("update_plan", "codex", {"plan": PLAN, "explanation": "found it"}, CODEX_PLAN_REPLY),
    ("think", "openhands", {"thought": "The bug is in parse()."}, OPENHANDS_THINK_REPLY),
]


def adapter_of(name: str, agent: str) -> Adapter:
    adapter = find_adapter(name, agent)
    assert isinstance(adapter, NoteAdapter)
    return adapter


# -- the adapters ---------------------------------------------------------------------------------


def test_the_harness_replies_are_the_logged_ones() -> None:
    assert CLAUDE_TODOS_REPLY == (
        "Todos have been modified successfully. Ensure that you continue to use the todo list to "
        "track your progress. Please proceed with the current tasks if applicable"
    )
    assert CODEX_PLAN_REPLY == "Plan updated"
    assert OPENHANDS_THINK_REPLY == "Your thought has been logged."


def test_each_harness_gets_its_own_adapter() -> None:
    assert isinstance(find_adapter("TodoWrite"), ClaudeTodoWriteAdapter)
    assert isinstance(find_adapter("TodoWrite", "claude-code"), ClaudeTodoWriteAdapter)
    assert isinstance(find_adapter("update_plan", "codex"), CodexUpdatePlanAdapter)
    assert isinstance(find_adapter("think", "openhands"), OpenHandsThinkAdapter)
    assert isinstance(find_adapter("think", "OpenHands 0.59"), OpenHandsThinkAdapter)
    # think is OpenHands' only: other agents' think stays opaque.
    for agent in (None, "claude-code", "swe-agent", "codex"):
        assert find_adapter("think", agent) is None


def test_translate_onto_the_note_tool() -> None:
    todo = adapter_of("TodoWrite", "claude-code").translate("TodoWrite", {"todos": TODOS})
    assert todo == CanonicalCall(tool="note", arguments={"content": TODOS})
    plan = adapter_of("update_plan", "codex")
    assert plan.translate("update_plan", {"plan": PLAN}) == CanonicalCall(
        tool="note", arguments={"content": PLAN}
    )
    assert plan.translate("update_plan", {"plan": PLAN, "explanation": "why"}) == CanonicalCall(
        tool="note", arguments={"content": PLAN, "explanation": "why"}
    )
    thought = adapter_of("think", "openhands").translate("think", {"thought": "hm"})
    assert thought == CanonicalCall(tool="note", arguments={"content": "hm"})


@pytest.mark.parametrize(
    ("name", "agent", "arguments", "message"),
    [
        ("TodoWrite", "claude-code", {}, "TodoWrite: the argument 'todos' is required"),
        ("TodoWrite", "claude-code", {"todos": "x"}, "'todos' must be a list, not str"),
        ("update_plan", "codex", {"explanation": "x"}, "update_plan: the argument 'plan' is"),
        ("update_plan", "codex", {"plan": {}}, "update_plan: the argument 'plan' must be a list"),
        ("update_plan", "codex", {"plan": [], "explanation": 3}, "'explanation' must be a string"),
        ("think", "openhands", {}, "think: the argument 'thought' is required"),
        ("think", "openhands", {"thought": ["a"]}, "'thought' must be a string, not list"),
    ],
)
def test_invalid_arguments_name_the_tool_and_the_argument(
    name: str, agent: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidToolArgumentsError, match=message):
        adapter_of(name, agent).translate(name, arguments)


@pytest.mark.parametrize(("name", "agent", "arguments", "reply"), NOTES)
def test_render_gives_the_harness_text(
    name: str, agent: str, arguments: dict[str, Any], reply: str
) -> None:
    adapter = adapter_of(name, agent)
    rendered = adapter.render(name, arguments, ToolOutcome(content="", meta={"duration_s": 0.1}))
    assert (rendered.content, rendered.is_error, rendered.meta) == (
        reply,
        False,
        {"duration_s": 0.1},
    )


def test_errors_pass_through_and_claude_code_words_them_its_way() -> None:
    error = ToolOutcome(
        content="note: bad", is_error=True, meta={"error_type": "InvalidToolArgumentsError"}
    )
    for name, agent, arguments, _ in NOTES[1:]:
        assert adapter_of(name, agent).render(name, arguments, error) == error
    claude = adapter_of("TodoWrite", "claude-code").render("TodoWrite", {"todos": TODOS}, error)
    assert claude.content == "<tool_use_error>note: bad</tool_use_error>" and claude.is_error
    assert claude.meta == error.meta


@pytest.mark.parametrize(("name", "agent", "arguments", "reply"), NOTES)
def test_notes_are_read_only_and_judges_see_no_change(
    name: str, agent: str, arguments: dict[str, Any], reply: str
) -> None:
    adapter = adapter_of(name, agent)
    assert adapter.read_only(name, arguments) and is_read_only(name, arguments, agent)
    before = describe_no_effect(name, arguments)  # what the opaque describer said
    assert adapter.describe(name, arguments) == before
    assert describe_call(name, arguments, agent) == before
    assert before.changes_state is False and before.canonical is None


def test_other_agents_think_is_still_described_and_read_only() -> None:
    assert describe_call("think", {"thought": "x"}) == describe_no_effect("think", {})
    assert is_read_only("think", {"thought": "x"})
    assert is_read_only("think", {"thought": "x"}, "claude-code")


# -- the note tool --------------------------------------------------------------------------------


async def test_the_note_tool_changes_nothing_and_needs_no_sandbox() -> None:
    tool = get_tool("note")
    assert "note" in TOOL_NAMES and "note" in LIVE_TOOL_NAMES
    assert (tool.name, tool.read_only, tool.needs_sandbox) == ("note", True, False)
    outcome = await tool.run({"content": TODOS}, None)
    assert outcome == ToolOutcome(content="")
    with pytest.raises(InvalidToolArgumentsError):
        await tool.run({}, None)
    with pytest.raises(InvalidToolArgumentsError):
        await tool.run({"content": 3}, None)


@pytest.mark.parametrize(("name", "agent", "arguments", "reply"), NOTES)
async def test_notes_run_live_through_the_router(
    name: str, agent: str, arguments: dict[str, Any], reply: str
) -> None:
    router = ToolRouter([], ReplayStore([]), None, ToolPolicy(), agent=agent)
    served = await router.call(ToolCall(id="c1", name=name, arguments=arguments))
    assert served.provenance == Provenance.EXECUTED
    assert (served.content, served.is_error, served.tool_call_id) == (reply, False, "c1")
    diagnostics = served.meta["diagnostics"]
    assert (diagnostics["chain"], diagnostics["canonical_tool"]) == ("live", "note")
    assert router.stats["executed"] == 1


async def test_the_router_refuses_a_note_without_its_argument_and_keeps_think_opaque() -> None:
    router = ToolRouter([], ReplayStore([]), None, ToolPolicy(), agent="claude-code")
    refused = await router.call(ToolCall(id="c1", name="TodoWrite", arguments={}))
    assert refused.provenance == Provenance.UNAVAILABLE and refused.is_error
    assert refused.meta["diagnostics"]["invalid"] == "invalid_arguments"
    assert "'todos' is required" in refused.content
    think = await router.call(ToolCall(id="c2", name="think", arguments={"thought": "x"}))
    assert think.provenance == Provenance.UNAVAILABLE
    assert think.meta["diagnostics"]["chain"] == "replay>unavailable"


# -- the user's answers ---------------------------------------------------------------------------


def test_the_user_answers_questions_and_plans() -> None:
    for name in ("AskUserQuestion", "ExitPlanMode"):
        assert is_user_answered(name) and is_user_answered(name, "claude-code")
    assert {"request_user_input", "ask_user", "ask_followup_question"} <= USER_ANSWERED
    for name in ("TodoWrite", "Bash", "think", "update_plan", "finish", "submit"):
        assert not is_user_answered(name, "claude-code")


def test_a_user_answered_name_with_an_adapter_is_not_one() -> None:
    class AutoApprove(NoteAdapter):
        names: tuple[str, ...] = ("ExitPlanMode",)
        argument = "plan"
        shape = str
        reply = "approved"

    register_adapter(AutoApprove(), agent="my-agent")
    try:
        assert not is_user_answered("ExitPlanMode", "my-agent")
        assert is_user_answered("ExitPlanMode", "claude-code")
    finally:
        unregister("ExitPlanMode", agent="my-agent")
    assert is_user_answered("ExitPlanMode", "my-agent")


# -- the real Claude Code log, replayed (real engine) --------------------------------------------


def fidelity_of_claude_code(folder: Path, *options: str) -> dict[str, Any]:
    """The ``understudy fidelity --json`` result of the real Claude Code session two."""
    sessions = folder / "claude-code.jsonl"
    runner = CliRunner()
    if not sessions.exists():
        imported = runner.invoke(
            app, ["import", "auto", str(LOGS / "claude-code"), "-o", str(sessions)]
        )
        assert imported.exit_code == 0, imported.output
    done = runner.invoke(app, ["fidelity", str(sessions), "--json", *options])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert document["overall"]["errors"] == 0
    by_id = {session["session_id"]: session for session in document["sessions"]}
    result: dict[str, Any] = by_id[CLAUDE_TWO]
    return result


@pytest.fixture(scope="module")
def claude_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not there")
    return tmp_path_factory.mktemp("notes")


def recorded_calls(folder: Path) -> dict[str, str]:
    """Tool name by call id, in the imported session."""
    for line in (folder / "claude-code.jsonl").read_text(encoding="utf-8").splitlines():
        session = json.loads(line)
        if session["id"] == CLAUDE_TWO:
            return {
                call["id"]: call["name"]
                for message in session["messages"]
                for call in message.get("tool_calls") or []
            }
    raise AssertionError(f"{CLAUDE_TWO} was not imported")


@pytest.mark.docker
@pytest.mark.slow
def test_fidelity_runs_the_todos_live_and_leaves_the_users_answers_out(
    claude_folder: Path,
) -> None:
    claude = fidelity_of_claude_code(claude_folder, "--sandbox", "docker")
    assert claude["error"] is None
    reasons = [mismatch["reason"] for mismatch in claude["mismatches"]]
    assert "no live implementation" not in reasons, claude["mismatches"]
    names = recorded_calls(claude_folder)
    assert sorted(name for name in names.values() if name in {"TodoWrite", "ExitPlanMode"}) == [
        "ExitPlanMode",
        "ExitPlanMode",
        "TodoWrite",
        "TodoWrite",
    ]
    mismatched = {mismatch["tool"] for mismatch in claude["mismatches"]}
    assert not mismatched & {"TodoWrite", "ExitPlanMode", "AskUserQuestion"}
    # Before: 9 compared, 4 matched (2 TodoWrite, 2 ExitPlanMode, 1 AskUserQuestion opaque).
    # Now the 3 answers of the user are not compared (9 - 3 = 6) and every compared call, the
    # 2 TodoWrite among them, matches.
    assert (claude["compared"], claude["matched"]) == (6, 6)


@pytest.mark.docker
@pytest.mark.slow
def test_a_tools_spec_that_names_a_user_answered_tool_is_obeyed(claude_folder: Path) -> None:
    claude = fidelity_of_claude_code(
        claude_folder, "--sandbox", "docker", "--tools", "live,AskUserQuestion=live"
    )
    assert (claude["compared"], claude["matched"]) == (7, 6)
    (mismatch,) = claude["mismatches"]
    assert (mismatch["tool"], mismatch["reason"]) == ("AskUserQuestion", "no live implementation")
