"""The discriminator, driven through the real openai client against the scripted server: the
label order comes from its seed, and it reports whether the model picked the real result."""

from __future__ import annotations

import json

import pytest

from understudy.errors import SimulatorError
from understudy.replay.simulate.discriminator import DISCRIMINATOR_SCHEMA, Discriminator
from understudy.replay.simulate.endpoint import SimulatorEndpoint
from understudy.testing import ChatRequest, Fault, ScriptedServer, ScriptedTurn
from understudy.trajectory import Message, ToolCall

REAL = "REAL-OUTPUT: 3 passed in 0.02s"
FAKE = "SIMULATED-OUTPUT: 3 passed"
CALL = ToolCall(id="c1", name="Bash", arguments={"command": "pytest -q"})
CONVERSATION = [
    Message(role="user", content="EARLY-MESSAGE"),
    *[Message(role="assistant", content=f"turn {n}") for n in range(10)],
    Message(role="assistant", tool_calls=[CALL]),
]


def real_label(request: ChatRequest) -> str:
    """The label the real result is shown under in a request."""
    text = request.messages[-1]["content"]
    return "A" if text.index(REAL) < text.index("## Result B") else "B"


def answer(label: str) -> ScriptedTurn:
    return ScriptedTurn(content=json.dumps({"real": label, "reason": "formatting"}))


async def picks_of(seed: int, policy_label: str | None, calls: int = 8) -> list[tuple[str, bool]]:
    """(label of the real result, whether the model was right) for ``calls`` questions; the
    model answers ``policy_label``, or the real label when None."""

    def policy(request: ChatRequest) -> ScriptedTurn:
        return answer(policy_label or real_label(request))

    with ScriptedServer(policy) as server:
        endpoint = SimulatorEndpoint("judge-model", base_url=server.base_url)
        discriminator = Discriminator(endpoint, seed=seed)
        results = [
            await discriminator.pick_real(CONVERSATION, CALL, REAL, FAKE) for _ in range(calls)
        ]
        await endpoint.close()
        requests = server.requests
    labels = [pick.real_label for pick in discriminator.picks]
    assert labels == [real_label(request) for request in requests]  # recorded as shown
    return list(zip(labels, results, strict=True))


async def test_the_order_is_drawn_from_the_seed() -> None:
    first = await picks_of(7, None)
    assert first == await picks_of(7, None)
    assert {label for label, _ in first} == {"A", "B"}
    assert [label for label, _ in first] != [label for label, _ in await picks_of(8, None)]


async def test_it_reports_whether_the_model_picked_the_real_result() -> None:
    assert all(correct for _, correct in await picks_of(3, None))
    always_a = await picks_of(3, "A")
    assert [correct for _, correct in always_a] == [label == "A" for label, _ in always_a]
    assert not all(correct for _, correct in always_a)


async def test_the_request_shows_the_end_of_the_conversation_the_call_and_both_results() -> None:
    with ScriptedServer([answer("A")]) as server:
        endpoint = SimulatorEndpoint("judge-model", base_url=server.base_url)
        await Discriminator(endpoint).pick_real(CONVERSATION, CALL, REAL, FAKE)
        await endpoint.close()
        (request,) = server.requests
    text = request.messages[-1]["content"]
    assert REAL in text and FAKE in text and "pytest -q" in text
    assert "turn 9" in text and "EARLY-MESSAGE" not in text  # the last messages only
    assert request.body["response_format"]["json_schema"]["schema"] == DISCRIMINATOR_SCHEMA


async def test_an_endpoint_failure_raises() -> None:
    with ScriptedServer(lambda request: Fault.server_error()) as server:
        endpoint = SimulatorEndpoint("judge-model", base_url=server.base_url, max_retries=0)
        with pytest.raises(SimulatorError, match="HTTP 500"):
            await Discriminator(endpoint).pick_real(CONVERSATION, CALL, REAL, FAKE)
        await endpoint.close()
