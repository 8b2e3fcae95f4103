"""The router's checks and policy chains, and the agent loop's stopping rules.

Tools here need no sandbox (calculator, browser, opaque tools), so no engine is needed; the
candidate is the real openai client talking to the scripted server on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

from understudy.errors import SimulatorError
from understudy.protocols import SimulationRequest
from understudy.replay.candidate import OpenAICandidate
from understudy.replay.loop import LoopLimits, run_rollout
from understudy.testing import ChatRequest, Fault, ScriptedServer, ScriptedTurn
from understudy.tools.base import ToolOutcome
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import (
    Message,
    Provenance,
    Rollout,
    Session,
    SourceInfo,
    ToolCall,
    ToolSpec,
)

WEB_SEARCH = ToolSpec(
    name="WebSearch",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
    },
)
CALCULATOR = ToolSpec(
    name="calculator",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)
TODO = ToolSpec(name="TodoRead", parameters={"type": "object", "properties": {}})
TOOLS = [WEB_SEARCH, CALCULATOR, TODO]

RECORDED = [
    Message(role="user", content="find the release date"),
    Message(
        role="assistant",
        tool_calls=[
            ToolCall(id="rec-1", name="WebSearch", arguments={"query": "python 3.13 release date"})
        ],
    ),
    Message(
        role="tool",
        tool_call_id="rec-1",
        name="WebSearch",
        content="Python 3.13.0 was released on October 7, 2024.",
        meta={"duration_s": 1.2},
    ),
]


def router(policy: str | None = None, **kwargs: Any) -> ToolRouter:
    return ToolRouter(TOOLS, ReplayStore(RECORDED), None, ToolPolicy.parse(policy), **kwargs)


def call(name: str, call_id: str = "c1", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


async def test_recorded_search_is_replayed_once_then_unavailable_with_a_near_miss() -> None:
    served = router()
    first = await served.call(call("WebSearch", query="python 3.13  release date"))
    assert first.provenance == Provenance.REPLAYED
    assert first.content == "Python 3.13.0 was released on October 7, 2024."
    assert first.meta["recorded_call_id"] == "rec-1"
    assert first.meta["duration_s"] == 1.2
    assert first.tool_call_id == "c1" and not first.is_error

    again = await served.call(call("WebSearch", "c2", query="python 3.13 release date"))
    assert again.provenance == Provenance.UNAVAILABLE
    assert again.is_error

    other = router()
    miss = await other.call(call("WebSearch", query="python 3.12 release date"))
    assert miss.provenance == Provenance.UNAVAILABLE
    near = miss.meta["diagnostics"]["near_misses"]
    assert near[0]["call_id"] == "rec-1"
    assert near[0]["recorded_arguments"] == {"query": "python 3.13 release date"}
    assert miss.meta["diagnostics"]["chain"] == "replay>unavailable"
    # The near miss was not served: the recording is still there for the exact call.
    exact = await other.call(call("WebSearch", "c3", query="python 3.13 release date"))
    assert exact.provenance == Provenance.REPLAYED
    assert other.stats == {"unavailable": 1, "replayed": 1, "errors": 1}


async def test_calculator_runs_live_and_invalid_calls_get_error_results() -> None:
    served = router()
    result = await served.call(call("calculator", expression="2 + 3 * 4"))
    assert result.provenance == Provenance.EXECUTED
    assert result.content.strip() == "14"
    # An executed result says how long it ran and that nothing was cut, shell or not.
    assert result.meta["duration_s"] > 0 and result.meta["truncated"] is False

    missing = await served.call(call("calculator", "c2"))
    assert missing.is_error and "'expression' is a required property" in missing.content
    wrong_type = await served.call(call("calculator", "c3", expression=7))
    assert wrong_type.is_error and "at 'expression'" in wrong_type.content
    unknown = await served.call(call("Teleport", "c4", to="mars"))
    assert unknown.is_error
    assert "does not exist. Available tools: TodoRead, WebSearch, calculator" in unknown.content
    broken = ToolCall(id="c5", name="calculator", arguments={}, raw_arguments='{"expression": ')
    garbled = await served.call(broken)
    assert garbled.is_error and "Could not parse the arguments of calculator" in garbled.content
    refused = await served.call(call("calculator", "c6", expression="__import__('os')"))
    assert refused.is_error and refused.provenance == Provenance.EXECUTED
    assert served.stats["invalid"] == 4
    # Refused calls say why in their diagnostics, not only in the text the model sees.
    kinds = {
        "invalid_arguments": [missing, wrong_type],
        "unknown_tool": [unknown],
        "unparsable_arguments": [garbled],
    }
    for kind, messages in kinds.items():
        for message in messages:
            assert message.meta["diagnostics"] == {"invalid": kind, "reason": message.content}
            assert message.meta["error_type"] in ("InvalidToolArgumentsError", "UnknownToolError")
    assert served.stats["executed"] == 2


async def test_opaque_tools_and_chains_without_a_way_to_serve() -> None:
    served = router("TodoRead=live>unavailable")
    todo = await served.call(call("TodoRead"))
    assert todo.provenance == Provenance.UNAVAILABLE
    assert todo.meta["diagnostics"]["live"] == "no live implementation (opaque tool)"
    browser_live = await router("WebSearch=live").call(call("WebSearch", query="x"))
    assert browser_live.provenance == Provenance.UNAVAILABLE
    assert "no live implementation" in browser_live.meta["diagnostics"]["live"]


async def test_simulate_step_uses_the_simulator_when_one_is_given() -> None:
    class Simulator:
        async def simulate(self, request: SimulationRequest) -> ToolOutcome | None:
            query = request.call.arguments["query"]
            if query == "down":
                raise SimulatorError("endpoint failed (HTTP 503)")
            return ToolOutcome(content=f"simulated results for {query}") if query else None

    without = await router("WebSearch=simulate>unavailable").call(call("WebSearch", query="q"))
    assert without.provenance == Provenance.UNAVAILABLE
    assert without.meta["diagnostics"]["simulate"] == "no simulator configured"
    served = router("WebSearch=replay>simulate>unavailable", simulator=Simulator())
    result = await served.call(call("WebSearch", query="weather"))
    assert result.provenance == Provenance.SIMULATED
    assert result.content == "simulated results for weather"
    # A simulator that fails, or has nothing to go on, passes to the next step with the reason.
    failed = await served.call(call("WebSearch", "w2", query="down"))
    assert failed.provenance == Provenance.UNAVAILABLE
    assert failed.meta["diagnostics"]["simulate"] == "simulator failed: endpoint failed (HTTP 503)"
    empty = await served.call(call("WebSearch", "w3", query=""))
    assert empty.meta["diagnostics"]["simulate"] == "the simulator had nothing to go on"


def calculator_session() -> Session:
    return Session(
        id="calc-loop",
        source=SourceInfo(format="native"),
        tools=TOOLS,
        messages=[Message(role="user", content="compute things")],
    )


def endless(_: object) -> ScriptedTurn:
    return ScriptedTurn(content="more", tool_calls=[("calculator", {"expression": "1+1"})])


async def rollout_and_requests(
    policy: Any, limits: LoopLimits, max_retries: int = 0
) -> tuple[Rollout, list[ChatRequest]]:
    """The rollout of ``calculator_session`` under ``policy``, and the requests the server got."""
    session = calculator_session()
    with ScriptedServer(policy) as server:
        candidate = OpenAICandidate("scripted", base_url=server.base_url, max_retries=max_retries)
        served = ToolRouter(session.tools, ReplayStore(session.messages), None)
        rollout = await run_rollout(session, 1, 0, candidate, served, limits)
        await candidate.close()
    return rollout, server.requests


async def rollout_with(policy: Any, limits: LoopLimits) -> Rollout:
    rollout, requests = await rollout_and_requests(policy, limits)
    # Every request offers the session's own tools: the same names, descriptions and schemas.
    offered = [
        {
            "type": "function",
            "function": {"name": s.name, "description": s.description, "parameters": s.parameters},
        }
        for s in TOOLS
    ]
    assert requests and all(request.tools == offered for request in requests)
    return rollout


async def test_loop_stops_at_max_steps_token_budget_and_timeout() -> None:
    capped = await rollout_with(endless, LoopLimits(max_steps=3))
    assert capped.status == "max_steps"
    assert [m.role for m in capped.messages] == ["assistant", "tool"] * 3
    assert capped.tool_stats == {"executed": 3}

    budget = await rollout_with(endless, LoopLimits(max_steps=50, token_budget=200))
    assert budget.status == "max_steps"
    assert budget.error is not None and "token budget of 200 spent" in budget.error
    assert budget.usage["total_tokens"] >= 200
    assert len(budget.messages) < 100

    slow = await rollout_with(
        lambda _: ScriptedTurn(content="late", delay_s=5), LoopLimits(timeout_s=0.5)
    )
    assert slow.status == "timeout"
    assert slow.messages == []


async def test_several_calls_in_one_turn_are_answered_in_order() -> None:
    turns = [
        ScriptedTurn(
            content="two at once",
            tool_calls=[
                ("calculator", {"expression": "6*7"}),
                ("calculator", {"expression": "2**10"}),
            ],
        ),
        ScriptedTurn(content="42 and 1024"),
    ]
    rollout = await rollout_with(turns, LoopLimits())
    assert rollout.status == "completed"
    answers = [m for m in rollout.messages if m.role == "tool"]
    calls = rollout.messages[0].tool_calls
    assert [a.tool_call_id for a in answers] == [c.id for c in calls]
    assert [a.content.strip() for a in answers] == ["42", "1024"]
    assert rollout.messages[-1].content == "42 and 1024"


async def test_each_turn_keeps_the_facts_of_its_model_call() -> None:
    script = [
        Fault.rate_limit(retry_after=0.01),
        ScriptedTurn(content="adding", tool_calls=[("calculator", {"expression": "1+2"})]),
        ScriptedTurn(content="3"),
    ]
    rollout, requests = await rollout_and_requests(script, LoopLimits(), max_retries=2)
    assert rollout.status == "completed"
    assert [request.retry_count for request in requests] == [0, 1, 0]
    first, _, last = rollout.messages
    assert first.meta["model_call"]["attempts"] == 2  # the 429, then the answer
    assert last.meta["model_call"]["attempts"] == 1
    assert first.meta["model_call"]["latency_s"] >= 0.01  # the back-off is in it
    assert first.meta["finish_reason"] == "tool_calls"  # the candidate's own meta is kept
    turns = [first.meta["model_call"]["usage"], last.meta["model_call"]["usage"]]
    assert all(usage["total_tokens"] > 0 for usage in turns)
    assert {key: turns[0][key] + turns[1][key] for key in turns[0]} == rollout.usage
