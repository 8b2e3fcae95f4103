"""The LLM simulator and its endpoint, driven through the real openai client against the scripted
server: structured replies, retries of malformed replies and failed requests, the fallback for
endpoints without structured output, the reply cache, and the context it is shown (real pairs,
earlier results, facts from a live sandbox)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from understudy.errors import SimulatorError
from understudy.protocols import Sandbox, SimulationRequest
from understudy.replay.pairs import PairStore, build_from_sessions
from understudy.replay.pairs.query import tool_and_text
from understudy.replay.simulate.adapt import pair_confidence
from understudy.replay.simulate.context import container_facts, related_results
from understudy.replay.simulate.endpoint import SimulatorEndpoint, request_key
from understudy.replay.simulate.llm import LLMSimulator
from understudy.replay.simulate.llm_prompt import PROMPT_CHARS, REPLY_SCHEMA, user_prompt
from understudy.testing import MALFORMED_REPLIES, ChatRequest, Fault, ScriptedServer, ScriptedTurn
from understudy.trajectory import Message, Session, SourceInfo, ToolCall, ToolSpec

if TYPE_CHECKING:
    from conftest import SandboxFactory

AGENT = "claude-code"
BASH = ToolSpec(
    name="Bash",
    description="Executes a given bash command in a persistent shell session.",
    parameters={
        "type": "object",
        "properties": {"command": {"type": "string", "description": "The command to execute"}},
        "required": ["command"],
    },
)
RECORDED_TEST_RUN = "..F\nFAILED tests/test_calc.py::test_sub\n1 failed, 2 passed in 0.03s"
EARLIER_RESULT = "EARLIER-RUN: 2 failed, 1 passed in 0.05s"
UNRELATED_RESULT = "UNRELATED-LISTING"
GOOD = {"output": "...F\n1 failed, 3 passed in 0.04s", "exit_code": 1, "is_error": False}


# -- building blocks ---------------------------------------------------------------------------


def bash(call_id: str, command: str) -> ToolCall:
    return ToolCall(id=call_id, name="Bash", arguments={"command": command})


def shell_session(session_id: str, commands: dict[str, str]) -> Session:
    """A Claude Code session running each command with ``Bash``, with its recorded output."""
    messages = [Message(role="user", content="do it")]
    for number, (command, output) in enumerate(commands.items()):
        call = bash(f"c{number}", command)
        messages.append(Message(role="assistant", tool_calls=[call]))
        messages.append(Message(role="tool", tool_call_id=call.id, name="Bash", content=output))
    return Session(id=session_id, source=SourceInfo(format=AGENT, agent=AGENT), messages=messages)


@pytest.fixture(name="pairs")
def pairs_fixture(tmp_path: Path) -> Iterator[PairStore]:
    """A pair database of another session's test runs and reads."""
    database = tmp_path / "pairs.db"
    recorded = shell_session(
        "s-old",
        {
            "python -m pytest tests/test_calc.py -q": RECORDED_TEST_RUN,
            "cat calc.py": "def add(a, b):\n    return a - b\n",
        },
    )
    build_from_sessions(database, [("test", recorded)])
    store = PairStore(database)
    yield store
    store.close()


def conversation() -> list[Message]:
    """Earlier turns of the rollout: one test run (related) and one listing (not)."""
    return shell_session(
        "s-now", {"pytest tests/test_calc.py -x": EARLIER_RESULT, "ls /tmp": UNRELATED_RESULT}
    ).messages


def request_for(command: str = "pytest tests/test_calc.py -q", **changes: Any) -> SimulationRequest:
    settings: dict[str, Any] = {
        "call": bash("now", command),
        "spec": BASH,
        "conversation": conversation(),
        "session_id": "s-now",
        "agent": AGENT,
    }
    settings.update(changes)
    return SimulationRequest(**settings)


def endpoint_for(server: ScriptedServer, **options: Any) -> SimulatorEndpoint:
    return SimulatorEndpoint("sim-model", base_url=server.base_url, **options)


def turn(reply: dict[str, Any] | str) -> ScriptedTurn:
    return ScriptedTurn(content=reply if isinstance(reply, str) else json.dumps(reply))


def user_text(request: ChatRequest) -> str:
    return "\n".join(str(m["content"]) for m in request.messages if m["role"] == "user")


# -- a structured reply ------------------------------------------------------------------------


async def test_a_valid_reply_becomes_the_outcome_with_its_meta(pairs: PairStore) -> None:
    request = request_for()
    with ScriptedServer([turn(GOOD)]) as server:
        endpoint = endpoint_for(server)
        outcome = await LLMSimulator(endpoint, pairs).simulate(request)
        await endpoint.close()
        (sent,) = server.requests
    assert outcome.content == GOOD["output"]
    assert outcome.is_error is False
    examples = pairs.nearest(request.call, AGENT, "s-now", 4)
    assert examples, "the pair database should match the test run"
    call_text = tool_and_text(request.call, AGENT)[1]
    assert outcome.meta == {
        "simulator": "llm",
        "pair_ids": [example.pair_id for example in examples],
        "confidence": max(pair_confidence(call_text, example) for example in examples),
        "exit_code": 1,
        "model": "sim-model",
    }
    assert 0.3 < outcome.meta["confidence"] <= 1

    # The request: strict structured output, temperature 0, and everything the model needs.
    response_format = sent.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"] == {
        "name": "tool_result",
        "schema": REPLY_SCHEMA,
        "strict": True,
    }
    assert sent.temperature == 0
    assert sent.messages[0]["role"] == "system"
    prompt = user_text(sent)
    assert BASH.description in prompt
    assert '"command"' in prompt and "The command to execute" in prompt  # the parameters
    assert "pytest tests/test_calc.py -q" in prompt  # the call
    assert "python -m pytest tests/test_calc.py -q" in prompt  # the example's call ...
    assert "1 failed, 2 passed in 0.03s" in prompt  # ... and its recorded result
    assert EARLIER_RESULT in prompt  # the related earlier result
    assert UNRELATED_RESULT not in prompt


async def test_without_pairs_the_confidence_is_low_and_no_exit_code_is_kept() -> None:
    reply = {"output": "hello", "exit_code": None, "is_error": False}
    with ScriptedServer([turn(reply)]) as server:
        endpoint = endpoint_for(server)
        outcome = await LLMSimulator(endpoint, None).simulate(request_for("echo hello"))
        await endpoint.close()
        prompt = user_text(server.requests[0])
    assert outcome.meta == {
        "simulator": "llm",
        "pair_ids": [],
        "confidence": 0.3,
        "model": "sim-model",
    }
    assert "Real examples" not in prompt


# -- malformed replies -------------------------------------------------------------------------


async def test_a_malformed_reply_is_retried_with_a_note_then_accepted() -> None:
    missing = {"output": "x", "exit_code": 0}
    with ScriptedServer([turn("Sure! The output is 42."), turn(missing), turn(GOOD)]) as server:
        endpoint = endpoint_for(server)
        outcome = await LLMSimulator(endpoint, None).simulate(request_for())
        await endpoint.close()
        requests = server.requests
    assert outcome.content == GOOD["output"]
    assert len(requests) == 3
    first_note = requests[1].messages[-1]
    assert first_note["role"] == "user" and "no JSON object" in first_note["content"]
    assert requests[1].messages[-2] == {"role": "assistant", "content": "Sure! The output is 42."}
    assert "is_error" in requests[2].messages[-1]["content"]  # the missing field is named


async def test_a_reply_that_never_validates_raises() -> None:
    wrong = {"output": 5, "exit_code": "zero", "is_error": False}
    with ScriptedServer([turn(wrong)] * 3) as server:
        endpoint = endpoint_for(server)
        with pytest.raises(SimulatorError, match="still invalid after 3 replies") as caught:
            await LLMSimulator(endpoint, None).simulate(request_for())
        await endpoint.close()
        assert server.received == 3
    assert "output" in str(caught.value)


# -- endpoint failures -------------------------------------------------------------------------


async def test_a_503_then_success_is_retried() -> None:
    with ScriptedServer([Fault.server_error(status=503), turn(GOOD)]) as server:
        endpoint = endpoint_for(server)
        outcome = await LLMSimulator(endpoint, None).simulate(request_for())
        await endpoint.close()
        assert server.received == 2
    assert outcome.content == GOOD["output"]


@pytest.mark.parametrize("shape", ["html-page", "truncated-json", "no-choices"])
async def test_a_200_that_is_no_completion_is_retried(shape: str) -> None:
    with ScriptedServer([MALFORMED_REPLIES[shape], turn(GOOD)]) as server:
        endpoint = endpoint_for(server)
        outcome = await LLMSimulator(endpoint, None).simulate(request_for())
        await endpoint.close()
        assert server.received == 2
    assert outcome.content == GOOD["output"]


async def test_a_persistent_500_raises_quickly_without_the_prompt() -> None:
    with ScriptedServer(lambda request: Fault.server_error()) as server:
        endpoint = endpoint_for(server, max_retries=1)
        started = time.monotonic()
        with pytest.raises(SimulatorError) as caught:
            await LLMSimulator(endpoint, None).simulate(request_for("cat secret-plan.txt"))
        elapsed = time.monotonic() - started
        await endpoint.close()
        assert server.received == 2
    reason = str(caught.value)
    assert "HTTP 500" in reason and "scripted server error" in reason
    assert "2 attempts" in reason
    assert "secret-plan" not in reason
    assert elapsed < 5


async def test_a_refused_key_is_not_retried() -> None:
    fault = Fault(status=401, message="bad key", error_type="invalid_api_key")
    with ScriptedServer(lambda request: fault) as server:
        endpoint = endpoint_for(server)
        with pytest.raises(SimulatorError, match=r"HTTP 401.*bad key"):
            await LLMSimulator(endpoint, None).simulate(request_for())
        await endpoint.close()
        assert server.received == 1


async def test_an_endpoint_without_structured_output_gets_the_schema_in_the_prompt() -> None:
    def policy(request: ChatRequest) -> ScriptedTurn | Fault:
        if "response_format" in request.body:
            return Fault(
                status=400,
                message="response_format of type json_schema is not supported by this model",
                error_type="invalid_request_error",
            )
        return turn(f"Here it is:\n```json\n{json.dumps(GOOD)}\n```")

    with ScriptedServer(policy) as server:
        endpoint = endpoint_for(server)
        simulator = LLMSimulator(endpoint, None)
        first = await simulator.simulate(request_for())
        second = await simulator.simulate(request_for("pytest -q"))
        await endpoint.close()
        requests = server.requests
    # One rejected request, then plain ones only: the endpoint remembers.
    assert ["response_format" in r.body for r in requests] == [True, False, False]
    assert endpoint.mode == "text"
    system = requests[1].messages[0]["content"]
    assert "valid against this JSON Schema" in system and '"exit_code"' in system
    assert first.content == second.content == GOOD["output"]


# -- the cache ---------------------------------------------------------------------------------


async def test_a_rerun_on_the_same_cache_sends_nothing_and_gets_the_same_outcome(
    tmp_path: Path, pairs: PairStore
) -> None:
    cache = tmp_path / "cache" / "replies.jsonl"
    with ScriptedServer([turn(GOOD)]) as server:
        endpoint = endpoint_for(server, cache_path=cache)
        first = await LLMSimulator(endpoint, pairs).simulate(request_for())
        await endpoint.close()
        assert server.received == 1
    (line,) = cache.read_text().splitlines()
    assert json.loads(line)["reply"] == GOOD

    with ScriptedServer(lambda request: Fault.server_error()) as server:
        endpoint = endpoint_for(server, cache_path=cache)
        again = await LLMSimulator(endpoint, pairs).simulate(request_for())
        await endpoint.close()
        assert server.received == 0
    assert again == first
    assert endpoint.requests_sent == 0


async def test_a_truncated_cache_line_is_skipped_and_the_next_reply_is_on_its_own_line(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "replies.jsonl"
    schema = {"type": "object"}
    messages = [{"role": "user", "content": "hi"}]
    kept = {"key": request_key("sim-model", messages, schema, "n", 0), "reply": {"kept": True}}
    cache.write_text(json.dumps(kept) + "\n" + '{"key": "abc", "reply": {"cut sh')
    with ScriptedServer([turn({"fresh": 1})]) as server:
        endpoint = endpoint_for(server, cache_path=cache)
        assert endpoint.cache is not None and len(endpoint.cache) == 1
        assert await endpoint.complete_json(messages, schema, "n") == {"kept": True}
        other = [{"role": "user", "content": "another"}]
        assert await endpoint.complete_json(other, schema, "n") == {"fresh": 1}
        await endpoint.close()
        assert server.received == 1
    lines = cache.read_text().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[2])["reply"] == {"fresh": 1}
    # A rerun reads both good lines back.
    with ScriptedServer([]) as server:
        endpoint = endpoint_for(server, cache_path=cache)
        assert await endpoint.complete_json(other, schema, "n") == {"fresh": 1}
        await endpoint.close()
        assert server.received == 0


# -- the context -------------------------------------------------------------------------------


def test_related_results_are_the_latest_on_the_same_files_or_commands_cut() -> None:
    long_output = "x" * 5000
    messages = shell_session(
        "s",
        {
            "cat src/app.py": "OLDEST",
            "ls": "LISTING",
            "sed -n 1,5p ./src/app.py": "MIDDLE",
            "pytest -q": long_output,
        },
    ).messages
    found = related_results(messages, bash("q", "cd /repo && pytest src/app.py"), AGENT)
    assert [item.result[:6] for item in found] == ["xxxxxx", "MIDDLE", "OLDEST"]
    assert "characters cut" in found[0].result and len(found[0].result) < 2100
    latest = related_results(messages, bash("q", "pytest src/app.py"), AGENT, limit=1)
    assert [item.call.id for item in latest] == ["c3"]
    assert related_results(messages, bash("q", "cd /repo"), AGENT) == []


def test_the_prompt_stays_bounded() -> None:
    huge = "y" * 100_000
    request = request_for(
        "cat big.txt",
        conversation=shell_session("s", {"cat big.txt": huge, "wc big.txt": huge}).messages,
    )
    facts = {"cwd": "/repo", "file big.txt": huge}
    prompt = user_prompt(
        request, [], related_results(request.conversation, request.call, AGENT), facts
    )
    assert len(prompt) <= PROMPT_CHARS + 100
    assert "characters cut" in prompt


@pytest.fixture(name="workspace")
async def workspace_fixture(sandbox: Sandbox) -> Sandbox:
    """A sandbox whose working directory is a git repository with a committed and a new file."""
    await sandbox.write_file("notes.txt", b"hello from the container\n")
    setup = await sandbox.exec(
        "git init -q . && git add notes.txt && "
        "git -c user.name=t -c user.email=t@example.invalid commit -qm one && "
        "echo draft > draft.txt"
    )
    assert setup.exit_code == 0, setup.output
    return sandbox


async def test_container_facts_come_from_the_live_sandbox_and_change_nothing(
    workspace: Sandbox,
) -> None:
    before = await workspace.changed_files()
    facts = await container_facts(workspace, bash("q", "cat notes.txt missing.txt"), AGENT)
    assert await workspace.changed_files() == before
    assert facts["cwd"] == (await workspace.exec("pwd")).output.strip()
    assert {"notes.txt", "draft.txt", ".git"} <= set(facts["listing"].split())
    assert facts["git_status"] == "?? draft.txt"
    assert facts["file notes.txt"] == "hello from the container\n"
    assert "file missing.txt" not in facts


async def test_the_prompt_carries_the_container_facts(workspace: Sandbox) -> None:
    with ScriptedServer([turn(GOOD)]) as server:
        endpoint = endpoint_for(server)
        request = request_for("cat notes.txt", sandbox=workspace)
        await LLMSimulator(endpoint, None).simulate(request)
        await endpoint.close()
        prompt = user_text(server.requests[0])
    assert "hello from the container" in prompt
    assert "draft.txt" in prompt
    assert (await workspace.exec("pwd")).output.strip() in prompt


async def test_no_facts_outside_a_repository_or_from_a_closed_sandbox(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory.start()
    facts = await container_facts(sandbox, bash("q", "ls"), AGENT)
    assert "cwd" in facts and "git_status" not in facts
    await sandbox.close()
    assert await container_facts(sandbox, bash("q", "cat notes.txt"), AGENT) == {}
