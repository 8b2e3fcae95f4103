"""Candidates: OpenAICandidate through the real openai client against the scripted server on
127.0.0.1, and OriginalCandidate playing a session back."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from understudy.errors import CandidateError, ConfigError
from understudy.protocols import Candidate
from understudy.replay.candidate import (
    LOCAL_API_KEY,
    CandidateEndpointError,
    OpenAICandidate,
    OriginalCandidate,
    WireForms,
)
from understudy.testing import (
    ChatRequest,
    Fault,
    RawReply,
    ScriptedServer,
    ScriptedTurn,
    count_tokens,
)
from understudy.trajectory import Message, Session, SourceInfo, ToolCall, ToolSpec
from understudy.wire import message_to_wire, tool_to_wire

SHELL = ToolSpec(
    name="shell",
    description="Run a shell command.",
    parameters={"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
)


@pytest.fixture(autouse=True)
def no_ambient_openai_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@asynccontextmanager
async def candidate_for(server: ScriptedServer, **settings: Any) -> AsyncIterator[OpenAICandidate]:
    candidate = OpenAICandidate(**{"model": "cand-1", "base_url": server.base_url, **settings})
    try:
        yield candidate
    finally:
        await candidate.close()


def user(text: str) -> list[Message]:
    return [Message(role="system", content="You are a coder."), Message(role="user", content=text)]


async def test_a_text_reply_becomes_an_assistant_message() -> None:
    with ScriptedServer([ScriptedTurn(content="All done.")]) as server:
        async with candidate_for(server) as candidate:
            reply = await candidate.complete(user("fix it"), [])
        message = reply.message
        assert message.role == "assistant"
        assert message.content == "All done."
        assert message.tool_calls == []
        assert message.reasoning is None
        assert message.meta == {"model": "cand-1", "finish_reason": "stop"}
        assert reply.attempts == 1
        assert reply.latency_s > 0
        prompt = 2 * 3 + count_tokens("You are a coder.") + count_tokens("fix it")
        completion = count_tokens("All done.")
        assert reply.usage == {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        (request,) = server.requests
        assert request.body["model"] == "cand-1"
        assert "tools" not in request.body  # omitted when no tools are offered
        assert request.messages == [
            {"role": "system", "content": "You are a coder."},
            {"role": "user", "content": "fix it"},
        ]
        assert request.api_key == LOCAL_API_KEY


async def test_sampling_parameters_and_extra_params_are_sent() -> None:
    with ScriptedServer([ScriptedTurn(content="ok")]) as server:
        settings: dict[str, Any] = {
            "temperature": 0.2,
            "max_tokens": 256,
            "seed": 11,
            "extra_params": {"top_p": 0.9, "reasoning_effort": "low"},
        }
        async with candidate_for(server, **settings) as candidate:
            assert candidate.params == {
                "temperature": 0.2,
                "max_tokens": 256,
                "seed": 11,
                "top_p": 0.9,
                "reasoning_effort": "low",
            }
            await candidate.complete(user("hi"), [])
        body = server.requests[0].body
        assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.2, 256, 11)
        assert (body["top_p"], body["reasoning_effort"]) == (0.9, "low")


async def test_unset_parameters_are_not_sent() -> None:
    with ScriptedServer([ScriptedTurn(content="ok")]) as server:
        async with candidate_for(server) as candidate:
            assert candidate.params == {}
            await candidate.complete(user("hi"), [])
        body = server.requests[0].body
        assert not {"temperature", "max_tokens", "seed"} & set(body)


async def test_tool_calls_round_trip() -> None:
    turn = ScriptedTurn(
        content="Let me look.",
        tool_calls=[("shell", {"cmd": "ls"}), ("shell", {"cmd": "git status", "timeout": 5})],
        reasoning="Check the tree first.",
    )
    with ScriptedServer([turn]) as server:
        async with candidate_for(server) as candidate:
            reply = await candidate.complete(user("what is here?"), [SHELL])
        message = reply.message
        assert message.content == "Let me look."
        assert message.reasoning == "Check the tree first."
        assert message.meta["finish_reason"] == "tool_calls"
        assert message.tool_calls == [
            ToolCall(id="call_0_0", name="shell", arguments={"cmd": "ls"}),
            ToolCall(id="call_0_1", name="shell", arguments={"cmd": "git status", "timeout": 5}),
        ]
        assert server.requests[0].tools == [
            {
                "type": "function",
                "function": {
                    "name": "shell",
                    "description": "Run a shell command.",
                    "parameters": SHELL.parameters,
                },
            }
        ]


@pytest.mark.parametrize("raw", ["{'cmd': 'ls'", '["ls"]', '"ls"', "null"])
async def test_malformed_arguments_are_kept_raw(raw: str) -> None:
    with ScriptedServer([ScriptedTurn(tool_calls=[("shell", raw)])]) as server:
        async with candidate_for(server) as candidate:
            reply = await candidate.complete(user("go"), [SHELL])
        (call,) = reply.message.tool_calls
        assert call.id == "call_0_0"
        assert call.name == "shell"
        assert call.arguments == {}
        assert call.raw_arguments == raw


async def test_empty_arguments_mean_no_arguments() -> None:
    with ScriptedServer([ScriptedTurn(tool_calls=[("list_files", "")])]) as server:
        async with candidate_for(server) as candidate:
            reply = await candidate.complete(user("go"), [])
        (call,) = reply.message.tool_calls
        assert (call.arguments, call.raw_arguments) == ({}, None)


async def test_the_conversation_is_sent_in_the_wire_format() -> None:
    messages = [
        *user("fix the bug"),
        Message(
            role="assistant",
            content="",
            reasoning="secret thoughts",
            tool_calls=[
                ToolCall(id="c1", name="shell", arguments={"cmd": "pytest -q"}),
                ToolCall(id="c2", name="shell", raw_arguments="{'cmd': broken"),
            ],
            meta={"model": "old"},
        ),
        Message(role="tool", tool_call_id="c1", name="shell", content="1 failed", is_error=True),
        Message(role="tool", tool_call_id="c2", name="shell", content="invalid arguments"),
        Message(role="assistant", content="Found it."),
        Message(role="user", content="Go on."),
    ]
    with ScriptedServer([ScriptedTurn(content="ok")]) as server:
        async with candidate_for(server) as candidate:
            await candidate.complete(messages, [SHELL])
        sent = server.requests[0].messages
    assert sent[2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "shell", "arguments": '{"cmd": "pytest -q"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "shell", "arguments": "{'cmd': broken"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "1 failed"},
        {"role": "tool", "tool_call_id": "c2", "content": "invalid arguments"},
        {"role": "assistant", "content": "Found it."},
        {"role": "user", "content": "Go on."},
    ]
    assert "secret thoughts" not in json.dumps(server.requests[0].body)


@pytest.mark.parametrize(
    "content",
    [
        "caf\u00e9 \u2713 \U0001f600",  # sent as UTF-8
        "half of a pair: \udc80",  # a lone surrogate (a log may hold one): sent escaped
    ],
)
async def test_any_text_of_a_conversation_reaches_the_endpoint(content: str) -> None:
    with ScriptedServer([ScriptedTurn(content="ok")]) as server:
        async with candidate_for(server) as candidate:
            reply = await candidate.complete([*user(content)], [SHELL])
        sent = server.requests[0].messages
    assert reply.message.content == "ok"
    assert sent[-1] == {"role": "user", "content": content}


async def test_a_policy_agent_reacts_to_tool_results() -> None:
    def policy(request: ChatRequest) -> ScriptedTurn:
        results = request.tool_results()
        if not results:
            return ScriptedTurn(tool_calls=[("shell", {"cmd": "python -V"})])
        return ScriptedTurn(content=f"You run {request.tool_result_text().strip()}.")

    with ScriptedServer(policy) as server:
        async with candidate_for(server) as candidate:
            messages = user("which python?")
            first = await candidate.complete(messages, [SHELL])
            (call,) = first.message.tool_calls
            messages += [
                first.message,
                Message(role="tool", tool_call_id=call.id, content="Python 3.11.7\n"),
            ]
            second = await candidate.complete(messages, [SHELL])
        assert second.message.content == "You run Python 3.11.7."
        assert second.message.tool_calls == []
        assert server.requests[1].tool_results() == [
            {"role": "tool", "tool_call_id": call.id, "content": "Python 3.11.7\n"}
        ]


async def test_a_rate_limit_is_retried_with_back_off() -> None:
    script = [Fault.rate_limit(retry_after=0.1), ScriptedTurn(content="finally")]
    with ScriptedServer(script) as server:
        async with candidate_for(server, max_retries=2) as candidate:
            started = time.monotonic()
            reply = await candidate.complete(user("hi"), [])
            elapsed = time.monotonic() - started
        assert reply.message.content == "finally"
        assert reply.attempts == 2
        assert len(server.requests) == 2
        assert [request.retry_count for request in server.requests] == [0, 1]
        assert elapsed >= 0.1  # the client waited as Retry-After asked
        assert reply.latency_s >= 0.1


async def test_server_errors_raise_after_the_configured_retries() -> None:
    secret = "PAYLOAD-5d41402a"
    with ScriptedServer(lambda request: Fault.server_error(retry_after=0.01)) as server:
        async with candidate_for(server, max_retries=3) as candidate:
            with pytest.raises(CandidateError) as caught:
                await candidate.complete(user(secret), [])
        assert len(server.requests) == 1 + 3
    error = caught.value
    assert isinstance(error, CandidateEndpointError)
    assert error.status_code == 500
    assert error.attempts == 4
    assert "HTTP 500" in str(error)
    assert "4 attempts" in str(error)
    assert "scripted server error" in str(error)
    assert secret not in str(error)


async def test_a_client_error_is_not_retried() -> None:
    fault = Fault(status=400, message="model not found", error_type="invalid_request_error")
    with ScriptedServer([fault]) as server:
        async with candidate_for(server, max_retries=3) as candidate:
            with pytest.raises(CandidateEndpointError) as caught:
                await candidate.complete(user("hi"), [])
        assert len(server.requests) == 1
    assert caught.value.status_code == 400
    assert caught.value.attempts == 1
    assert "invalid_request_error: model not found" in str(caught.value)


async def test_a_reply_slower_than_the_timeout_is_retried_then_fails() -> None:
    script = [ScriptedTurn(content="late", delay_s=10), ScriptedTurn(content="late", delay_s=10)]
    with ScriptedServer(script) as server:
        async with candidate_for(server, timeout_s=0.2, max_retries=1) as candidate:
            with pytest.raises(CandidateEndpointError) as caught:
                await candidate.complete(user("hi"), [])
        # The client gives up on a request before the server has necessarily logged it.
        deadline = time.monotonic() + 5
        while len(server.requests) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert len(server.requests) == 2
    assert caught.value.status_code is None
    assert caught.value.attempts == 2
    assert "no answer within 0.2 s" in str(caught.value)


async def test_an_unreachable_endpoint_fails_with_a_clear_reason() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    candidate = OpenAICandidate("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    try:
        with pytest.raises(CandidateEndpointError) as caught:
            await candidate.complete(user("hi"), [])
    finally:
        await candidate.close()
    assert caught.value.status_code is None
    assert f"cannot reach http://127.0.0.1:{port}/v1" in str(caught.value)


async def test_an_exhausted_script_surfaces_as_a_clear_candidate_error() -> None:
    with ScriptedServer([]) as server:
        async with candidate_for(server, max_retries=4) as candidate:
            with pytest.raises(CandidateError, match="script is exhausted") as caught:
                await candidate.complete(user("hi"), [])
        assert len(server.requests) == 1  # not retried
    assert "script_exhausted" in str(caught.value)


async def test_concurrent_calls_count_their_own_attempts() -> None:
    def policy(request: ChatRequest) -> ScriptedTurn | Fault:
        text = request.messages[-1]["content"]
        if text == "flaky" and request.retry_count < 2:
            return Fault.rate_limit(retry_after=0.05)
        return ScriptedTurn(content=f"answer to {text}", delay_s=0.05)

    with ScriptedServer(policy) as server:
        async with candidate_for(server) as candidate:
            flaky, steady = await asyncio.gather(
                candidate.complete(user("flaky"), []), candidate.complete(user("steady"), [])
            )
    assert (flaky.attempts, flaky.message.content) == (3, "answer to flaky")
    assert (steady.attempts, steady.message.content) == (1, "answer to steady")


async def test_the_server_counts_the_requests_it_answers_at_once() -> None:
    """The scripted server's in-flight count, which the engine's concurrency tests rely on."""
    with ScriptedServer(lambda request: ScriptedTurn(content="ok", delay_s=0.2)) as server:
        async with candidate_for(server) as candidate:
            await candidate.complete(user("alone"), [])
            assert server.peak_in_flight == 1
            await asyncio.gather(*(candidate.complete(user(f"n{i}"), []) for i in range(3)))
        assert server.peak_in_flight == 3
        assert server.in_flight == 0
        assert len(server.requests) == 4


async def test_the_key_comes_from_the_named_variable_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-meant-for-another-endpoint")
    monkeypatch.setenv("LOCAL_MODEL_KEY", "local-key")
    with ScriptedServer([ScriptedTurn(content="a"), ScriptedTurn(content="b")]) as server:
        async with candidate_for(server, api_key_env="LOCAL_MODEL_KEY") as candidate:
            await candidate.complete(user("hi"), [])
        monkeypatch.delenv("LOCAL_MODEL_KEY")
        async with candidate_for(server, api_key_env="LOCAL_MODEL_KEY") as candidate:
            await candidate.complete(user("hi"), [])
        assert [request.api_key for request in server.requests] == ["local-key", LOCAL_API_KEY]


def test_a_remote_endpoint_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="set the environment variable MY_KEY"):
        OpenAICandidate("m", base_url="https://models.example.com/v1", api_key_env="MY_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAICandidate("m")
    with pytest.raises(ConfigError, match="max_retries"):
        OpenAICandidate("m", base_url="http://localhost:1/v1", max_retries=-1)


async def test_close_is_idempotent_and_final() -> None:
    with ScriptedServer([ScriptedTurn(content="unused")]) as server:
        candidate = OpenAICandidate("m", base_url=server.base_url)
        assert isinstance(candidate, Candidate)
        await candidate.close()
        await candidate.close()
        with pytest.raises(CandidateError, match="closed"):
            await candidate.complete(user("hi"), [])
        assert server.requests == []


def test_message_to_wire_sends_text_for_a_turn_without_tool_calls() -> None:
    assert message_to_wire(Message(role="assistant", content="", reasoning="r")) == {
        "role": "assistant",
        "content": "",
    }
    wire = message_to_wire(
        Message(
            role="assistant",
            content="Running it.",
            tool_calls=[ToolCall(id="x", name="calc", arguments={"expr": "1+1"})],
        )
    )
    assert wire["content"] == "Running it."


# -- OriginalCandidate -------------------------------------------------------------------------


def call(call_id: str, cmd: str) -> ToolCall:
    return ToolCall(id=call_id, name="shell", arguments={"cmd": cmd})


def recorded_session(model: str | None = "recorded-model") -> Session:
    return Session(
        id="s1",
        source=SourceInfo(format="native", model=model),
        tools=[SHELL],
        messages=[
            Message(role="system", content="You are a coder."),
            Message(role="user", content="Make the tests pass."),
            Message(role="assistant", content="Running tests.", tool_calls=[call("t1", "pytest")]),
            Message(role="tool", tool_call_id="t1", content="1 failed"),
            Message(
                role="assistant",
                content="",
                reasoning="fix the import",
                tool_calls=[call("t2", "sed -i s/a/b/ x.py"), call("t3", "pytest")],
                meta={"usage": {"prompt_tokens": 120, "completion_tokens": 30}},
            ),
            Message(role="tool", tool_call_id="t2", content=""),
            Message(role="tool", tool_call_id="t3", content="3 passed"),
            Message(role="user", content="Thanks, anything else?"),
            Message(role="assistant", content="All tests pass now."),
        ],
    )


async def play(
    candidate: OriginalCandidate,
    session: Session,
    cut: int,
    results: Callable[[ToolCall], str] = lambda tool_call: "live output",
) -> list[Message]:
    """A minimal agent loop: everything after the cut comes from the candidate."""
    messages = list(session.messages[:cut])
    produced: list[Message] = []
    for _ in range(10):
        reply = await candidate.complete(messages, session.tools)
        produced.append(reply.message)
        messages.append(reply.message)
        if not reply.message.tool_calls:
            break
        for tool_call in reply.message.tool_calls:
            result = Message(role="tool", tool_call_id=tool_call.id, content=results(tool_call))
            produced.append(result)
            messages.append(result)
    return produced


async def test_original_candidate_plays_the_recorded_turns_in_order() -> None:
    session = recorded_session()
    candidate = OriginalCandidate(session)
    assert isinstance(candidate, Candidate)
    assert candidate.model == "recorded-model"
    assert candidate.params == {}
    produced = await play(candidate, session, cut=2)
    assistant = [message for message in produced if message.role == "assistant"]
    # The last recorded assistant turn answers a user message the loop never adds; it is still
    # the next recorded assistant turn, so it is played (and, having no tool calls, ends the loop).
    assert [message.content for message in assistant] == [
        "Running tests.",
        "",
        "All tests pass now.",
    ]
    assert [[c.id for c in message.tool_calls] for message in assistant] == [
        ["t1"],
        ["t2", "t3"],
        [],
    ]
    assert [message.meta["recorded_index"] for message in assistant] == [2, 4, 8]
    assert assistant[1].reasoning == "fix the import"
    assert assistant[1].meta["model"] == "recorded-model"
    assert assistant[1].meta["finish_reason"] == "tool_calls"
    # Asked once more, it has nothing left: an empty turn without tool calls.
    reply = await candidate.complete([*session.messages[:2], *produced], session.tools)
    assert (reply.message.content, reply.message.tool_calls) == ("", [])
    await candidate.close()


async def test_original_candidate_ends_with_an_empty_message_past_the_recording() -> None:
    session = recorded_session(model=None)
    candidate = OriginalCandidate(session)
    assert candidate.model == "original"
    reply = await candidate.complete(session.messages, session.tools)
    assert reply.message.role == "assistant"
    assert reply.message.content == ""
    assert reply.message.tool_calls == []
    assert reply.message.meta["end_of_recording"] is True
    assert reply.usage == {}


async def test_original_candidate_starts_at_the_cut_and_reports_recorded_usage() -> None:
    session = recorded_session()
    candidate = OriginalCandidate(session)
    reply = await candidate.complete(session.messages[:4], session.tools)
    assert [c.id for c in reply.message.tool_calls] == ["t2", "t3"]
    assert reply.usage == {"prompt_tokens": 120, "completion_tokens": 30}
    assert reply.message is not session.messages[4]
    reply.message.tool_calls.clear()
    assert len(session.messages[4].tool_calls) == 2  # the session is never mutated


async def test_the_body_goes_out_as_built_with_extra_params_merged_last() -> None:
    """The request is posted as the wire format has it, not reshaped by the SDK's typed
    parameters: messages and tools exactly as ``message_to_wire`` builds them, and an extra
    parameter overriding a setting of the same name (as the client's ``extra_body`` does)."""
    tool = ToolSpec(name="bash", parameters={"type": "object", "properties": {}})
    messages = [*user("list files"), Message(role="assistant", content="Looking.")]
    with ScriptedServer([ScriptedTurn(content="ok")]) as server:
        async with candidate_for(
            server, temperature=0.2, extra_params={"temperature": 0.7}
        ) as candidate:
            await candidate.complete(messages, [tool])
            model = candidate.model
    body = server.requests[0].body
    assert body["messages"] == [message_to_wire(message) for message in messages]
    assert body["tools"] == [tool_to_wire(tool)]
    assert body["temperature"] == 0.7
    assert body["model"] == model


async def test_an_answer_the_sdk_tolerates_but_validation_refuses_is_still_read() -> None:
    """A completion without ``created``, ``model`` and ``object`` (some local servers send
    none) fails strict validation; it is read the SDK's lenient way instead."""
    lenient = json.dumps(
        {
            "id": "c1",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
        }
    )
    with ScriptedServer([RawReply(body=lenient)]) as server:
        async with candidate_for(server) as candidate:
            reply = await candidate.complete(user("hi"), [])
    assert reply.message.content == "hi"
    assert reply.attempts == 1


async def test_a_conversation_sent_again_goes_out_as_it_is_now() -> None:
    messages = user("hi")
    call = ToolCall(id="c1", name="shell", arguments={"cmd": "ls"})
    messages.append(Message(role="assistant", content="", tool_calls=[call]))
    messages.append(Message(role="tool", content="a.txt\n", tool_call_id="c1"))
    as_first_sent = list(messages)
    with ScriptedServer([ScriptedTurn(content="one"), ScriptedTurn(content="two")]) as server:
        async with candidate_for(server) as candidate:
            await candidate.complete(messages, [SHELL])
            messages[-1] = messages[-1].model_copy(update={"content": "b.txt\n"})
            await candidate.complete(messages, [SHELL])
        first, second = (request.messages for request in server.requests)
    assert first == [message_to_wire(message) for message in as_first_sent]
    assert second == [message_to_wire(message) for message in messages]
    assert second[-1]["content"] == "b.txt\n"


def test_wire_forms_are_kept_for_the_latest_messages_only() -> None:
    forms = WireForms(2)
    made = [Message(role="user", content=str(number)) for number in range(3)]
    first = forms.of(made[0])
    assert forms.of(made[0]) is first  # kept: made once
    forms.of(made[1])
    forms.of(made[2])  # the third: the oldest goes
    assert forms.of(made[0]) is not first
    assert forms.of(made[0]) == first == {"role": "user", "content": "0"}
    assert len(forms) == 2
    del made[:]  # messages gone: their forms go with them
    assert len(forms) == 0
