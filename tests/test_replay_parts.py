"""Policy chains, the replay store, cuts and the run directory (no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from understudy.errors import ConfigError
from understudy.replay.cuts import check_cut, choose_cuts, parse_cut, user_turn_cuts
from understudy.replay.rundir import RunDir
from understudy.tools.policy import ToolPolicy, parse_chain
from understudy.tools.replay_store import ReplayStore, replay_key
from understudy.trajectory import CandidateInfo, Message, Rollout, Session, SourceInfo, ToolCall


def call(call_id: str, name: str, **arguments: object) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=dict(arguments))


def exchange(call_id: str, name: str, result: str, **arguments: object) -> list[Message]:
    return [
        Message(role="assistant", tool_calls=[call(call_id, name, **arguments)]),
        Message(role="tool", tool_call_id=call_id, name=name, content=result),
    ]


def session_with(messages: list[Message]) -> Session:
    return Session(id="s1", source=SourceInfo(format="native"), messages=messages)


# -- policy --------------------------------------------------------------------------------------


def test_policy_parses_default_and_overrides() -> None:
    policy = ToolPolicy.parse("replay>live, browser=replay>simulate>unavailable ,Bash=live")
    assert policy.default == ["replay", "live"]
    assert policy.chain_for("browser", "browser", live_capable=False) == [
        "replay",
        "simulate",
        "unavailable",
    ]
    assert policy.chain_for("Bash", "shell", live_capable=True) == ["live"]
    assert policy.chain_for("Read", "read_file", live_capable=True) == ["replay", "live"]
    assert policy.describe() == "replay>live,Bash=live,browser=replay>simulate>unavailable"


def test_policy_defaults_by_kind_and_canonical_overrides() -> None:
    policy = ToolPolicy.parse("shell=replay>live")
    assert policy.chain_for("bash", None, live_capable=True) == ["live"]
    assert policy.chain_for("TodoWrite", None, live_capable=False) == ["replay", "unavailable"]
    assert policy.chain_for("Bash", "shell", live_capable=True) == ["replay", "live"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("live>teleport", "unknown tool policy step 'teleport'"),
        ("live,replay", "two default chains"),
        ("=live", "names no tool"),
        ("bash=", "empty tool policy chain"),
    ],
)
def test_policy_errors_are_clear(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ToolPolicy.parse(spec)


def test_parse_chain_lists_valid_steps() -> None:
    with pytest.raises(ConfigError, match="valid steps: live, replay, simulate, unavailable"):
        parse_chain("fly")


# -- replay store --------------------------------------------------------------------------------


def test_replay_key_ignores_key_order_and_whitespace() -> None:
    assert replay_key("search", {"q": "a  b\n", "n": 1}) == replay_key(
        "search", {"n": 1, "q": "a b"}
    )
    assert replay_key("search", {"q": "a b"}) != replay_key("open", {"q": "a b"})
    assert replay_key("search", {"q": "ab"}) != replay_key("search", {"q": "a b"})


def test_each_recording_plays_once_in_recorded_order() -> None:
    messages = [
        *exchange("c1", "search", "first answer", query="python  docs"),
        *exchange("c2", "search", "second answer", query="python docs"),
    ]
    store = ReplayStore(messages)
    assert len(store) == 2
    first = store.take("search", {"query": "python docs"})
    second = store.take("search", {"query": "python\tdocs"})
    assert first is not None and second is not None
    assert (first.call_id, first.result.content) == ("c1", "first answer")
    assert (second.call_id, second.result.content) == ("c2", "second answer")
    assert store.take("search", {"query": "python docs"}) is None
    assert store.remaining == 0


def test_near_misses_are_reported_not_served() -> None:
    store = ReplayStore(exchange("c1", "search", "result", query="numpy array broadcasting rules"))
    assert store.take("search", {"query": "numpy array broadcasting rule"}) is None
    misses = store.near_misses("search", {"query": "numpy array broadcasting rule"})
    assert [miss.call_id for miss in misses] == ["c1"]
    assert 0.6 <= misses[0].similarity < 1.0
    assert store.near_misses("search", {"query": "weather in Paris tomorrow"}) == []
    assert store.near_misses("open", {"query": "numpy array broadcasting rule"}) == []
    assert store.remaining == 1


def test_calls_without_results_or_with_raw_arguments_are_not_recordings() -> None:
    orphan = Message(role="assistant", tool_calls=[call("c9", "search", query="x")])
    broken = ToolCall(id="c8", name="search", arguments={}, raw_arguments="{oops")
    messages = [
        orphan,
        Message(role="assistant", tool_calls=[broken]),
        Message(role="tool", tool_call_id="c8", content="error"),
    ]
    assert len(ReplayStore(messages)) == 0


# -- cuts ----------------------------------------------------------------------------------------


def test_cuts_follow_user_turns() -> None:
    messages = [
        Message(role="system", content="sys"),
        Message(role="user", content="first"),
        *exchange("c1", "bash", "ok", command="ls"),
        Message(role="assistant", content="done"),
        Message(role="user", content="second"),
        Message(role="assistant", content="done again"),
    ]
    session = session_with(messages)
    assert user_turn_cuts(session) == [2, 6]
    assert choose_cuts(session, "last-user") == [6]
    assert choose_cuts(session, "each-user") == [2, 6]
    drawn = choose_cuts(session, "random-user", seed=7)
    assert drawn == choose_cuts(session, "random-user", seed=7)
    assert drawn[0] in (2, 6)
    assert {choose_cuts(session, "random-user", seed=s)[0] for s in range(20)} == {2, 6}
    assert choose_cuts(session_with([Message(role="system")]), "last-user") == []
    with pytest.raises(ConfigError, match="valid modes"):
        choose_cuts(session, "middle")


def test_a_cut_at_a_message_index_falls_where_the_assistant_speaks_next() -> None:
    parallel = Message(
        role="assistant",
        tool_calls=[
            ToolCall(id="p1", name="bash", arguments={"command": "ls"}),
            ToolCall(id="p2", name="bash", arguments={"command": "pwd"}),
        ],
    )
    messages = [
        Message(role="user", content="first"),
        *exchange("c1", "bash", "ok", command="ls"),
        parallel,
        Message(role="tool", tool_call_id="p1", content="a"),
        Message(role="tool", tool_call_id="p2", content="/"),
        Message(role="assistant", content="done"),
    ]
    session = session_with(messages)
    assert choose_cuts(session, 3) == [3]  # after a tool result
    assert choose_cuts(session, 6) == [6]  # after the last result of a parallel turn
    assert parse_cut("4") == 4 and parse_cut("each-user") == "each-user"
    problems = {
        2: "message 1 is the assistant's",
        5: "falls between the results of the tool calls of message 3",
        9: r"outside its 7 message\(s\)",
    }
    for cut, problem in problems.items():
        with pytest.raises(ConfigError, match=problem):
            check_cut(session, cut)
    with pytest.raises(ConfigError, match="give a mode"):
        parse_cut("middle")


# -- run directory -------------------------------------------------------------------------------


def rollout(session_id: str, cut: int, sample: int) -> Rollout:
    return Rollout(
        id=f"{session_id}@{cut}#{sample}",
        session_id=session_id,
        cut=cut,
        sample=sample,
        candidate=CandidateInfo(model="m"),
    )


def test_run_dir_refuses_to_mix_runs_and_resumes_written_keys(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path / "run")
    assert run_dir.open({"k": 1}, resume=False) == set()
    run_dir.append(rollout("a", 2, 0))
    run_dir.append(rollout("a", 2, 1))
    with pytest.raises(ConfigError, match="--resume"):
        RunDir(tmp_path / "run").open({"k": 1}, resume=False)
    again = RunDir(tmp_path / "run")
    assert again.open({"k": 1}, resume=True) == {("a", 2, 0), ("a", 2, 1)}
    info = again.read_info()
    assert info["config"] == {"k": 1}
    assert len(info["resumed_at"]) == 1
    again.finish({"rollouts": 2})
    assert again.read_info()["summary"] == {"rollouts": 2}


def test_resume_drops_a_line_torn_by_a_kill(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.open({}, resume=False)
    run_dir.append(rollout("a", 2, 0))
    whole = run_dir.rollouts_file.read_bytes()
    with run_dir.rollouts_file.open("ab") as handle:
        handle.write(rollout("a", 2, 1).model_dump_json().encode()[:40])
    assert RunDir(tmp_path).open({}, resume=True) == {("a", 2, 0)}
    assert run_dir.rollouts_file.read_bytes() == whole


def test_resume_of_a_damaged_file_names_the_problem(tmp_path: Path) -> None:
    run_dir = RunDir(tmp_path)
    run_dir.open({}, resume=False)
    run_dir.rollouts_file.write_text('{"id": "x"}\n')
    with pytest.raises(
        ConfigError,
        match=r"cannot resume: .*rollouts\.jsonl is damaged: .*rollouts\.jsonl:1: candidate: req",
    ):
        RunDir(tmp_path).open({}, resume=True)
