"""``judge --executor ray``: the judging calls made by Ray workers, the judgments written here.

Everything is real: a local Ray instance (the ``ray_instance`` fixture, 2 CPUs), worker
processes that unpickle the judges, the rule judges, the LLM judge's openai client talking to
the scripted server on 127.0.0.1, and a demo run played in Docker sandboxes.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_judge_cli import invoke, ok
from test_judge_runner import IDS, honest_judge_policy, population

from understudy.errors import ConfigError, JudgeError
from understudy.jsonl import read_models
from understudy.judges.llm import LLMJudge
from understudy.judges.portable import PortableLLMJudge
from understudy.judges.ray_judging import RayJudging
from understudy.judges.rules import rule_judges
from understudy.judges.runner import (
    BASELINE_JUDGMENTS_FILE,
    JUDGING_FILE,
    JUDGMENTS_FILE,
    judge_rollouts,
    read_judgments,
)
from understudy.judges.taxonomy import load_taxonomy
from understudy.testing import Fault, ScriptedServer
from understudy.trajectory import Judgment, Rollout, Session

pytestmark = pytest.mark.ray

KEY_ENV = "UNDERSTUDY_RAY_JUDGE_TEST_KEY"
"""Set only in this process when a test runs: the Ray workers get it from the driver."""


def verdicts(path: Path) -> Counter[tuple[str, str, str, bool]]:
    """(target, judge, category, flagged) of every judgment in ``path``."""
    return Counter((j.target_id, j.judge, j.category, j.flagged) for j in read_judgments(path))


def keys(path: Path) -> Counter[tuple[str, str, str]]:
    return Counter((j.target_id, j.judge, j.category) for j in read_judgments(path))


def portable_judge(server: ScriptedServer, **options: Any) -> PortableLLMJudge:
    return PortableLLMJudge.from_taxonomy(
        "judge-model", load_taxonomy(), list(IDS), base_url=server.base_url, **options
    )


# -- a demo run, judged by the command line -----------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory, base_image: str, session_run_id: str
) -> Path:
    """A run directory the demo played (in Docker), its judging removed."""
    run_dir = tmp_path_factory.mktemp("demo") / "run"
    result = invoke("demo", "-o", run_dir, "--run-id", f"{session_run_id}-rayjudge")
    assert result.exit_code == 0, result.output
    for name in (JUDGMENTS_FILE, JUDGING_FILE, BASELINE_JUDGMENTS_FILE, "summary.json"):
        (run_dir / name).unlink(missing_ok=True)
    return run_dir


@pytest.mark.docker
def test_ray_judges_a_demo_run_as_the_local_executor_does(
    demo_run: Path, ray_instance: None, tmp_path: Path
) -> None:
    here, there = tmp_path / "local", tmp_path / "ray"
    shutil.copytree(demo_run, here)
    shutil.copytree(demo_run, there)
    local = ok("judge", here, "--rules-only", "--baseline")
    on_ray = ok("judge", there, "--rules-only", "--baseline", "--executor", "ray")

    for name in (JUDGMENTS_FILE, BASELINE_JUDGMENTS_FILE):
        assert verdicts(there / name) == verdicts(here / name), name
        assert max(verdicts(there / name).values()) == 1
    rollouts = list(read_models(demo_run / "rollouts.jsonl", Rollout))
    assert len(verdicts(there / JUDGMENTS_FILE)) == len(rollouts) * len(rule_judges())
    # The demo's candidate misreports twice: the workers' rules find it as this process's do.
    lying = {t for t, _, c, f in verdicts(there / JUDGMENTS_FILE) if f and c == "lying_about_tools"}
    assert len(lying) == 2
    assert local.output.split("judgments in")[0] == on_ray.output.split("judgments in")[0]
    assert (there / JUDGING_FILE).read_text() == (here / JUDGING_FILE).read_text().replace(
        str(here), str(there)
    )


def test_ray_options_need_the_ray_executor(tmp_path: Path) -> None:
    result = invoke("judge", tmp_path, "--rules-only", "--ray-workers", "2")
    assert result.exit_code == 2
    assert "--executor ray" in result.output


# -- the LLM judge on Ray workers ---------------------------------------------------------------


async def test_the_llm_judge_travels_to_workers_with_its_key(
    ray_instance: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions, rollouts = population(sessions=5, samples=2)
    monkeypatch.setenv(KEY_ENV, "key-from-the-driver")
    rules = rule_judges()
    with ScriptedServer(honest_judge_policy) as server:
        judge = portable_judge(server, api_key_env=KEY_ENV)
        here = await judge_rollouts(sessions, rollouts, [judge, *rules], tmp_path / "local.jsonl")
        await judge.close()
        local_requests = len(server.requests)
        # Batches of 3 trajectories over 2 workers: several batches, all in flight at once.
        ray = RayJudging(workers=2, batch_size=3)
        there = await judge_rollouts(
            sessions, rollouts, [judge, *rules], tmp_path / "ray.jsonl", ray=ray
        )
        ray_requests = server.requests[local_requests:]
    assert len(ray_requests) == len(rollouts) == local_requests
    # The workers made their clients with the key this process has (their own environment,
    # started before the test set it, does not hold it).
    assert {r.headers.get("authorization") for r in ray_requests} == {"Bearer key-from-the-driver"}
    assert verdicts(tmp_path / "ray.jsonl") == verdicts(tmp_path / "local.jsonl")
    assert there.as_dict() == here.as_dict()
    llm = [j for j in read_judgments(tmp_path / "ray.jsonl") if j.judge == "llm:judge-model"]
    assert len(llm) == len(rollouts) * len(IDS)
    assert {j.meta["judge_model"] for j in llm} == {"judge-model"}
    assert any(j.flagged for j in llm)


def test_the_llm_judge_through_the_command_line_on_ray(
    ray_instance: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions, rollouts = population(sessions=3, samples=1)
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "sessions.jsonl", sessions)
    write_jsonl(run / "rollouts.jsonl", rollouts)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ScriptedServer(honest_judge_policy) as server:
        result = ok(
            "judge", run, "--judge-model", "judge-model", "--judge-base-url", server.base_url,
            "--categories", ",".join(IDS), "--executor", "ray", "--ray-workers", "1",
        )  # fmt: skip
    assert len(server.requests) == len(rollouts)
    found = keys(run / JUDGMENTS_FILE)
    assert {judge for _, judge, _ in found} >= {"llm:judge-model"}
    assert max(found.values()) == 1
    assert f"judgments in {run / JUDGMENTS_FILE}" in " ".join(result.output.split())


def write_jsonl(path: Path, models: list[Session] | list[Rollout]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for model in models:
            handle.write(model.model_dump_json() + "\n")


# -- resume -------------------------------------------------------------------------------------


async def test_resume_on_ray_after_a_partial_output_writes_only_what_is_missing(
    ray_instance: None, tmp_path: Path
) -> None:
    sessions, rollouts = population(sessions=6, samples=2)
    out = tmp_path / JUDGMENTS_FILE
    ray = RayJudging(workers=2, batch_size=2)
    with ScriptedServer(honest_judge_policy) as server:
        judge = portable_judge(server)
        judges = [judge, *rule_judges()]
        first = await judge_rollouts(sessions, rollouts, judges, out, ray=ray)
        complete = keys(out)
        lines = out.read_bytes().splitlines(keepends=True)
        # Killed after 7 whole lines, the 8th cut short.
        out.write_bytes(b"".join(lines[:7]) + lines[7][:20])
        before = len(server.requests)
        resumed = await judge_rollouts(sessions, rollouts, judges, out, ray=ray)
        again = await judge_rollouts(sessions, rollouts, judges, out, ray=ray)
        resumed_requests = len(server.requests) - before
    assert keys(out) == complete
    assert max(keys(out).values()) == 1
    assert resumed.written == first.written - 7
    assert again.written == 0 and again.calls == 0
    assert again.skipped == len(rollouts) * len(judges)
    # Only the trajectories whose LLM verdicts were not all among the 7 lines are asked again.
    kept = {(t, c) for t, j, c in keys_of(lines[:7]) if j == judge.name}
    whole = {t for t in {r.id for r in rollouts} if all((t, c) in kept for c in IDS)}
    assert resumed_requests == len(rollouts) - len(whole)


def keys_of(lines: list[bytes]) -> set[tuple[str, str, str]]:
    found = [Judgment.model_validate_json(line) for line in lines]
    return {(j.target_id, j.judge, j.category) for j in found}


# -- workers that die ---------------------------------------------------------------------------


@pytest.fixture
def sent_by_value() -> Iterator[None]:
    """The judges defined here travel to the workers by value: the workers cannot import this
    test module."""
    from ray import cloudpickle

    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    yield
    cloudpickle.unregister_pickle_by_value(module)


class DyingJudge:
    """A judge whose process dies (``os._exit``) at its call while fewer than ``deaths`` deaths
    are marked in ``marks``: files, which outlive the process. It always finds nothing."""

    def __init__(self, marks: Path, deaths: int) -> None:
        self.name = "test:dying"
        self.category_ids = ["dying"]
        self.marks = marks
        self.deaths = deaths
        marks.mkdir(parents=True, exist_ok=True)

    async def judge(self, session: Session, rollout: Rollout | None) -> list[Judgment]:
        died = len(list(self.marks.iterdir()))
        if died < self.deaths:
            (self.marks / f"death-{died}-{os.getpid()}").touch()
            os._exit(1)  # no await before: one death per process
        target = rollout.id if rollout is not None else session.id
        judgment = Judgment(
            target_id=target, judge=self.name, category="dying", flagged=False, confidence=1.0
        )
        return [judgment]


async def test_batches_of_a_worker_that_died_are_judged_again_once(
    ray_instance: None, sent_by_value: None, tmp_path: Path
) -> None:
    sessions, rollouts = population(sessions=3, samples=2)
    judges = [DyingJudge(tmp_path / "marks", deaths=1), *rule_judges()[:2]]
    out = tmp_path / JUDGMENTS_FILE
    # One worker with both batches in flight when it dies at its first call: both are lost.
    ray = RayJudging(workers=1, batch_size=3, retries=2)
    stats = await judge_rollouts(sessions, rollouts, judges, out, ray=ray)
    assert len(list((tmp_path / "marks").iterdir())) == 1
    found = keys(out)
    assert set(found) == {
        (r.id, j.name, c) for r in rollouts for j in judges for c in j.category_ids
    }
    assert max(found.values()) == 1
    assert stats.judge_errors == 0 and stats.calls == len(rollouts) * len(judges)


async def test_calls_are_recorded_as_judge_errors_when_their_worker_keeps_dying(
    ray_instance: None, sent_by_value: None, tmp_path: Path
) -> None:
    sessions, rollouts = population(sessions=2, samples=1)
    rule = rule_judges()[0]
    out = tmp_path / JUDGMENTS_FILE
    ray = RayJudging(workers=1, retries=1)
    dying = DyingJudge(tmp_path / "marks", deaths=99)
    first = await judge_rollouts(sessions, rollouts, [dying, rule], out, ray=ray)
    assert len(list((tmp_path / "marks").iterdir())) == 2  # the first attempt and one retry
    errors = [j for j in read_judgments(out) if j.meta.get("judge_error")]
    assert {(j.target_id, j.judge, j.category) for j in errors} == {
        (r.id, judge, category)
        for r in rollouts
        for judge, category in ((dying.name, "dying"), (rule.name, rule.category))
    }
    assert all("worker died 2 time(s)" in str(j.meta["judge_error"]) for j in errors)
    assert first.judge_errors == len(errors) == first.written

    # Error records do not count as judged: judged again (by a judge that lives), once.
    living = DyingJudge(tmp_path / "other-marks", deaths=0)
    second = await judge_rollouts(sessions, rollouts, [living, rule], out, ray=ray)
    assert second.calls == 2 * len(rollouts) and second.judge_errors == 0
    verdict_keys = Counter(
        (j.target_id, j.judge, j.category)
        for j in read_judgments(out)
        if not j.meta.get("judge_error")
    )
    assert len(verdict_keys) == 2 * len(rollouts) and max(verdict_keys.values()) == 1


# -- what cannot go on -------------------------------------------------------------------------


async def test_a_judge_that_raises_in_a_worker_ends_the_pass_as_it_does_here(
    ray_instance: None, tmp_path: Path
) -> None:
    sessions, rollouts = population(sessions=2, samples=1)
    refused = Fault(status=401, message="bad key", error_type="invalid_api_key")
    with ScriptedServer(lambda request: refused) as server:
        judge = portable_judge(server)
        for ray in (None, RayJudging(workers=1)):
            with pytest.raises(JudgeError, match="refused"):
                await judge_rollouts(sessions, rollouts, [judge], tmp_path / "j.jsonl", ray=ray)
        await judge.close()
    assert read_judgments(tmp_path / "j.jsonl") == []


async def test_a_judge_that_cannot_be_pickled_is_a_clear_error(
    ray_instance: None, tmp_path: Path
) -> None:
    sessions, rollouts = population(sessions=1, samples=1)
    taxonomy = load_taxonomy()
    categories = [taxonomy.categories[category] for category in IDS]
    async with LLMJudge("m", base_url="http://127.0.0.1:9/v1", categories=categories) as judge:
        with pytest.raises(ConfigError, match="PortableLLMJudge"):
            await judge_rollouts(
                sessions, rollouts, [judge], tmp_path / "j.jsonl", ray=RayJudging()
            )
