"""What a run records and sends besides the rollouts: per-sample seeds, run.json hashes, and a
bad tool policy refused before the run directory is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.replay.candidate import OpenAICandidate
from understudy.replay.rundir import RunDir
from understudy.replay.runner import CandidateFactory, RunSettings, run_hashes, run_to_dir
from understudy.testing import ChatRequest, ScriptedServer, ScriptedTurn
from understudy.trajectory import EnvSpec, Message, Rollout, Session, SourceInfo

MODEL = "seed-model"


def text_session(session_id: str) -> Session:
    """A session with no repository and one user turn: the candidate only answers."""
    return Session(
        id=session_id,
        source=SourceInfo(format="native"),
        env=EnvSpec(),
        messages=[Message(role="user", content="Say hello.")],
    )


def answer(request: ChatRequest) -> ScriptedTurn:
    return ScriptedTurn(content="hello")


async def run_with(
    sessions: list[Session], run_dir: Path, run_id: str, resume: bool = False, **settings: object
) -> tuple[list[ChatRequest], list[Rollout]]:
    with ScriptedServer(answer, models=[MODEL]) as server:
        candidate = OpenAICandidate(MODEL, base_url=server.base_url)
        candidate_for: CandidateFactory = lambda session: candidate  # noqa: E731
        await run_to_dir(
            sessions,
            RunSettings(run_id=run_id, **settings),  # type: ignore[arg-type]
            candidate_for,
            RunDir(run_dir),
            resume=resume,
        )
        await candidate.close()
        requests = list(server.requests)
    return requests, RunDir(run_dir).rollouts()


@pytest.mark.docker
async def test_each_sample_gets_its_own_seed_and_none_is_sent_without_one(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    requests, rollouts = await run_with(
        [text_session("s")], tmp_path / "seeded", run_id, samples=3, sample_seed=7
    )
    assert sorted(request.seed for request in requests) == [7, 8, 9]
    assert {rollout.sample: rollout.candidate.params.get("seed") for rollout in rollouts} == {
        0: 7,
        1: 8,
        2: 9,
    }

    requests, rollouts = await run_with(
        [text_session("s")], tmp_path / "unseeded", run_id, samples=2
    )
    assert len(requests) == 2
    assert all("seed" not in request.body for request in requests)
    assert all("seed" not in rollout.candidate.params for rollout in rollouts)


@pytest.mark.docker
async def test_run_json_records_hashes_and_a_resume_with_other_sessions_warns(
    tmp_path: Path, base_image: str, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = [text_session("a"), text_session("b")]
    settings = RunSettings(run_id=run_id)
    await run_with(sessions, tmp_path / "run", run_id)
    recorded = RunDir(tmp_path / "run").read_info()["config"]["hashes"]
    assert recorded == run_hashes(sessions, settings)
    assert len(recorded["sessions_sha256"]) == 64

    changed = [text_session("a"), text_session("c")]
    assert run_hashes(changed, settings)["sessions_sha256"] != recorded["sessions_sha256"]
    capsys.readouterr()
    await run_with(changed, tmp_path / "run", run_id, resume=True)
    assert "resumed with other sessions than it started with" in capsys.readouterr().err
    assert RunDir(tmp_path / "run").read_info()["config"]["hashes"] == run_hashes(changed, settings)


def test_hashes_follow_content_and_settings() -> None:
    settings = RunSettings(run_id="x")
    first = run_hashes([text_session("a")], settings)
    assert first == run_hashes([text_session("a")], RunSettings(run_id="x"))
    assert first["settings_sha256"] != run_hashes([text_session("a")], RunSettings(
        run_id="x", samples=2))["settings_sha256"]  # fmt: skip
    edited = text_session("a")
    edited.messages[0].content = "Say goodbye."
    assert first["sessions_sha256"] != run_hashes([edited], settings)["sessions_sha256"]


def test_a_bad_tool_policy_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    sessions_file = tmp_path / "sessions.jsonl"
    sessions_file.write_text(text_session("a").model_dump_json() + "\n")
    output = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["run", str(sessions_file), "--model", MODEL, "--tools", "replay>bogus", "-o", str(output)],
    )
    assert result.exit_code == 1
    assert "unknown tool policy step 'bogus'" in result.output
    assert not output.exists()
