"""``understudy reproduce`` without the prompt, and ``run --session/--cut``: a flagged rollout
of the demo and a real SWE-agent session (with its repository's bundle) at any step, stepped
forward and back, a command run there, and a branch written, linked to its parent and judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from understudy.cli import app
from understudy.cli_sandbox import environment_options
from understudy.jsonl import read_models
from understudy.replay.candidate import OriginalCandidate
from understudy.replay.importers import import_paths
from understudy.replay.reproduce import Reproduction, of_session
from understudy.replay.rundir import RunDir
from understudy.replay.runner import Runner, RunSettings
from understudy.replay.simulate import SimulatorConfig
from understudy.trajectory import Judgment, Rollout, Session

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
ENVS = ROOT / "bench" / "data" / "swe-agent-envs.jsonl"
MIRROR = f"https://github.com/{{owner}}/{{name}}={SHARED / 'repos'}/{{owner}}__{{name}}.bundle"
MARSHMALLOW = "marshmallow-code__marshmallow-1867"

pytestmark = pytest.mark.docker


def invoke(*arguments: str | Path | int, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [str(argument) for argument in arguments])
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A judged run of the demo, whose scripted model misreports its test runs."""
    output = tmp_path_factory.mktemp("demo") / "run"
    invoke("demo", "-o", output)
    return output


def test_a_flagged_rollout_is_reproduced_at_its_flagged_step(demo_run: Path) -> None:
    flagged = [j for j in read_models(demo_run / "judgments.jsonl", Judgment) if j.flagged]
    first = next(r for r in RunDir(demo_run).rollouts() if r.id in {j.target_id for j in flagged})
    result = invoke("reproduce", demo_run, "--flagged", "1", "--exec", "git status --short")
    # The state of the flagged turn: the model's edit is there, its file modified.
    edited = {
        call.arguments.get("path", "")
        for message in first.messages
        for call in message.tool_calls
        if call.name == "str_replace_editor"
    }
    assert any(Path(path).name in result.stdout for path in edited), result.stdout
    assert f"{first.id}: at step" in result.stderr
    assert "recorded outputs reproduced" in result.stderr


def test_a_branch_from_a_step_is_a_judged_run_linked_to_its_parent(
    demo_run: Path, tmp_path: Path
) -> None:
    flagged = [j for j in read_models(demo_run / "judgments.jsonl", Judgment) if j.flagged]
    rollout_id = flagged[0].target_id
    branch = tmp_path / "branch"
    # A step inside a turn's tool calls cannot be branched from: nothing is written.
    rollout = next(r for r in RunDir(demo_run).rollouts() if r.id == rollout_id)
    inside = rollout.cut + 1  # right after the candidate's first assistant message
    bad = invoke(
        "reproduce", demo_run, rollout_id, "--step", inside, "--branch", "-o", branch, code=1
    )
    assert "a cut must follow a user message or a tool result" in bad.output
    assert not branch.exists()
    # From the flagged step, the rollout's own turns played back reproduce the flag.
    invoke("reproduce", demo_run, rollout_id, "--branch", "-o", branch)
    run = json.loads((branch / "run.json").read_text())
    parent = run["config"]["parent"]
    assert parent["rollout"] == rollout_id and parent["source"] == str(demo_run)
    (branched,) = read_models(branch / "rollouts.jsonl", Rollout)
    assert branched.cut == parent["step"] == run["config"]["settings"]["cut"]
    judged = [j for j in read_models(branch / "judgments.jsonl", Judgment) if j.flagged]
    assert {j.category for j in judged} >= {flagged[0].category}


@pytest.fixture(scope="module")
def marshmallow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "repos").is_dir():
        pytest.skip(f"{SHARED} is not here (it is beside the checkout in CI)")
    sessions = tmp_path_factory.mktemp("real") / "sessions.jsonl"
    imported = import_paths([SHARED / "trajectories" / "swe-agent"], fmt="auto", reports={})
    sessions.write_text("".join(s.model_dump_json() + "\n" for _, s in imported))
    return sessions


def at_step(sessions: Path, step: int, command: str) -> str:
    result = invoke(
        "reproduce", sessions, "--session", MARSHMALLOW, "--step", step, "--exec", command,
        "--envs", ENVS, "--repo-mirror", MIRROR, "--allow-base-image",
    )  # fmt: skip
    return str(result.stdout)


def test_a_real_session_at_any_step_shows_the_state_its_agent_saw(marshmallow: Path) -> None:
    # Before the fix the logged reproduction script printed 344, after it 345 (messages 7, 19).
    assert at_step(marshmallow, 8, "python reproduce.py").strip() == "344"
    after = at_step(marshmallow, 18, "git status --short; python reproduce.py")
    assert " M src/marshmallow/fields.py" in after and after.strip().endswith("345")


async def test_stepping_forward_runs_each_call_beside_its_recording_and_back_rebuilds(
    marshmallow: Path, tmp_path: Path, run_id: str
) -> None:
    sessions = list(read_models(marshmallow, Session))
    (session,), mirrors = environment_options(
        [s for s in sessions if s.id == MARSHMALLOW], ENVS, [MIRROR]
    )
    settings = RunSettings(
        run_id=run_id,
        repo_mirrors=mirrors,
        allow_base_image=True,
        backend="docker",
        simulator=SimulatorConfig(name="none"),
    )
    repro = Reproduction(of_session(session), Runner(settings, OriginalCandidate, RunDir(tmp_path)))
    try:
        assert await repro.goto(8) == []  # built: nothing stepped
        stepped = await repro.goto(20)
        by_index = {call.index: call for call in stepped}
        # The edits and runs between the steps ran live, each beside its recorded result.
        assert by_index[17].outcome == "matched" and by_index[19].outcome == "matched"
        assert by_index[19].live is not None and "345" in by_index[19].live.content
        assert (await repro.exec("python reproduce.py")).output.strip() == "345"
        await repro.goto(14)  # back: rebuilt at step 14, after the script, before the fix
        assert repro.built_step == 14 and repro.state is not None
        assert repro.state.compared == 5 and repro.state.matched == 5  # find_file skipped
        assert (await repro.exec("python reproduce.py")).output.strip() == "344"
    finally:
        await repro.close()


def test_run_takes_one_session_from_any_step(marshmallow: Path, tmp_path: Path) -> None:
    output = tmp_path / "run"
    invoke(
        "run", marshmallow, "--original", "--session", MARSHMALLOW, "--cut", "18", "-o", output,
        "--envs", ENVS, "--repo-mirror", MIRROR, "--allow-base-image",
    )  # fmt: skip
    (rollout,) = read_models(output / "rollouts.jsonl", Rollout)
    assert rollout.session_id == MARSHMALLOW and rollout.cut == 18
    assert rollout.status == "completed" and rollout.env_fidelity == 1.0
    unknown = invoke("run", marshmallow, "--original", "--session", "nope", "-o", output, code=1)
    assert "no session with id nope" in unknown.output


def test_report_lists_each_flagged_rollout_with_the_command_that_reproduces_it(
    demo_run: Path,
) -> None:
    shown = invoke("report", demo_run).stdout
    flagged = {
        j.target_id for j in read_models(demo_run / "judgments.jsonl", Judgment) if j.flagged
    }
    assert f"flagged rollouts ({len(flagged)}):" in shown
    for number in range(1, len(flagged) + 1):
        assert f"understudy reproduce {demo_run} --flagged {number}" in shown
