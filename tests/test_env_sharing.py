"""A run builds each environment once, also when its rollouts start at the same moment: they
share the build in flight. A build that fails is not kept, so the next rollout tries again."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from understudy.errors import EnvBuildError
from understudy.replay.candidate import OpenAICandidate
from understudy.replay.demo import DEMO_MODEL, demo_policy, demo_sessions
from understudy.replay.rundir import RunDir
from understudy.replay.runner import RunSettings, run_to_dir
from understudy.sandbox.local_env import LocalEnvBuilder
from understudy.testing import ScriptedServer
from understudy.trajectory import Rollout, Session

# The local backend says it has no isolation at each start; these tests know.
pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox has NO isolation")


def count_builds(monkeypatch: pytest.MonkeyPatch, fail_first: int = 0) -> Counter[str]:
    """Count the local builder's builds by repository; each takes a moment, so that rollouts
    started together overlap with it; the first ``fail_first`` builds fail."""
    builds: Counter[str] = Counter()
    real_build = LocalEnvBuilder.build

    async def build(self: LocalEnvBuilder, spec: Any) -> Any:
        builds[str(spec.repo.path if spec.repo else "")] += 1
        await asyncio.sleep(0.3)
        if sum(builds.values()) <= fail_first:
            raise EnvBuildError("the build failed (on purpose)")
        return await real_build(self, spec)

    monkeypatch.setattr(LocalEnvBuilder, "build", build)
    return builds


async def run_local(sessions: list[Session], run_dir: Path, **settings: Any) -> list[Rollout]:
    with ScriptedServer(demo_policy, models=[DEMO_MODEL]) as server:
        candidate = OpenAICandidate(DEMO_MODEL, base_url=server.base_url)
        await run_to_dir(
            sessions,
            RunSettings(run_id="env-sharing", backend="local", **settings),
            lambda session: candidate,
            RunDir(run_dir),
        )
        await candidate.close()
    return RunDir(run_dir).rollouts()


async def test_rollouts_started_together_share_one_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = count_builds(monkeypatch)
    sessions = demo_sessions(tmp_path / "repos")[:2]
    rollouts = await run_local(sessions, tmp_path / "run", samples=3, sandboxes=6)
    assert len(rollouts) == 6 and {r.status for r in rollouts} == {"completed"}
    assert sorted(builds.values()) == [1, 1], builds  # one build per environment, not per rollout


async def test_a_failed_build_is_tried_again_by_the_next_rollout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = count_builds(monkeypatch, fail_first=1)
    sessions = demo_sessions(tmp_path / "repos")[:1]
    # One sandbox at a time: the first rollout's build fails, the second builds again.
    rollouts = await run_local(sessions, tmp_path / "run", samples=2, sandboxes=1)
    statuses = sorted(r.status for r in rollouts)
    assert statuses == ["completed", "error"], statuses
    failed = next(r for r in rollouts if r.status == "error")
    assert failed.error_kind == "environment" and "on purpose" in (failed.error or "")
    assert sum(builds.values()) == 2
