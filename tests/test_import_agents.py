"""Importers of agent harness logs: SWE-agent, mini-swe-agent and OpenHands.

Expected counts are computed from the raw JSON of each sample in the test itself (never copied
from what the importer printed), so a test fails when the mapping loses or invents messages.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.errors import LogFormatError
from understudy.replay.importers import detect_format, import_paths
from understudy.replay.importers.base import ImportReport, orphan_results
from understudy.replay.importers.mini_swe_agent import MiniSweAgentImporter
from understudy.replay.importers.openhands import OpenHandsImporter
from understudy.replay.importers.swe_agent import SweAgentImporter
from understudy.tools.adapters.shell import mini_swe_agent_submission
from understudy.trajectory import Session

DATA = Path(__file__).parent / "data" / "trajectories"
SWE = DATA / "swe-agent"
MINI = DATA / "mini-swe-agent"
OH = DATA / "openhands"
SWE_1X = SWE / "sweagenttestrepo-1c2844.traj"
SWE_LEGACY = SWE / "legacy-test-repo-i1.traj"
MINI_LEGACY = MINI / "legacy-github_issue.traj.json"
MINI_2X = sorted(p for p in MINI.glob("*.traj.json") if not p.name.startswith("legacy"))
OH_LISTS = sorted(OH.glob("*.json"))

IMPORTERS = {
    "swe-agent": SweAgentImporter,
    "mini-swe-agent": MiniSweAgentImporter,
    "openhands": OpenHandsImporter,
}


def raw(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load(importer: Any, path: Path, strict: bool = False) -> tuple[list[Session], ImportReport]:
    report = ImportReport()
    sessions = list(importer.load(path, report, strict=strict))
    for session in sessions:
        report.count(session)
    return sessions, report


def one(importer: Any, path: Path) -> tuple[Session, ImportReport]:
    sessions, report = load(importer, path)
    assert len(sessions) == 1
    return sessions[0], report


def results_by_call(session: Session) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for index, message in enumerate(session.messages):
        if message.role == "tool" and message.tool_call_id:
            found.setdefault(message.tool_call_id, []).append(index)
    return found


def assert_linked(session: Session) -> None:
    """Every tool result answers a call made before it (no orphans)."""
    assert orphan_results(session) == []
    names = {c.id: c.name for m in session.messages for c in m.tool_calls}
    for message in session.messages:
        if message.role == "tool":
            assert message.name == names[message.tool_call_id or ""]


def roundtrip(session: Session) -> None:
    assert Session.model_validate_json(session.model_dump_json()) == session


# --------------------------------------------------------------------------- detection


def sample_files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.is_file() and p.name != "SOURCES.md")


@pytest.mark.parametrize("fmt", sorted(IMPORTERS))
def test_detect_own_samples_and_no_others(fmt: str) -> None:
    importer = IMPORTERS[fmt]()
    files = sample_files()
    assert {p.parent.name for p in files} >= set(IMPORTERS)
    for path in files:
        assert importer.detect(path) is (path.parent.name == fmt), path


def test_detect_never_raises_on_odd_files(tmp_path: Path) -> None:
    odd = {
        "empty.json": b"",
        "binary.traj": b"\x00\xff\x10garbage",
        "list.json": b"[1, 2, 3]",
        "text.jsonl": b"hello\n",
    }
    for name, content in odd.items():
        (tmp_path / name).write_bytes(content)
    missing = tmp_path / "missing.traj.json"
    for importer in (cls() for cls in IMPORTERS.values()):
        for name in odd:
            assert importer.detect(tmp_path / name) is False
        assert importer.detect(missing) is False


# --------------------------------------------------------------------------- SWE-agent


def swe_expected_count(data: dict[str, Any]) -> int:
    """Messages the history stands for, plus trajectory steps the history lacks."""
    count = 0
    actions = 0
    for entry in data["history"]:
        if entry["role"] == "tool":
            count += len(entry["tool_call_ids"])
        else:
            count += 1
        if entry["role"] == "assistant" and (entry.get("tool_calls") or entry.get("action")):
            actions += 1
    extra_steps = len(data["trajectory"]) - actions
    count += 2 * extra_steps  # an assistant message and its result per recovered step
    last = data["history"][-1]
    if extra_steps == 0 and last["role"] == "assistant" and last.get("action"):
        count += 1  # the last action's observation is only in trajectory[]
    return count


def test_swe_agent_1x() -> None:
    data = raw(SWE_1X)
    session, report = one(SweAgentImporter(), SWE_1X)
    assert len(session.messages) == swe_expected_count(data)
    assert_linked(session)
    roundtrip(session)
    config = data["replay_config"]
    assert session.source.model == config["agent"]["model"]["name"] == "gpt-4o"
    assert session.source.agent == "swe-agent" and session.source.format == "swe-agent"
    assert session.id == config["problem_statement"]["id"]
    assert session.env.repo is not None
    assert session.env.repo.url == config["env"]["repo"]["github_url"]
    assert session.env.repo.commit == config["env"]["repo"]["base_commit"]
    assert session.env.image == config["env"]["deployment"]["image"]
    # The variables the harness exported in its shell come along.
    assert session.env.env == {"WINDOW": "100", "OVERLAP": "2"}
    assert session.env.workdir == data["trajectory"][0]["state"]["working_dir"]
    assert session.meta["submission"] == data["info"]["submission"]
    assert session.task == data["history"][1]["content"]

    # The logged calls keep their ids and arguments; observations keep their \r\n.
    logged = [c for e in data["history"] if e["role"] == "assistant" for c in e["tool_calls"]]
    calls = [c for m in session.messages for c in m.tool_calls]
    assert [c.id for c in calls[: len(logged)]] == [c["id"] for c in logged]
    for call, entry in zip(calls, logged, strict=False):
        assert call.name == entry["function"]["name"]
        assert call.arguments == json.loads(entry["function"]["arguments"])
    tool_entries = [e for e in data["history"] if e["role"] == "tool"]
    tool_messages = [m for m in session.messages if m.role == "tool"]
    for entry, message in zip(tool_entries, tool_messages, strict=False):
        assert message.content == entry["content"]
        assert message.tool_call_id == entry["tool_call_ids"][0]
    assert any("\r\n" in m.content for m in tool_messages)

    # The final submit step is only in trajectory[]: recovered, with its observation.
    last_step = data["trajectory"][-1]
    recovered = session.messages[-2]
    assert recovered.meta["recovered_from"] == f"trajectory[{len(data['trajectory']) - 1}]"
    assert [c.name for c in recovered.tool_calls] == ["submit"]
    assert session.messages[-1].content == last_step["observation"]
    assert any(issue.where == "trajectory" for issue in report.issues)

    # Execution times land on the results; specs come from the logged command docs.
    assert tool_messages[0].meta["duration_s"] == data["trajectory"][0]["execution_time"]
    specs = {spec.name: spec for spec in session.tools}
    assert {"bash", "find_file", "open", "edit", "submit"} <= set(specs)
    assert not specs["find_file"].inferred
    assert specs["find_file"].parameters["required"] == ["file_name"]


def test_swe_agent_legacy_synthetic_calls() -> None:
    data = raw(SWE_LEGACY)
    session, report = one(SweAgentImporter(), SWE_LEGACY)
    assert len(session.messages) == swe_expected_count(data)
    assert_linked(session)
    roundtrip(session)
    assert session.source.version and "legacy" in session.source.version
    assert session.source.model is None
    assert any(i.where == "replay_config.agent.model.name" for i in report.issues)
    assert session.env.workdir == json.loads(data["trajectory"][0]["state"])["working_dir"]

    actions = [(i, e) for i, e in enumerate(data["history"]) if e["role"] == "assistant"]
    assistants = [m for m in session.messages if m.role == "assistant"]
    assert len(assistants) == len(actions)
    expected_names = {"find_file": "find_file", "open": "open", "edit": "edit", "submit": "submit"}
    for (index, entry), message in zip(actions, assistants, strict=True):
        assert message.content == entry["content"]  # the original text, fence and all
        assert message.meta["action"] == entry["action"]
        [call] = message.tool_calls
        assert call.id == f"legacy-{index}"
        first = entry["action"].split()[0]
        assert call.name == expected_names.get(first, "bash")
    by_name = {c.name: c for m in assistants for c in m.tool_calls}
    assert by_name["find_file"].arguments == {"file_name": "missing_colon.py"}
    assert by_name["open"].arguments == {"path": "tests/missing_colon.py"}
    assert by_name["edit"].arguments == {
        "start_line": 4,
        "end_line": 4,
        "replacement_text": "def division(a: float, b: float) -> float:",
    }
    assert by_name["bash"].arguments == {"command": "python tests/missing_colon.py"}
    assert by_name["submit"].arguments == {}

    # Observations were user messages in the log; now they are tool results, text unchanged.
    results = results_by_call(session)
    for message in assistants:
        [call] = message.tool_calls
        assert len(results[call.id]) == 1
    observations = [
        e["content"] for e in data["history"][1:] if e["role"] == "user" and not e.get("is_demo")
    ]
    tool_texts = [m.content for m in session.messages if m.role == "tool"]
    assert tool_texts[:-1] == observations[1:]  # observations[0] is the task
    assert tool_texts[-1] == data["trajectory"][-1]["observation"]
    # The demonstration stays a user message, with no calls made from its fenced commands.
    demo = [m for m in session.messages if m.meta.get("is_demo")]
    assert len(demo) == 1 and demo[0].role == "user"
    specs = {spec.name: spec for spec in session.tools}
    assert specs["bash"].inferred and not specs["open"].inferred


def test_swe_agent_demonstration_turns_in_the_history_make_no_calls() -> None:
    # The run put its demonstration's turns in the history (is_demo): shown to the model, not
    # run. Their last command (submit) once swallowed the task itself as its result.
    path = SWE / "replay-with-demo-in-history.traj"
    history = raw(path)["history"]
    demo = [entry for entry in history if entry.get("is_demo")]
    assert len(demo) > 20
    session, report = one(SweAgentImporter(), path)
    demo_messages = [m for m in session.messages if m.meta.get("is_demo")]
    assert len(demo_messages) == len(demo)
    assert all(not m.tool_calls for m in demo_messages if m.role == "assistant")
    assert all(m.role in ("user", "assistant") for m in demo_messages)
    task = next(e["content"] for e in history if e["role"] == "user" and not e.get("is_demo"))
    assert session.task == task
    assert any(m.role == "user" and m.content == task for m in session.messages)
    run_calls = [
        c["id"] for e in history if not e.get("is_demo") for c in e.get("tool_calls") or []
    ]
    made = [call for m in session.messages for call in m.tool_calls]
    assert len(made) == len(run_calls)  # the run's own calls, renamed where ids repeat
    assert orphan_results(session) == []
    # Its trajectory[] holds one edit more than the history (the agent redid it): passed over,
    # every step's timing is attached, and the last call (submit) gets its result from it.
    trajectory = raw(path)["trajectory"]
    assert len(trajectory) == len(run_calls) + 1
    assert any("passed over" in issue.message for issue in report.issues)
    results = [m for m in session.messages if m.role == "tool"]
    assert len(results) == len(made)
    assert all("duration_s" in m.meta for m in results)
    assert results[-1].content == trajectory[-1]["observation"]


def test_swe_agent_tool_call_id_lists_and_orphans(tmp_path: Path) -> None:
    data = raw(SWE_1X)
    history = data["history"]
    history[3]["tool_call_ids"] = [history[2]["tool_calls"][0]["id"], "call_never_made"]
    path = tmp_path / "odd.traj"
    path.write_text(json.dumps(data))
    session, report = one(SweAgentImporter(), path)
    assert len(session.messages) == swe_expected_count(data)
    assert report.orphan_results == 1
    orphan = session.messages[orphan_results(session)[0]]
    assert orphan.tool_call_id == "call_never_made"
    assert any(
        i.where == "history[3].tool_call_ids" and "call_never_made" in i.message
        for i in report.issues
    )


def test_swe_agent_reused_call_ids_are_renamed_and_their_results_follow(tmp_path: Path) -> None:
    # Demonstrations reuse ids (the real marshmallow-1867 one does, four times).
    data = raw(SWE_1X)
    history = data["history"]
    calls = [i for i, entry in enumerate(history) if entry.get("tool_calls")]
    first, second = calls[0], calls[1]
    reused = history[first]["tool_calls"][0]["id"]
    history[second]["tool_calls"][0]["id"] = reused
    history[second + 1]["tool_call_ids"] = [reused]
    path = tmp_path / "reused.traj"
    path.write_text(json.dumps(data))
    session, report = one(SweAgentImporter(), path)
    call_ids = [call.id for message in session.messages for call in message.tool_calls]
    assert len(call_ids) == len(set(call_ids))
    assert f"{reused}~2" in call_ids
    results = [m.tool_call_id for m in session.messages if m.role == "tool"]
    assert results.count(reused) == 1 and results.count(f"{reused}~2") == 1
    assert report.orphan_results == 0
    assert any("was used before" in issue.message for issue in report.issues)


# --------------------------------------------------------------------------- mini-swe-agent


def mini_expected_count(messages: list[dict[str, Any]]) -> int:
    chat = [m for m in messages if m["role"] != "exit"]
    count = len(chat)
    exits = [m for m in messages if m["role"] == "exit"]
    if (
        exits
        and exits[-1]["extra"].get("exit_status") == "Submitted"
        and chat[-1].get("tool_calls")
    ):
        count += 1  # the submitting call's output is the exit message
    return count


@pytest.mark.parametrize("path", MINI_2X, ids=lambda p: p.name)
def test_mini_swe_agent_2x(path: Path) -> None:
    data = raw(path)
    session, report = one(MiniSweAgentImporter(), path)
    assert len(session.messages) == mini_expected_count(data["messages"])
    assert_linked(session)
    roundtrip(session)
    config = data["info"]["config"]
    assert session.source.model == config["model"]["model_name"]
    assert session.source.model.startswith("deepseek/")
    assert session.source.version == data["info"]["mini_version"]
    assert session.env.image == config["environment"]["image"]
    assert session.env.workdir == config["environment"]["cwd"]
    assert session.id == data["instance_id"]
    exit_message = data["messages"][-1]
    assert exit_message["role"] == "exit"
    assert session.meta["exit"]["exit_status"] == exit_message["extra"]["exit_status"]
    assert session.meta["exit"]["content"] == exit_message["content"]
    assert session.meta["exit_status"] == data["info"]["exit_status"]
    assert session.meta["submission"] == data["info"]["submission"]
    assert {m.role for m in session.messages} <= {"system", "user", "assistant", "tool"}

    logged_tools = [m for m in data["messages"] if m["role"] == "tool"]
    tools = [m for m in session.messages if m.role == "tool" and not m.meta.get("from_exit")]
    assert len(tools) == len(logged_tools)
    for entry, message in zip(logged_tools, tools, strict=True):
        assert message.tool_call_id == entry["tool_call_id"]
        assert message.meta["exit_code"] == entry["extra"]["returncode"]
        assert message.timestamp is not None
        assert message.timestamp.timestamp() == pytest.approx(entry["extra"]["timestamp"])
        assert message.content == entry["content"]  # nothing elided in these samples
    responses = {
        m["extra"]["response"]["id"]: m["extra"]["response"]["usage"]
        for m in data["messages"]
        if m["role"] == "assistant"
    }
    if responses:
        total = sum(usage["prompt_tokens"] for usage in responses.values())
        assert session.meta["usage"]["prompt_tokens"] == total
        assert all("usage" in m.meta for m in session.messages if m.role == "assistant")
        [bash] = session.tools
        assert bash.name == "bash" and bash.inferred
    assert not [i for i in report.issues if "orphan" in i.message]


def test_mini_swe_agent_submission_becomes_the_last_result() -> None:
    path = MINI / "django__django-11039.traj.json"
    data = raw(path)
    session, _ = one(MiniSweAgentImporter(), path)
    last_call = data["messages"][-2]["tool_calls"][0]
    final = session.messages[-1]
    assert final.role == "tool" and final.tool_call_id == last_call["id"]
    assert final.meta["from_exit"] is True
    assert final.content == data["messages"][-1]["content"]


def test_mini_swe_agent_timeout_run_has_no_calls() -> None:
    path = MINI / "pvlib__pvlib-python-1154.traj.json"
    data = raw(path)
    session, _ = one(MiniSweAgentImporter(), path)
    assert [m.role for m in session.messages] == ["system", "user"]
    assert session.meta["exit_status"] == "Timeout"
    assert session.meta["exit"]["exception_str"] == data["messages"][-1]["extra"]["exception_str"]


def elide(output: str, returncode: int) -> str:
    """mini-swe-agent's observation template for output of 10,000 characters or more."""
    return (
        f"<returncode>{returncode}</returncode>\n<warning>\nThe output of your last command was "
        "too long.\n</warning><output_head>\n"
        f"{output[:5000]}\n</output_head>\n<elided_chars>\n{len(output) - 10000} characters "
        f"elided\n</elided_chars>\n<output_tail>\n{output[-5000:]}\n</output_tail>"
    )


def test_mini_swe_agent_restores_elided_output(tmp_path: Path) -> None:
    data = raw(MINI / "django__django-11039.traj.json")
    index = next(i for i, m in enumerate(data["messages"]) if m["role"] == "tool")
    entry = data["messages"][index]
    whole = "".join(f"line {n}\n" for n in range(3000))
    assert len(whole) > 10000
    entry["content"] = elide(whole, 0)
    entry["extra"]["raw_output"] = whole
    path = tmp_path / "elided.traj.json"
    path.write_text(json.dumps(data))
    session, _ = one(MiniSweAgentImporter(), path)
    result = next(m for m in session.messages if m.tool_call_id == entry["tool_call_id"])
    assert result.content == f"<returncode>0</returncode>\n<output>\n{whole}</output>"
    assert result.meta["restored_from"] == "extra.raw_output"
    assert result.meta["elided_content"] == entry["content"]
    # An ordinary (short) result has exactly that form too.
    short = next(m for m in data["messages"] if m["role"] == "tool" and m is not entry)
    assert short["content"] == (
        f"<returncode>{short['extra']['returncode']}</returncode>\n<output>\n"
        f"{short['extra']['raw_output']}</output>"
    )

    # Without raw_output the elided text is kept, flagged and reported.
    del entry["extra"]["raw_output"]
    path.write_text(json.dumps(data))
    session, report = one(MiniSweAgentImporter(), path)
    result = next(m for m in session.messages if m.tool_call_id == entry["tool_call_id"])
    assert result.content == entry["content"] and result.meta["elided"] is True
    assert any(i.where == f"messages[{index}].content" for i in report.issues)


def test_mini_swe_agent_reasoning_content_wherever_litellm_puts_it(tmp_path: Path) -> None:
    """Reasoning models (DeepSeek R1, ...) through litellm: ``reasoning_content`` on the
    message, in its ``provider_specific_fields``, or only in the raw response kept in
    ``extra.response``; the message's own copy wins, and an empty one is no reasoning."""
    data = raw(MINI / "django__django-11039.traj.json")
    assistants = [m for m in data["messages"] if m["role"] == "assistant"]
    assert len(assistants) >= 6

    def reply(entry: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = entry["extra"]["response"]["choices"][0]["message"]
        return message

    assistants[0]["reasoning_content"] = "think A"
    reply(assistants[0])["reasoning_content"] = "the response's copy"
    assistants[1]["provider_specific_fields"] = {"reasoning_content": "think B"}
    reply(assistants[2])["reasoning_content"] = "think C"
    reply(assistants[3])["provider_specific_fields"] = {"reasoning_content": "think D"}
    assistants[4]["reasoning_content"] = ""
    assistants[5]["reasoning_content"] = None
    path = tmp_path / "reasoning.traj.json"
    path.write_text(json.dumps(data))
    session, report = one(MiniSweAgentImporter(), path)
    replies = [m for m in session.messages if m.role == "assistant"]
    assert len(replies) == len(assistants)
    assert [m.reasoning for m in replies[:6]] == [
        "think A", "think B", "think C", "think D", None, None,
    ]  # fmt: skip
    assert all(m.reasoning is None for m in replies[6:])  # the sample itself has none
    assert [m.content for m in replies] == [a["content"] for a in assistants]
    assert_linked(session)
    roundtrip(session)
    assert report.issues == []


def test_mini_swe_agent_legacy_synthetic_calls() -> None:
    data = raw(MINI_LEGACY)
    session, report = one(MiniSweAgentImporter(), MINI_LEGACY)
    assert len(session.messages) == len(data)
    assert_linked(session)
    roundtrip(session)
    assert session.source.version and "legacy" in session.source.version
    assert any(i.where == "info.config.model.model_name" for i in report.issues)
    for index, entry in enumerate(data):
        message = session.messages[index]
        if entry["role"] == "assistant":
            blocks = re.findall(r"```mswea_bash_command\n(.*?)\n```", entry["content"], re.S)
            assert len(blocks) == 1
            [call] = message.tool_calls
            assert call.id == f"legacy-{index}" and call.name == "bash"
            assert call.arguments == {"command": blocks[0]}
            assert message.content == entry["content"]
        elif index > 1:  # every user message after the task is an observation
            assert entry["role"] == "user"
            assert message.role == "tool"
            assert message.tool_call_id == f"legacy-{index - 1}"
            assert message.content == entry["content"]
            code = re.match(r"<returncode>(-?\d+)</returncode>", entry["content"])
            assert message.meta.get("exit_code") == (int(code.group(1)) if code else None)
        else:
            assert message.role == entry["role"]
    [bash] = session.tools
    assert bash.inferred


MINI_FIRST_VERSIONS = sorted(MINI.glob("legacy-*-github_issue.traj.json"))
"""Logs of nano- and micro-swe-agent, mini-swe-agent's first names, each observing differently."""
# The exit code, as each early version showed it: after the command's argv or on a line of its
# own, or as a Python dict's text.
FIRST_VERSION_CODES = (
    re.compile(r"\A(?:<args>.*?</args>\n)?<returncode>\n?(-?\d+)\n?</returncode>", re.S),
    re.compile(r"\AObservation: \{.*?'returncode': (-?\d+)", re.S),
)


@pytest.mark.parametrize("path", MINI_FIRST_VERSIONS, ids=lambda path: path.name)
def test_mini_swe_agent_first_versions_make_calls_with_exit_codes(path: Path) -> None:
    assert len(MINI_FIRST_VERSIONS) == 3
    assert detect_format(path) == "mini-swe-agent"
    data = raw(path)
    session, _ = one(MiniSweAgentImporter(), path)
    assert len(session.messages) == len(data)
    assert_linked(session)
    commands = []
    for index, entry in enumerate(data):
        message = session.messages[index]
        if entry["role"] == "assistant":
            [block] = re.findall(r"```bash\n(.*?)\n```", entry["content"], re.S)
            [call] = message.tool_calls
            assert call.arguments == {"command": block}
            commands.append(block)
        elif index > 1:
            assert message.role == "tool" and message.content == entry["content"]
            found = [m for pattern in FIRST_VERSION_CODES if (m := pattern.match(entry["content"]))]
            expected = int(found[0].group(1)) if found else None
            assert message.meta.get("exit_code") == expected
    codes = [m.meta.get("exit_code") for m in session.messages if m.role == "tool"]
    assert 1 in codes and 0 in codes  # the first command failed, later ones did not
    # The last command echoes the version's own end marker, which ends a replayed run too.
    marker = commands[-1].split()[1]  # echo MARKER && git add -A && git diff --cached
    assert marker in ("NANO_SWE_AGENT_FINAL_OUTPUT", "MICRO_SWE_AGENT_FINAL_OUTPUT")
    assert mini_swe_agent_submission(f"{marker}\ndiff --git a/x b/x\n") == "diff --git a/x b/x\n"


# --------------------------------------------------------------------------- OpenHands

STATE_OBSERVATIONS = {"agent_state_changed", "null", "recall", "condense"}


def oh_expected_count(events: list[dict[str, Any]]) -> int:
    """One message per chat action, per model response behind tool actions, per observation."""
    count = 0
    responses: set[Any] = set()
    for event in events:
        if "action" in event:
            if event["action"] in ("message", "system"):
                count += 1
            elif event["action"] not in ("change_agent_state", "recall", "condensation"):
                response = event.get("tool_call_metadata", {}).get("model_response", {})
                key = response.get("id") or ("event", event["id"])
                if key not in responses:
                    responses.add(key)
                    count += 1
        elif event["observation"] not in STATE_OBSERVATIONS:
            count += 1
    return count


@pytest.mark.parametrize("path", OH_LISTS, ids=lambda p: p.name)
def test_openhands_event_lists(path: Path) -> None:
    events = raw(path)
    session, report = one(OpenHandsImporter(), path)
    assert len(session.messages) == oh_expected_count(events)
    assert_linked(session)
    roundtrip(session)
    assert report.issues == []
    models = [
        e["tool_call_metadata"]["model_response"]["model"]
        for e in events
        if "tool_call_metadata" in e
    ]
    assert session.source.model == models[0]
    assert session.id == path.stem
    # GUI-mode logs open with the environment's state changes; the task is the user's message.
    task = next(e for e in events if e.get("source") == "user" and e.get("action") == "message")
    assert session.task == task["args"]["content"]
    # Every action's tool_call_id became a call; every observation answers its cause's call.
    calls = {c.id: c for m in session.messages for c in m.tool_calls}
    by_id = {e["id"]: e for e in events}
    for event in events:
        metadata = event.get("tool_call_metadata")
        if "action" in event and metadata:
            call = calls[metadata["tool_call_id"]]
            assert call.name == metadata["function_name"]
        if (
            event.get("observation", "null") not in STATE_OBSERVATIONS
            and event.get("cause") is not None
        ):
            [message] = [m for m in session.messages if m.meta.get("event_id") == event["id"]]
            cause = by_id[event["cause"]]
            assert message.role == "tool"
            assert message.tool_call_id == cause["tool_call_metadata"]["tool_call_id"]
            assert message.meta["cause"] == event["cause"]
    for message in session.messages:
        assert message.timestamp is not None


def test_openhands_basic_mapping() -> None:
    events = raw(OH / "basic.json")
    session, _ = one(OpenHandsImporter(), OH / "basic.json")
    edit_action, edit_observation = events[1], events[2]
    assistant = session.messages[1]
    [call] = assistant.tool_calls
    response = edit_action["tool_call_metadata"]["model_response"]
    logged_call = response["choices"][0]["message"]["tool_calls"][0]
    assert call.arguments == json.loads(logged_call["function"]["arguments"])
    assert assistant.content == response["choices"][0]["message"]["content"]
    assert assistant.meta["usage"] == response["usage"]
    result = session.messages[2]
    assert result.content == edit_observation["extras"]["formatted_output_and_error"]
    assert result.meta["event_content"] == edit_observation["content"]
    # The observation repeats the action's model_response: its usage is counted once.
    usages = [e["tool_call_metadata"]["model_response"]["usage"] for e in (events[1], events[3])]
    assert session.meta["usage"]["prompt_tokens"] == sum(u["prompt_tokens"] for u in usages)
    assert [c.name for c in session.messages[-1].tool_calls] == ["finish"]


def event(event_id: int, **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "timestamp": f"2025-01-01T00:00:{event_id:02d}", **fields}


def call_metadata(call_id: str, name: str, response_id: str, calls: list[Any]) -> dict[str, Any]:
    message = {"content": "Let me look.", "role": "assistant", "tool_calls": calls}
    return {
        "tool_call_id": call_id,
        "function_name": name,
        "model_response": {
            "id": response_id,
            "model": "gpt-test",
            "choices": [{"message": message}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2},
        },
        "total_calls_in_response": len(calls),
    }


def bash_call(call_id: str, command: str) -> dict[str, Any]:
    arguments = json.dumps({"command": command})
    function = {"name": "execute_bash", "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}


def run_observation(event_id: int, cause: int, content: str, **metadata: Any) -> dict[str, Any]:
    extras = {"metadata": metadata}
    return event(
        event_id, source="agent", observation="run", cause=cause, content=content, extras=extras
    )


def synthetic_events() -> list[dict[str, Any]]:
    """Two calls from one response, skipped ids, a user command, a lost action, a condensation."""
    calls = [bash_call("c1", "ls"), bash_call("c2", "false")]
    schema = {"type": "object", "properties": {"command": {"type": "string"}}}
    tools = [{"type": "function", "function": {"name": "execute_bash", "parameters": schema}}]
    system = {"content": "You are OH.", "tools": tools, "openhands_version": "0.40.0"}
    state = {"agent_state": "running"}
    first = call_metadata("c1", "execute_bash", "r1", calls)
    second = call_metadata("c2", "execute_bash", "r1", calls)
    return [
        event(0, source="agent", action="system", args={**system, "agent_class": "CodeActAgent"}),
        event(1, source="user", action="message", args={"content": "list files"}),
        event(2, source="environment", observation="agent_state_changed", content="", extras=state),
        event(5, source="agent", action="run", args={"command": "ls"}, tool_call_metadata=first),
        event(
            7, source="agent", action="run", args={"command": "false"}, tool_call_metadata=second
        ),
        run_observation(8, 5, "a.txt", exit_code=0, working_dir="/workspace/repo"),
        run_observation(9, 7, "", exit_code=1),
        event(11, source="user", action="run", args={"command": "whoami"}, message="whoami"),
        {**run_observation(12, 11, "root", exit_code=0), "source": "user"},
        run_observation(13, 10, "lost"),
        event(14, source="agent", action="condensation", args={}),
        event(15, source="agent", action="think", args={"thought": "hmm"}),
        event(16, source="agent", action="run", args={"command": "pwd", "thought": "where?"}),
        run_observation(17, 16, "/workspace/repo", exit_code=0),
        event(18, source="agent", observation="error", content="Agent got stuck"),
    ]


def test_openhands_links_merges_and_orphans(tmp_path: Path) -> None:
    events = synthetic_events()
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    assert OpenHandsImporter().detect(path)
    session, report = one(OpenHandsImporter(), path)
    roles = [m.role for m in session.messages]
    assert roles == [
        "system",  # 0
        "user",  # 1
        "assistant",  # 5 + 7: one response, two calls
        "tool",  # 8
        "tool",  # 9
        "user",  # 11: the user's own command
        "user",  # 12: and its output
        "tool",  # 13: orphan, action 10 is not in the log
        "assistant",  # 15: think without a call -> reasoning
        "assistant",  # 16: text-mode action -> synthetic call oh-16
        "tool",  # 17
        "user",  # 18: an error with no action
    ]
    assistant = session.messages[2]
    assert [c.id for c in assistant.tool_calls] == ["c1", "c2"]
    assert assistant.meta["event_ids"] == [5, 7]
    assert session.meta["usage"] == {"prompt_tokens": 10, "completion_tokens": 2}
    assert session.messages[3].tool_call_id == "c1" and session.messages[3].meta["exit_code"] == 0
    assert session.messages[4].tool_call_id == "c2" and session.messages[4].meta["exit_code"] == 1
    assert session.env.workdir == "/workspace/repo"
    assert report.orphan_results == 1 and orphan_results(session) == [7]
    assert session.messages[7].tool_call_id == "oh-10"
    assert any(i.where == "[9].cause" for i in report.issues)
    assert any("condensation" in i.message for i in report.issues)
    assert session.messages[8].reasoning == "hmm" and not session.messages[8].tool_calls
    [synthetic] = session.messages[9].tool_calls
    assert (synthetic.id, synthetic.name, synthetic.arguments) == (
        "oh-16",
        "execute_bash",
        {"command": "pwd"},
    )
    assert session.messages[9].content == "where?"
    assert session.messages[10].tool_call_id == "oh-16"
    assert session.messages[11].meta["error"] is True
    assert session.source.version == "0.40.0"
    assert [t.name for t in session.tools] == ["execute_bash"] and not session.tools[0].inferred
    assert session.meta["agent_states"][0]["state"] == "running"
    assert session.meta["skipped_events"] == {"condensation": 1}
    load(OpenHandsImporter(), path, strict=True)  # nothing was dropped: strict passes too
    # An event that is not an object is skipped with a warning, or fails under strict.
    path.write_text(json.dumps([*events, "garbage"]))
    session, report = one(OpenHandsImporter(), path)
    assert len(session.messages) == len(roles)
    assert any(i.where == f"[{len(events)}]" for i in report.issues)
    with pytest.raises(LogFormatError, match=re.escape(f"{path}: [{len(events)}]: expected")):
        load(OpenHandsImporter(), path, strict=True)


def eval_record(instance_id: str, history: list[Any]) -> dict[str, Any]:
    """An ``output.jsonl`` line as OpenHands' EvalOutput writes it (no real sample at hand)."""
    return {
        "instance_id": instance_id,
        "test_result": {"git_patch": "diff --git a/x b/x\n"},
        "instruction": f"Fix {instance_id}",
        "metadata": {
            "agent_class": "CodeActAgent",
            "llm_config": {"model": "litellm_proxy/claude-test", "api_key": "**********"},
            "max_iterations": 100,
            "eval_output_dir": "evaluation/outputs/x",
            "start_time": "2025-01-01 00:00:00",
            "git_commit": "0123abc",
        },
        "history": history,
        "metrics": {"accumulated_cost": 0.5},
        "error": None,
        "instance": {
            "repo": "django/django",
            "instance_id": instance_id,
            "base_commit": "e7fd69d051eaa67cb17f172a39b57253e9cb831a",
            "problem_statement": "sqlmigrate wraps its output in BEGIN/COMMIT",
        },
    }


def test_openhands_older_eval_records_name_their_instance_and_model_otherwise(
    tmp_path: Path,
) -> None:
    # OpenHands' 2024 evaluation outputs (logic_reasoning, gorilla): "id" or "question_id"
    # rather than "instance_id", the model in metadata.model_name, [action, observation] pairs.
    basic = raw(OH / "basic.json")
    pairs = [[basic[0], {}], [basic[1], basic[2]], [basic[3], {}]]
    records = []
    for key, value in (("id", "ProntoQA_1"), ("question_id", 7)):
        record = eval_record("unused", pairs)
        del record["instance_id"]
        record[key] = value
        record["metadata"] = {"agent_class": "CodeActAgent", "model_name": "gpt-4o-2024-05-13"}
        records.append(record)
    path = tmp_path / "output.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    assert detect_format(path) == "openhands"
    sessions, _ = load(OpenHandsImporter(), path)
    assert [s.id for s in sessions] == ["ProntoQA_1", "7"]
    assert {s.source.model for s in sessions} == {"gpt-4o-2024-05-13"}


OH_STORE = Path(__file__).parent / "data" / "openhands_store" / "sessions"
"""Holds a real conversation store of OpenHands (see its SOURCES.md)."""


def _store_events(store: Path) -> list[Any]:
    files = sorted((store / "events").glob("*.json"), key=lambda path: int(path.stem))
    return [raw(path) for path in files]


def test_openhands_conversation_store_reads_as_its_events_in_a_list(tmp_path: Path) -> None:
    [store] = list(OH_STORE.iterdir())
    metadata = raw(store / "metadata.json")
    events = _store_events(store)
    as_list = tmp_path / "events.json"
    as_list.write_text(json.dumps(events))
    (from_list,), _ = load(OpenHandsImporter(), as_list)

    reports: dict[Path, ImportReport] = {}
    [(path, session)] = list(import_paths([OH_STORE], redact=False, reports=reports))
    assert path == store and list(reports) == [store]  # metadata.json and the pickle are its own
    assert reports[store].format == "openhands" and reports[store].issues == []
    assert session.messages == from_list.messages
    calls = [e for e in events if e.get("action") and e.get("tool_call_metadata")]
    assert len([c for m in session.messages for c in m.tool_calls]) == len(calls) == 3
    assert session.id == metadata["conversation_id"] == store.name
    assert session.source.model == metadata["llm_model"]
    assert session.meta["conversation"]["title"] == metadata["title"]
    assert session.task == "Flip a coin!"

    # Named itself or by its events folder, with the format given or detected: the same log.
    for named in (store, store / "events"):
        assert detect_format(named) == "openhands"
        [(_, again)] = list(import_paths([named], fmt="openhands", redact=False))
        assert again.messages == session.messages


def test_openhands_conversation_store_with_a_gap_and_a_repository(tmp_path: Path) -> None:
    [store] = list(OH_STORE.iterdir())
    copy_of = tmp_path / "sessions" / "c1"
    shutil.copytree(store, copy_of)
    (copy_of / "events" / "5.json").unlink()
    metadata = raw(copy_of / "metadata.json")
    metadata.update(conversation_id="c1", selected_repository="octo/demo", selected_branch="dev")
    (copy_of / "metadata.json").write_text(json.dumps(metadata))
    (tmp_path / "notes.txt").write_text("not a log\n")
    reports: dict[Path, ImportReport] = {}
    sessions = [s for _, s in import_paths([tmp_path], redact=False, reports=reports)]
    assert [s.id for s in sessions] == ["c1"]
    assert reports[copy_of].issues[0].message == "1 event file(s) missing, e.g. 5.json"
    assert sessions[0].env.repo is not None
    assert (sessions[0].env.repo.url, sessions[0].env.repo.branch) == (
        "https://github.com/octo/demo",
        "dev",
    )
    assert "unrecognized" in (reports[tmp_path / "notes.txt"].skipped or "")  # passed over


def test_openhands_resolver_output_of_flat_events() -> None:
    # The resolver's output.jsonl: one issue per line, its history in OpenHands' flat events of
    # 2024 (no ids, sources or causes: restored from the order of the events).
    path = OH / "resolver-output.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert detect_format(path) == "openhands"
    sessions, report = load(OpenHandsImporter(), path)
    assert [s.id for s in sessions] == ["neubig__pr-viewer-5", "neubig__pr-viewer-1"]
    for session, record in zip(sessions, records, strict=True):
        history = record["history"]
        actions = [event for event in history if "action" in event]
        observations = [event for event in history if "observation" in event]
        assert_linked(session)
        roundtrip(session)
        calls = [call for message in session.messages for call in message.tool_calls]
        assert len(calls) == sum(event["action"] != "message" for event in actions)
        results = [message for message in session.messages if message.role == "tool"]
        assert [result.content for result in results] == [o["content"] for o in observations]
        assert [result.meta.get("exit_code") for result in results] == [
            o.get("exit_code") for o in observations
        ]
        # Each result answers the action just before it: the command it ran is the call's.
        by_id = {call.id: call for call in calls}
        for result, observed in zip(results, observations, strict=True):
            if "command" in observed:
                call = by_id[result.tool_call_id or ""]
                assert call.arguments["command"] == observed["command"]
        assert [m.role for m in session.messages][:3] == ["user", "assistant", "tool"]
        assert session.task == record["instruction"]
        assert session.messages[0].content == record["instruction"]
        assert session.env.repo is not None
        assert session.env.repo.url == "https://github.com/neubig/pr-viewer"
        assert session.meta["submission"] == record["git_patch"]
        assert session.meta["success"] is record["success"]
        assert session.meta["issue"] == record["issue"]
    # The log names no model: said once per session, and nothing else.
    assert {issue.message for issue in report.issues} == {"no model name in the log"}


def test_openhands_flat_messages_are_the_users_first_and_in_reply(tmp_path: Path) -> None:
    flat = [
        {"action": "message", "content": "Fix the bug.", "wait_for_response": False},
        {"action": "message", "content": "Which file?", "wait_for_response": True},
        {"action": "message", "content": "Please continue.", "wait_for_response": False},
        {"action": "run", "command": "ls", "thought": "Looking."},
        {"observation": "run", "content": "a.py", "command": "ls", "exit_code": 0},
        {"action": "message", "content": "Done, a.py fixed.", "wait_for_response": False},
    ]
    record = {"issue": {"owner": "o", "repo": "r", "number": 3}, "issue_type": "issue"}
    record.update(instruction="Fix the bug.", base_commit="abc", git_patch="", history=flat)
    path = tmp_path / "output.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (session,), _ = load(OpenHandsImporter(), path)
    assert [(m.role, m.content) for m in session.messages] == [
        ("user", "Fix the bug."),
        ("assistant", "Which file?"),
        ("user", "Please continue."),
        ("assistant", "Looking."),
        ("tool", "a.py"),
        ("assistant", "Done, a.py fixed."),
    ]
    assert session.id == "o__r-3"
    assert session.env.repo is not None and session.env.repo.commit == "abc"


def test_openhands_eval_output_jsonl(tmp_path: Path) -> None:
    basic = raw(OH / "basic.json")
    chat = raw(OH / "basic_interactions.json")
    pairs = [[basic[0], {}], [basic[1], basic[2]], [basic[3], {}]]  # the old pair format
    records = [
        eval_record("django__django-1", basic),
        eval_record("django__django-2", chat),
        eval_record("django__django-3", pairs),
    ]
    path = tmp_path / "output.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    importer = OpenHandsImporter()
    assert importer.detect(path)
    assert not SweAgentImporter().detect(path) and not MiniSweAgentImporter().detect(path)
    sessions, report = load(importer, path)
    assert [s.id for s in sessions] == [r["instance_id"] for r in records]
    assert [len(s.messages) for s in sessions] == [
        oh_expected_count(basic),
        oh_expected_count(chat),
        oh_expected_count(basic),
    ]
    for session, record in zip(sessions, records, strict=True):
        assert_linked(session)
        roundtrip(session)
        assert session.source.model == record["metadata"]["llm_config"]["model"]
        assert session.task == record["instruction"]
        assert session.env.repo is not None
        assert session.env.repo.url == "https://github.com/django/django"
        assert session.env.repo.commit == record["instance"]["base_commit"]
        assert session.meta["submission"] == record["test_result"]["git_patch"]
        assert session.meta["agent_class"] == "CodeActAgent"
    assert report.issues == []

    # A file cut while writing keeps the records before the cut and reports the line.
    text = path.read_text()
    path.write_text(text[: len(text) - 200])
    sessions, report = load(importer, path)
    assert [s.id for s in sessions] == ["django__django-1", "django__django-2"]
    assert [i.line for i in report.issues] == [3]
    with pytest.raises(LogFormatError, match=r"output\.jsonl:3"):
        load(importer, path, strict=True)

    # A record whose history is not a list names the line and the field.
    bad = eval_record("django__django-4", basic)
    bad["history"] = {"not": "a list"}
    path.write_text(json.dumps(records[0]) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(LogFormatError, match=r"output\.jsonl:2: history: expected a list"):
        load(importer, path)

    # One record pretty-printed as a .json file is read too.
    single = tmp_path / "record.json"
    single.write_text(json.dumps(records[0], indent=2))
    assert importer.detect(single)
    [session], _ = load(importer, single)
    assert session.id == "django__django-1"


# --------------------------------------------------------------------------- bad input

ALL_SAMPLES = [
    (SweAgentImporter, SWE_1X),
    (SweAgentImporter, SWE_LEGACY),
    (MiniSweAgentImporter, MINI_LEGACY),
    *((MiniSweAgentImporter, p) for p in MINI_2X),
    *((OpenHandsImporter, p) for p in OH_LISTS),
]


@pytest.mark.parametrize(("cls", "path"), ALL_SAMPLES, ids=lambda v: getattr(v, "name", ""))
def test_truncated_files_name_the_file(cls: Any, path: Path, tmp_path: Path) -> None:
    cut = tmp_path / path.name
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    # (A cut inside a string is reported by common.load_json as "invalid JSON: Unterminated
    # string"; either way the message names the file and the line.)
    pattern = re.escape(str(cut)) + r":\d+: (truncated|invalid JSON)"
    with pytest.raises(LogFormatError, match=pattern):
        load(cls(), cut)


@pytest.mark.parametrize(
    ("cls", "source", "mutate", "field"),
    [
        (SweAgentImporter, SWE_1X, lambda d: d.update(history=5), "history"),
        (SweAgentImporter, SWE_1X, lambda d: d.pop("history") and d.pop("trajectory"), "history"),
        (MiniSweAgentImporter, MINI_2X[0], lambda d: d.update(messages="x"), "messages"),
        (MiniSweAgentImporter, MINI_2X[0], lambda d: d.pop("messages"), "messages"),
    ],
    ids=["swe-history-number", "swe-no-history", "mini-messages-string", "mini-no-messages"],
)
def test_garbled_structure_names_file_and_field(
    cls: Any, source: Path, mutate: Any, field: str, tmp_path: Path
) -> None:
    data = raw(source)
    mutate(data)
    path = tmp_path / source.name
    path.write_text(json.dumps(data))
    with pytest.raises(LogFormatError) as caught:
        load(cls(), path)
    assert str(caught.value).startswith(f"{path}: {field}: ")


@pytest.mark.parametrize("cls", list(IMPORTERS.values()), ids=list(IMPORTERS))
def test_wrong_top_level_empty_and_binary(cls: Any, tmp_path: Path) -> None:
    top = tmp_path / "number.json"
    top.write_text("42")
    with pytest.raises(
        LogFormatError, match=re.escape(f"{top}") + r"(:1)?: \(top level\): expected"
    ):
        load(cls(), top)
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(LogFormatError, match="empty"):
        load(cls(), empty)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x00\x01\xff" * 50)
    with pytest.raises(LogFormatError, match="binary"):
        load(cls(), binary)


def test_odd_entries_are_warnings_and_strict_fails(tmp_path: Path) -> None:
    data = raw(SWE_1X)
    data["history"].insert(2, "not a message")
    data["history"].insert(3, {"role": "narrator", "content": "?"})
    path = tmp_path / "odd.traj"
    path.write_text(json.dumps(data))
    session, report = one(SweAgentImporter(), path)
    wheres = {i.where for i in report.issues}
    assert {"history[2]", "history[3].role"} <= wheres
    assert_linked(session)
    with pytest.raises(LogFormatError, match=re.escape(f"{path}: history[2]: ")):
        load(SweAgentImporter(), path, strict=True)


# --------------------------------------------------------------------------- corruptions

FUZZ_SAMPLES = [
    (SweAgentImporter, SWE_1X, ".traj"),
    (SweAgentImporter, SWE_LEGACY, ".traj"),
    (MiniSweAgentImporter, MINI_LEGACY, ".traj.json"),
    (MiniSweAgentImporter, MINI / "pvlib__pvlib-python-1154.traj.json", ".traj.json"),
    (OpenHandsImporter, OH / "basic.json", ".json"),
    (OpenHandsImporter, OH / "basic_interactions.json", ".json"),
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*prefix, index))


_PARSED = {path: raw(path) for _, path, _ in FUZZ_SAMPLES}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sample=st.sampled_from(FUZZ_SAMPLES),
    edits=st.lists(st.tuples(st.integers(0, 10**6), JSON_VALUES), min_size=1, max_size=3),
    cut=st.none() | st.floats(0.0, 1.0),
)
def test_corrupted_samples_raise_only_log_format_error(
    sample: tuple[Any, Path, str], edits: list[tuple[int, Any]], cut: float | None, tmp_path: Path
) -> None:
    cls, source, suffix = sample
    data = copy.deepcopy(_PARSED[source])
    for pick, value in edits:
        paths = list(json_paths(data))
        target = paths[pick % len(paths)]
        if not target:
            data = value
            continue
        parent = data
        for key in target[:-1]:
            parent = parent[key]
        parent[target[-1]] = value
    text = json.dumps(data)
    if cut is not None:
        text = text[: int(len(text) * cut)]
    path = tmp_path / f"case{suffix}"
    path.write_text(text)
    for strict in (False, True):
        try:
            for session in cls().load(path, ImportReport(), strict=strict):
                Session.model_validate_json(session.model_dump_json())
        except LogFormatError as error:
            assert str(path) in str(error)
