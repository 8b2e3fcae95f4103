"""Simulation on real logs, end to end: ``simcheck`` on the shared logs (leave-one-out, the llm
simulator and the discriminator through the scripted server), and ``run --tools
'replay>simulate'`` serving every call of the shared real sessions."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.jsonl import read_models
from understudy.replay.cuts import choose_cuts
from understudy.replay.importers import import_paths
from understudy.replay.simulate import SimulatorConfig
from understudy.testing import ChatRequest, Fault, ScriptedServer, ScriptedTurn
from understudy.testing.continuation import continuation_policy
from understudy.trajectory import Provenance, Rollout, Session

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "trajectories"
SAMPLES = ROOT / "tests" / "data" / "trajectories"
REAL_AGENT_FORMATS = ("swe-agent", "mini-swe-agent", "openhands", "claude-code", "codex", "inspect")


def invoke(*arguments: str | Path) -> str:
    result = CliRunner().invoke(app, [str(argument) for argument in arguments])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def real_sessions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared real logs (their copies in tests/data when ../shared is absent), imported."""
    out = tmp_path_factory.mktemp("real") / "sessions.jsonl"
    sources = [SHARED] if SHARED.is_dir() else [SAMPLES / name for name in REAL_AGENT_FORMATS]
    imported = [session for _, session in import_paths(sources, fmt="auto", reports={})]
    out.write_text("".join(session.model_dump_json() + "\n" for session in imported))
    return out


def test_simcheck_measures_the_retrieval_simulator_on_the_real_logs(
    real_sessions: Path, tmp_path: Path
) -> None:
    pairs = tmp_path / "pairs.db"
    invoke("pairs", "build", real_sessions, "-o", pairs)
    details = tmp_path / "details.jsonl"
    summary = json.loads(
        invoke("simcheck", real_sessions, "--pairs", pairs, "--json", "--details", details)
    )
    overall = summary["overall"]
    assert overall["calls"] >= 100
    assert overall["answered"] >= 0.95 * overall["calls"]
    # Real results mostly succeed, and the simulated ones mostly do too; a text of another
    # session's machine resembles the real one only in part.
    assert 0.8 <= overall["exit_agreement"] <= 1.0
    assert 0.1 <= overall["similarity"] < 0.9
    assert set(summary["per_format"]) >= {"swe-agent", "mini-swe-agent", "codex", "claude-code"}
    assert summary["per_tool"]["shell"]["calls"] >= 50
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert len(lines) == overall["calls"]
    # Leave-one-out: no call drew on a pair of its own session.
    sessions = {s.id: s for s in read_models(real_sessions, Session)}
    own = {pair for s in sessions.values() for pair in _pair_ids(s)}
    for line in lines:
        assert not set(line["pair_ids"]) & _pair_ids(sessions[line["session_id"]])
    assert own


def _pair_ids(session: Session) -> set[str]:
    from understudy.replay.pairs import pair_id

    return {pair_id(session.id, call.id) for _, call, _ in session.answered_calls()}


def tool_and_judge_policy(request: ChatRequest) -> ScriptedTurn:
    """A model playing the tool (``tool_result``) and the discriminator (``which_is_real``)."""
    schema = request.body.get("response_format", {}).get("json_schema", {})
    if schema.get("name") == "which_is_real":
        return ScriptedTurn(content=json.dumps({"real": "A", "reason": "A looks real"}))
    reply: dict[str, Any] = {"output": "simulated output\n", "exit_code": 0, "is_error": False}
    return ScriptedTurn(content=json.dumps(reply))


def test_simcheck_drives_the_llm_simulator_and_the_discriminator(
    real_sessions: Path, tmp_path: Path
) -> None:
    sessions = [s for s in read_models(real_sessions, Session) if s.source.format == "codex"]
    subset = tmp_path / "codex.jsonl"
    subset.write_text("".join(s.model_dump_json() + "\n" for s in sessions[:1]))
    with ScriptedServer(tool_and_judge_policy, models=["sim"]) as server:
        common = ["--simulator", "llm", "--simulator-model", "sim"]
        common += ["--simulator-base-url", server.base_url, "--simulator-cache", tmp_path / "c"]
        judged = [
            "--discriminator-model", "sim", "--discriminator-base-url", server.base_url,
        ]  # fmt: skip
        first = json.loads(invoke("simcheck", subset, *common, *judged, "--json", "--seed", "3"))
        sent = len(server.requests)
        again = json.loads(invoke("simcheck", subset, *common, *judged, "--json", "--seed", "3"))
    overall = first["overall"]
    assert first["simulator"] == "llm" and overall["answered"] == overall["calls"] > 0
    found = first["discriminator"]
    assert found["n"] == overall["answered"]
    # The scripted discriminator always says A: it is right exactly when the real one was A.
    assert 0 < found["correct"] < found["n"]
    assert found["accuracy"] == round(found["correct"] / found["n"], 4)
    low, high = found["interval_95"]
    assert low < found["accuracy"] < high
    # The seed fixes the A/B order, and the simulator's replies came from its cache.
    assert again["discriminator"] == found and again["overall"] == overall
    assert len(server.requests) - sent == found["n"]  # only the discriminator asked again


def test_run_with_replay_then_simulate_serves_every_call_of_the_real_sessions(
    real_sessions: Path, tmp_path: Path, run_id: str
) -> None:
    sessions = list(read_models(real_sessions, Session))
    cuts = {s.id: choose_cuts(s, "last-user")[0] for s in sessions if choose_cuts(s, "last-user")}
    output = tmp_path / "run"
    policy = continuation_policy([s for s in sessions if s.id in cuts], cuts)
    with ScriptedServer(policy, models=["m"]) as server:
        invoke(
            "run", real_sessions, "--model", "m", "--base-url", server.base_url, "-o", output,
            "--run-id", run_id, "--tools", "replay>simulate", "--allow-base-image",
            "--no-prefix-state", "--max-steps", "12",
        )  # fmt: skip
    rollouts = list(read_models(output / "rollouts.jsonl", Rollout))
    assert len(rollouts) == len(cuts)
    assert all(rollout.status != "error" for rollout in rollouts), [r.error for r in rollouts]
    with sqlite3.connect(output / "pairs.db") as database:
        answered_tools = {row[0] for row in database.execute("SELECT DISTINCT tool FROM pairs")}
    served: Counter[str] = Counter()
    for rollout in rollouts:
        for message in rollout.messages:
            if message.role != "tool":
                continue
            served[message.provenance] += 1
            if message.provenance == Provenance.UNAVAILABLE:
                # Only a tool no log ever got an answer from (``finish`` ends a session): no
                # real pair to draw on, and no model was given.
                assert message.name not in answered_tools, message.meta
                assert (
                    message.meta["diagnostics"]["simulate"] == "the simulator had nothing to go on"
                )
            if message.provenance == Provenance.SIMULATED:
                assert message.meta["simulator"] == "retrieval"
                assert isinstance(message.meta["pair_ids"], list)
                assert 0.0 <= message.meta["confidence"] <= 1.0
    assert served[Provenance.SIMULATED] >= 30 and served[Provenance.REPLAYED] >= 5
    assert (output / "pairs.db").is_file()  # built from the run's own sessions
    run = json.loads((output / "run.json").read_text())
    assert run["config"]["settings"]["simulator"] == SimulatorConfig().model_dump(mode="json")


def test_run_with_the_llm_simulator_answers_from_the_model_and_caches_its_replies(
    real_sessions: Path, tmp_path: Path, run_id: str
) -> None:
    # mini-swe-agent runs scripts (not only reads, which the container answers itself).
    found = read_models(real_sessions, Session)
    sessions = [s for s in found if s.source.format == "mini-swe-agent"][:1]
    subset = tmp_path / "mini.jsonl"
    subset.write_text("".join(s.model_dump_json() + "\n" for s in sessions))
    cuts = {s.id: choose_cuts(s, "last-user")[0] for s in sessions}
    candidate = continuation_policy(sessions, cuts)

    def policy(request: ChatRequest) -> ScriptedTurn:
        if "response_format" in request.body:  # the simulator asking
            return tool_and_judge_policy(request)
        return candidate(request)

    output = tmp_path / "run"
    with ScriptedServer(policy, models=["m", "sim"]) as server:
        invoke(
            "run", subset, "--model", "m", "--base-url", server.base_url, "-o", output,
            "--run-id", run_id, "--tools", "replay>simulate", "--allow-base-image",
            "--no-prefix-state", "--max-steps", "6", "--simulator", "llm",
            "--simulator-model", "sim", "--simulator-base-url", server.base_url,
        )  # fmt: skip
    (rollout,) = read_models(output / "rollouts.jsonl", Rollout)
    simulated = [m for m in rollout.messages if m.provenance == Provenance.SIMULATED]
    by_model = [m for m in simulated if m.meta["simulator"] == "llm" and "grounding" not in m.meta]
    assert by_model and all("simulated output" in m.content for m in by_model)
    assert all(m.meta["model"] == "sim" and m.meta["exit_code"] == 0 for m in by_model)
    cached = (output / "simulator-cache.jsonl").read_text().splitlines()
    assert 0 < len(cached) <= len(by_model)  # a repeated request is answered from the cache


def test_simcheck_counts_calls_the_simulator_failed_on_and_exits_3(
    real_sessions: Path, tmp_path: Path
) -> None:
    sessions = [s for s in read_models(real_sessions, Session) if s.source.format == "inspect"]
    subset = tmp_path / "inspect.jsonl"
    subset.write_text("".join(s.model_dump_json() + "\n" for s in sessions))
    with ScriptedServer(lambda request: Fault(status=503), models=["sim"]) as server:
        result = CliRunner().invoke(
            app,
            [
                "simcheck", str(subset), "--simulator", "llm", "--simulator-model", "sim",
                "--simulator-base-url", server.base_url, "--json",
            ],
        )  # fmt: skip
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["errors"] >= 1
    assert summary["overall"]["answered"] + summary["errors"] == summary["overall"]["calls"]
    assert "failed to simulate" in result.stderr and "HTTP 503" in result.stderr


def test_simcheck_in_sandbox_stands_the_environment_where_each_call_was_made(
    real_sessions: Path, tmp_path: Path
) -> None:
    sessions = [s for s in read_models(real_sessions, Session) if s.source.format == "inspect"]
    subset = tmp_path / "inspect.jsonl"
    subset.write_text("".join(s.model_dump_json() + "\n" for s in sessions))
    details = tmp_path / "details.jsonl"
    arguments = ["--in-sandbox", "--allow-base-image", "--json", "--details", details]
    summary = json.loads(invoke("simcheck", subset, *arguments))
    overall = summary["overall"]
    assert summary["in_sandbox"] and summary["in_sandbox_calls"] == overall["calls"] > 0
    # The logged `ls` ran in / and so do the reads the container answers.
    assert overall["similarity"] > 0.9 and overall["exit_agreement"] == 1.0
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert all(line["in_sandbox"] and line["environment"] is None for line in lines)
