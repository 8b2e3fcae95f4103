"""The scripted model server, driven through the real ``openai`` client over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from understudy.testing import ChatRequest, Fault, ScriptedServer, ScriptedTurn, count_tokens


@pytest.fixture
def clients() -> Iterator[list[openai.OpenAI]]:
    """OpenAI clients made by a test; closed afterwards."""
    made: list[openai.OpenAI] = []
    yield made
    for client in made:
        client.close()


def client_for(
    server: ScriptedServer, made: list[openai.OpenAI], max_retries: int = 0, timeout: float = 10
) -> openai.OpenAI:
    client = openai.OpenAI(
        base_url=server.base_url, api_key="test-key", max_retries=max_retries, timeout=timeout
    )
    made.append(client)
    return client


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def raw_post(server: ScriptedServer, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        server.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_a_plain_turn_answers_in_the_wire_format(clients: list[openai.OpenAI]) -> None:
    with ScriptedServer([ScriptedTurn(content="hello there")]) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/v1")
        completion = client_for(server, clients).chat.completions.create(
            model="some-model", messages=user("hi"), temperature=0.3, max_tokens=50, seed=7
        )
        assert completion.object == "chat.completion"
        assert completion.model == "some-model"
        choice = completion.choices[0]
        assert choice.message.role == "assistant"
        assert choice.message.content == "hello there"
        assert choice.message.tool_calls is None
        assert choice.finish_reason == "stop"
        assert completion.usage is not None
        assert completion.usage.completion_tokens == count_tokens("hello there")
        assert completion.usage.prompt_tokens == 3 + count_tokens("hi")
        assert completion.usage.total_tokens == (
            completion.usage.prompt_tokens + completion.usage.completion_tokens
        )

        (request,) = server.requests
        assert request.index == 0
        assert request.model == "some-model"
        assert request.messages == [{"role": "user", "content": "hi"}]
        assert (request.temperature, request.max_tokens, request.seed) == (0.3, 50, 7)
        assert request.tools == []
        assert request.api_key == "test-key"
        assert request.retry_count == 0
        assert server.exhausted
        assert server.errors == []


def test_tool_calls_carry_ids_names_and_json_arguments(clients: list[openai.OpenAI]) -> None:
    turn = ScriptedTurn(
        content=None,
        tool_calls=[("shell", {"cmd": "ls -la"}), ("read_file", {"path": "a.py"})],
        reasoning="look first",
    )
    tools: Any = [{"type": "function", "function": {"name": "shell", "parameters": {}}}]
    with ScriptedServer([turn]) as server:
        completion = client_for(server, clients).chat.completions.create(
            model="m", messages=user("list"), tools=tools
        )
        message = completion.choices[0].message
        assert completion.choices[0].finish_reason == "tool_calls"
        assert message.content is None
        assert message.model_extra == {"reasoning_content": "look first"}
        calls: Any = message.tool_calls
        assert [call.id for call in calls] == ["call_0_0", "call_0_1"]
        assert [call.function.name for call in calls] == ["shell", "read_file"]
        assert [json.loads(call.function.arguments) for call in calls] == [
            {"cmd": "ls -la"},
            {"path": "a.py"},
        ]
        assert server.requests[0].tool_names == ["shell"]


def test_raw_string_arguments_are_sent_verbatim(clients: list[openai.OpenAI]) -> None:
    with ScriptedServer([ScriptedTurn(tool_calls=[("shell", "{'cmd': ls")])]) as server:
        completion = client_for(server, clients).chat.completions.create(
            model="m", messages=user("go")
        )
        calls: Any = completion.choices[0].message.tool_calls
        assert calls[0].function.arguments == "{'cmd': ls"


def test_a_policy_sees_the_tool_results_of_the_request(clients: list[openai.OpenAI]) -> None:
    def policy(request: ChatRequest) -> ScriptedTurn:
        if not request.tool_results():
            return ScriptedTurn(tool_calls=[("shell", {"cmd": "cat VERSION"})])
        return ScriptedTurn(content=f"The version is {request.tool_result_text().strip()}.")

    with ScriptedServer(policy) as server:
        client = client_for(server, clients)
        messages: list[Any] = user("which version?")
        first = client.chat.completions.create(model="m", messages=messages).choices[0].message
        call: Any = first.tool_calls[0] if first.tool_calls else None
        assert call is not None and call.function.name == "shell"
        messages += [
            first.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "4.2.0\n"},
        ]
        second = client.chat.completions.create(model="m", messages=messages).choices[0].message
        assert second.content == "The version is 4.2.0."
        assert server.remaining is None
        assert not server.exhausted
        assert server.requests[1].tool_results() == [
            {"role": "tool", "tool_call_id": call.id, "content": "4.2.0\n"}
        ]


def test_a_rate_limit_sends_retry_after_headers() -> None:
    with ScriptedServer([Fault.rate_limit(retry_after=0.01)]) as server:
        status, headers, body = raw_post(server, {"model": "m", "messages": []})
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert headers["retry-after-ms"] == "10"
    assert body["error"]["type"] == "rate_limit_exceeded"


def test_the_client_retries_a_rate_limit_then_succeeds(clients: list[openai.OpenAI]) -> None:
    script = [Fault.rate_limit(retry_after=0.05), ScriptedTurn(content="ok")]
    with ScriptedServer(script) as server:
        started = time.monotonic()
        response = client_for(server, clients, max_retries=2).chat.completions.with_raw_response
        raw = response.create(model="m", messages=user("hi"))
        elapsed = time.monotonic() - started
        assert raw.parse().choices[0].message.content == "ok"
        assert raw.retries_taken == 1
        assert [request.retry_count for request in server.requests] == [0, 1]
        assert elapsed >= 0.05


def test_server_errors_and_custom_faults(clients: list[openai.OpenAI]) -> None:
    script = [
        Fault.server_error(status=503),
        Fault(status=400, message="bad request", error_type="invalid_request_error"),
    ]
    with ScriptedServer(script) as server:
        client = client_for(server, clients)
        with pytest.raises(openai.InternalServerError) as server_error:
            client.chat.completions.create(model="m", messages=user("hi"))
        assert server_error.value.status_code == 503
        with pytest.raises(openai.BadRequestError) as bad_request:
            client.chat.completions.create(model="m", messages=user("hi"))
        assert bad_request.value.body == {
            "message": "bad request",
            "type": "invalid_request_error",
            "code": "invalid_request_error",
            "param": None,
        }


def test_an_exhausted_script_fails_loudly_and_is_not_retried(
    clients: list[openai.OpenAI],
) -> None:
    with ScriptedServer([ScriptedTurn(content="only one")]) as server:
        client = client_for(server, clients, max_retries=3)
        client.chat.completions.create(model="m", messages=user("1"))
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="m", messages=user("2"))
        error: Any = caught.value.body
        assert error["type"] == "script_exhausted"
        assert "script is exhausted" in error["message"]
        assert "request #2" in error["message"]
        assert len(server.requests) == 2  # x-should-retry: false stopped the client's retries
        assert len(server.errors) == 1


def test_a_failing_policy_is_reported_to_the_client(clients: list[openai.OpenAI]) -> None:
    def policy(request: ChatRequest) -> ScriptedTurn:
        raise KeyError("no such branch")

    with ScriptedServer(policy) as server:
        with pytest.raises(openai.InternalServerError) as caught:
            client_for(server, clients, max_retries=2).chat.completions.create(
                model="m", messages=user("hi")
            )
        error: Any = caught.value.body
        assert error["type"] == "policy_error"
        assert "KeyError" in error["message"]
        assert len(server.requests) == 1
        assert server.errors == [error["message"]]


def test_a_slow_reply_times_the_client_out_and_close_does_not_wait_for_it(
    clients: list[openai.OpenAI],
) -> None:
    server = ScriptedServer([ScriptedTurn(content="late", delay_s=30)]).start()
    try:
        with pytest.raises(openai.APITimeoutError):
            client_for(server, clients, timeout=0.2).chat.completions.create(
                model="m", messages=user("hi")
            )
    finally:
        started = time.monotonic()
        server.close()
    assert time.monotonic() - started < 2


def test_a_slow_reply_within_the_timeout_is_answered(clients: list[openai.OpenAI]) -> None:
    with ScriptedServer([ScriptedTurn(content="late", delay_s=0.1)]) as server:
        started = time.monotonic()
        completion = client_for(server, clients).chat.completions.create(
            model="m", messages=user("hi")
        )
        assert completion.choices[0].message.content == "late"
        assert time.monotonic() - started >= 0.1


def test_models_are_listed(clients: list[openai.OpenAI]) -> None:
    with ScriptedServer([], models=["alpha", "beta"]) as server:
        models = client_for(server, clients).models.list()
        assert [model.id for model in models.data] == ["alpha", "beta"]


def test_bad_requests_are_rejected() -> None:
    with ScriptedServer([ScriptedTurn(content="unused")]) as server:
        status, _, body = raw_post(server, {"model": "m", "messages": [], "stream": True})
        assert status == 400
        assert "does not stream" in body["error"]["message"]
        request = urllib.request.Request(server.base_url + "/nowhere", method="GET")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 404
        assert server.remaining == 1  # nothing consumed the script


def test_close_joins_every_thread_even_with_idle_keep_alive_connections(
    clients: list[openai.OpenAI],
) -> None:
    before = set(threading.enumerate())
    with ScriptedServer([ScriptedTurn(content="a"), ScriptedTurn(content="b")]) as server:
        client = client_for(server, clients)  # keeps its connection open after each call
        client.chat.completions.create(model="m", messages=user("1"))
        client.chat.completions.create(model="m", messages=user("2"))
        assert len(set(threading.enumerate()) - before) >= 2  # serve loop + a handler
        started = time.monotonic()
    assert time.monotonic() - started < 2
    assert set(threading.enumerate()) - before == set()
    server.close()  # a second close is harmless


def test_token_counts_are_deterministic() -> None:
    assert count_tokens("") == 0
    assert count_tokens("abcd") == 1
    assert count_tokens("abcde") == 2
