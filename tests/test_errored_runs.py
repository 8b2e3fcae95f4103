"""Runs whose rollouts fail: a dead endpoint, an absent session image, a crashing candidate.

Each ends in rollouts of status ``error`` with their kind, an exit code a script can act on,
a report that counts them apart (n = 0 when nothing ran), and a ``--resume`` that runs them
again after removing the run's leftover containers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_endpoint_faults import dead_endpoint
from test_run_record import answer, text_session
from typer.testing import CliRunner

from understudy.cli import app
from understudy.errors import ImageNotFoundError
from understudy.jsonl import write_models
from understudy.protocols import CandidateReply
from understudy.replay.candidate import OpenAICandidate
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.sandbox import labels
from understudy.sandbox.engine import docker_client
from understudy.sandbox.local_env import LocalEnvBuilder
from understudy.testing import ScriptedServer
from understudy.trajectory import EnvSpec, Message, Session, ToolSpec

MODEL = "errored-model"
LYING = "lying_about_tools"
ABSENT_IMAGE = "understudy-test/absent-image:never-built"


def pinned_session(session_id: str) -> Session:
    """A text session that declares an image the engine does not have."""
    return text_session(session_id).model_copy(update={"env": EnvSpec(image=ABSENT_IMAGE)})


def sessions_file(tmp_path: Path, sessions: Sequence[Session]) -> Path:
    path = tmp_path / "sessions.jsonl"
    with path.open("w") as handle:
        write_models(handle, sessions)
    return path


def cli(*arguments: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(argument) for argument in arguments])
    return result.exit_code, result.output


def summary_json(output: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(output[output.index("{") : output.rindex("}") + 1])
    return document


@pytest.mark.docker
def test_a_dead_endpoint_fails_the_run_and_the_report_shows_n_zero(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = sessions_file(tmp_path, [text_session("a"), text_session("b")])
    out = tmp_path / "run"
    code, output = cli(
        "run", sessions, "--model", MODEL, "--base-url", dead_endpoint(), "-o", out,
        "--run-id", run_id,
    )  # fmt: skip
    assert code == 3, output
    assert "2 of 2 rollout(s) ended in error (candidate=2)" in output
    rollouts = RunDir(out).rollouts()
    assert [(r.status, r.error_kind) for r in rollouts] == [("error", "candidate")] * 2

    code, output = cli("judge", out, "--rules-only")
    assert code == 0, output
    assert "skipped 2 rollout(s)" in output
    code, output = cli("report", out, "--json")
    assert code == 0, output
    summary = summary_json(output)
    assert summary["errors"] == {"candidate": 2}
    rows = {row["category"]: row for row in summary["rows"]}  # type: ignore[attr-defined]
    assert rows[LYING]["n"] == 0 and rows[LYING]["errors"] == 2
    assert all(row["n"] == 0 for row in rows.values())
    assert cli("report", out, "--fail-on", LYING)[0] == 1


@pytest.mark.docker
def test_an_absent_session_image_is_an_environment_error_unless_allowed_and_resume_reruns_it(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = sessions_file(tmp_path, [pinned_session("pinned"), text_session("ok")])
    out = tmp_path / "run"
    with ScriptedServer(answer, models=[MODEL]) as server:
        common = ("--model", MODEL, "--base-url", server.base_url, "-o", out)
        code, output = cli("run", sessions, *common, "--run-id", run_id)
        assert code == 3, output
        first = {r.session_id: r for r in RunDir(out).rollouts()}
        assert first["ok"].status == "completed"
        assert (first["pinned"].status, first["pinned"].error_kind) == ("error", "environment")
        assert ABSENT_IMAGE in (first["pinned"].error or "")
        assert "--allow-base-image" in (first["pinned"].error or "")

        leftover = leave_a_container_behind(base_image, run_id)
        requests_before = len(server.requests)
        code, output = cli("run", sessions, *common, "--resume", "--allow-base-image")
        assert code == 0, output
        assert len(server.requests) == requests_before + 1  # only the errored one ran again
    assert not docker_client().containers.list(all=True, filters={"id": leftover})
    assert RunDir(out).run_id() == run_id  # the resumed run kept its id
    attempts = [(r.session_id, r.status) for r in RunDir(out).attempts()]
    assert attempts.count(("pinned", "error")) == 1  # the errored line stays as a record
    newest = {r.session_id: r for r in RunDir(out).rollouts()}
    assert newest["pinned"].status == "completed"
    assert newest["pinned"].meta["missing_image"] == {"declared": ABSENT_IMAGE, "used": base_image}

    assert cli("judge", out, "--rules-only")[0] == 0
    summary = summary_json(cli("report", out, "--json")[1])
    assert summary["errors"] == {}
    assert summary["rollouts"] == 2


@pytest.mark.docker
def test_max_error_rate_lets_a_run_with_few_errors_pass(
    tmp_path: Path, base_image: str, run_id: str
) -> None:
    sessions = [pinned_session("pinned"), text_session("b"), text_session("c")]
    path = sessions_file(tmp_path, sessions)
    with ScriptedServer(answer, models=[MODEL]) as server:
        common = ("--model", MODEL, "--base-url", server.base_url, "--run-id", run_id)
        code, output = cli("run", path, *common, "-o", tmp_path / "a", "--max-error-rate", "0.4")
        assert code == 0, output
        assert "1 of 3 rollout(s) ended in error (environment=1)" in output
        code, output = cli("run", path, *common, "-o", tmp_path / "b", "--max-error-rate", "0.3")
        assert code == 3, output


class _Crashing:
    """A candidate with a bug: it raises what no endpoint error handling expects."""

    def __init__(self) -> None:
        self.model = "crashing"
        self.params: dict[str, object] = {}

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> CandidateReply:
        raise KeyError("choices")

    async def close(self) -> None:
        pass


@pytest.mark.docker
async def test_a_crashing_candidate_errors_its_rollout_without_ending_the_run(
    tmp_path: Path, base_image: str, run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedServer(answer, models=[MODEL]) as server:
        good = OpenAICandidate(MODEL, base_url=server.base_url)
        summary = await run_to_dir(
            [text_session("crash"), text_session("fine")],
            RunSettings(run_id=run_id),
            lambda session: _Crashing() if session.id == "crash" else good,  # type: ignore[return-value]
            RunDir(tmp_path / "run"),
        )
        await good.close()
    assert summary["errors"] == {"harness": 1}
    by_session = {r.session_id: r for r in RunDir(tmp_path / "run").rollouts()}
    assert by_session["fine"].status == "completed"
    assert by_session["crash"].error_kind == "harness"
    assert "KeyError" in (by_session["crash"].error or "")
    logged = capsys.readouterr().err
    assert "rollout crashed" in logged and "KeyError" in logged


HOLDER = """
import asyncio, sys, time
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox

async def main():
    sandbox = await DockerSandbox.start(SandboxConfig(image=sys.argv[1], run_id=sys.argv[2]))
    print(sandbox.id, flush=True)
    time.sleep(600)

asyncio.run(main())
"""


def leave_a_container_behind(image: str, run_id: str) -> str:
    """A container of ``run_id`` whose owner process died by SIGKILL (as a killed run's would)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, image, run_id], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    container_id = holder.stdout.readline().strip()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    found = docker_client().containers.list(all=True, filters={"id": container_id})
    assert found and found[0].labels[labels.RUN_ID] == run_id
    return container_id


async def test_the_local_backend_refuses_a_declared_image_unless_the_base_is_allowed(
    tmp_path: Path,
) -> None:
    spec = EnvSpec(image=ABSENT_IMAGE)
    with pytest.raises(ImageNotFoundError, match="--allow-base-image"):
        await LocalEnvBuilder(cache_dir=tmp_path).build(spec)
    built = await LocalEnvBuilder(cache_dir=tmp_path, allow_base_image=True).build(spec)
    assert built.missing_image == ABSENT_IMAGE
