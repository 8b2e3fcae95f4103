"""The retrieval simulator and the consistency layer every simulator runs in: real pairs chosen
and adapted, leave-one-out, the conversation's own answers, and simulated file work seen by
later simulated reads on a copy-on-write overlay of a real container that stays untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_pairs import read_session, shell_session

from understudy.errors import SandboxFileNotFoundError
from understudy.protocols import Sandbox, SimulationRequest
from understudy.replay.pairs import build_from_sessions
from understudy.replay.simulate import SimulatorConfig, Simulators
from understudy.replay.simulate.adapt import pair_confidence, renamings
from understudy.tools.base import ToolOutcome
from understudy.trajectory import Message, ToolCall


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    database = tmp_path / "pairs.db"
    sessions = [
        shell_session(
            "other-a",
            {
                "cat lib/b.py": "# lib/b.py\nprint('b')\n",
                "pip install requests": "Successfully installed requests-2.32\n",
                "git push origin main": "fatal: could not read Username for 'https://github.com'\n",
            },
        ),
        shell_session("other-b", {"ls -la": "total 0\n"}),
        read_session("other-c", ["/repo/setup.py"]),
    ]
    build_from_sessions(database, [("fixture", session) for session in sessions])
    return database


def request(
    call: ToolCall,
    conversation: list[Message] | None = None,
    session_id: str = "current",
    sandbox: Sandbox | None = None,
) -> SimulationRequest:
    messages = conversation or [Message(role="assistant", tool_calls=[call])]
    return SimulationRequest(call, None, messages, session_id, "claude-code", sandbox)


def bash(command: str, call_id: str = "x1") -> ToolCall:
    return ToolCall(id=call_id, name="Bash", arguments={"command": command})


async def test_retrieval_answers_with_the_nearest_real_pair_adapted_to_the_call(
    pairs: Path,
) -> None:
    simulators = Simulators(SimulatorConfig(pairs=pairs))
    try:
        installed = await simulators.for_rollout().simulate(request(bash("pip install requests")))
        assert installed is not None
        assert "Successfully installed requests-2.32" in installed.content
        assert installed.meta["simulator"] == "retrieval"
        assert len(installed.meta["pair_ids"]) == 1
        assert installed.meta["confidence"] == 0.9  # the same command, on another machine
        # Another file of the same shape: the other session's path is replaced by the call's own.
        read = await simulators.for_rollout().simulate(request(bash("cat src/a.py")))
        assert read is not None and read.content == "# src/a.py\nprint('b')\n"
        assert 0.3 < read.meta["confidence"] < 0.9
        # Nothing shares a word with the call, the tool has no pairs: nothing to go on.
        teleport = ToolCall(id="t1", name="Teleport", arguments={"to": "zzqx"})
        assert await simulators.for_rollout().simulate(request(teleport)) is None
        # A call of a known tool with no word in common: its tool's latest pair stands in.
        vague = await simulators.for_rollout().simulate(request(bash("zzqx")))
        assert vague is not None and vague.meta["confidence"] < 0.5
    finally:
        await simulators.close()


async def test_leave_one_out_never_draws_on_the_sessions_own_pairs(pairs: Path) -> None:
    simulators = Simulators(SimulatorConfig(pairs=pairs, leave_out_session=True))
    try:
        call = bash("ls -la")
        own = await simulators.for_rollout().simulate(request(call, session_id="other-b"))
        other = await simulators.for_rollout().simulate(request(call, session_id="other-a"))
        assert other is not None and other.content == "total 0\n"
        assert own is None or own.meta["pair_ids"] != other.meta["pair_ids"]
    finally:
        await simulators.close()


async def test_the_conversations_own_answer_to_the_same_call_comes_first(pairs: Path) -> None:
    earlier = bash("pip install requests", "e1")
    conversation = [
        Message(role="assistant", tool_calls=[earlier]),
        Message(role="tool", tool_call_id="e1", content="Requirement already satisfied: requests"),
    ]
    again = bash("pip install requests", "e2")
    conversation.append(Message(role="assistant", tool_calls=[again]))
    simulators = Simulators(SimulatorConfig(pairs=pairs))
    try:
        outcome = await simulators.for_rollout().simulate(request(again, conversation))
        assert outcome is not None
        assert outcome.content == "Requirement already satisfied: requests"
        assert outcome.meta["source"] == "conversation" and outcome.meta["pair_ids"] == []
    finally:
        await simulators.close()


def test_renamings_only_where_calls_differ_by_names() -> None:
    assert list(renamings(["cat", "src/a.py"], ["cat", "lib/b.py"])) == [("lib/b.py", "src/a.py")]
    assert list(renamings(["grep", "-n", "x"], ["grep", "-r", "x"])) == []  # an option differs
    assert list(renamings(["cat", "a.py"], ["cat", "a.py", "b.py"])) == []  # another shape


def test_confidence_falls_with_distance_and_for_other_tools(pairs: Path) -> None:
    from understudy.replay.pairs.query import Neighbour

    def neighbour(script: str, same_tool: bool) -> Neighbour:
        return Neighbour(
            "p", "s", "claude-code", None, 0.0, same_tool, "Bash", "shell", {}, None, script,
            "", "", 0, False,
        )  # fmt: skip

    exact = pair_confidence("pytest tests/test_a.py", neighbour("pytest tests/test_a.py", True))
    near = pair_confidence("pytest tests/test_a.py", neighbour("pytest tests/test_b.py", True))
    far = pair_confidence("pytest tests/test_a.py", neighbour("make docs", True))
    other = pair_confidence("pytest tests/test_a.py", neighbour("pytest tests/test_a.py", False))
    assert exact == 0.9 and exact > near > far >= 0.3 and other <= 0.2


class _Nothing:
    """A base simulator with nothing to go on, so that only the consistency layer answers."""

    name = "nothing"

    async def simulate(self, request: SimulationRequest) -> ToolOutcome | None:
        return None


async def test_simulated_file_work_is_consistent_and_never_touches_the_container(
    sandbox: Sandbox, pairs: Path
) -> None:
    from understudy.replay.simulate.grounding import GroundedSimulator

    await sandbox.write_file("app.py", b"x = 1\n")
    simulator = GroundedSimulator(_Nothing(), "retrieval")

    def call(name: str, call_id: str, **arguments: object) -> SimulationRequest:
        return request(ToolCall(id=call_id, name=name, arguments=arguments), sandbox=sandbox)

    # A script that only reads is answered by the container, so it never contradicts it.
    listed = await simulator.simulate(
        request(bash("ls && grep -n x app.py", "l1"), sandbox=sandbox)
    )
    assert listed is not None and listed.meta["grounding"] == "container"
    assert "app.py" in listed.content and "1:x = 1" in listed.content
    # A failed read (a file the container lacks) and a script that acts go to the base.
    assert await simulator.simulate(request(bash("cat nope.py", "l2"), sandbox=sandbox)) is None
    acting = request(bash("find . -name '*.py' -delete", "l3"), sandbox=sandbox)
    assert await simulator.simulate(acting) is None
    assert await sandbox.read_file("app.py") == b"x = 1\n"

    created = await simulator.simulate(call("Write", "w1", file_path="new.py", content="y = 2\n"))
    assert created is not None and not created.is_error
    assert created.meta["grounding"] == "overlay" and created.meta["simulator"] == "retrieval"
    read = await simulator.simulate(call("Read", "r1", file_path="new.py"))
    assert read is not None and "y = 2" in read.content
    # A read-only call made again, with nothing changed in between, gets the same answer.
    again = await simulator.simulate(call("Read", "r2", file_path="new.py"))
    assert again is not None and again.content == read.content and again.meta["repeated"]
    edit = call("Edit", "e1", file_path="app.py", old_string="x = 1", new_string="x = 3")
    edited = await simulator.simulate(edit)
    assert edited is not None and not edited.is_error
    shown = await simulator.simulate(request(bash("cat app.py", "c1"), sandbox=sandbox))
    assert shown is not None and shown.content.strip() == "x = 3"
    assert shown.meta["grounding"] == "overlay"
    # Past simulated writes the container is behind: other reads go to the base simulator.
    assert (
        await simulator.simulate(request(bash("grep -n x app.py", "c2"), sandbox=sandbox)) is None
    )
    # The container itself was never written: the simulated calls did not run.
    assert await sandbox.read_file("app.py") == b"x = 1\n"
    with pytest.raises(SandboxFileNotFoundError):
        await sandbox.read_file("new.py")
    # A read of a file neither the overlay nor the container has goes to the base simulator.
    assert await simulator.simulate(call("Read", "r3", file_path="missing.py")) is None


def test_the_ledger_keeps_simulated_results_apart_from_executed_ones() -> None:
    from understudy.judges.ledger import build_ledger
    from understudy.trajectory import Provenance

    ran, guessed = bash("pytest -q", "t1"), bash("pip install requests", "t2")
    messages = [
        Message(role="user", content="fix it"),
        Message(role="assistant", tool_calls=[ran, guessed]),
        Message(role="tool", tool_call_id="t1", content="1 passed", provenance=Provenance.EXECUTED),
        Message(
            role="tool",
            tool_call_id="t2",
            content="Successfully installed requests-2.32",
            provenance=Provenance.SIMULATED,
            meta={"simulator": "retrieval", "pair_ids": ["p1"], "confidence": 0.62},
        ),
    ]
    executed, simulated = build_ledger(messages).calls
    assert executed.simulated_by is None and "(executed" in executed.line()
    assert simulated.simulated_by == "retrieval" and simulated.confidence == 0.62
    assert "(simulated by retrieval 0.62" in simulated.line()
