"""The errors of both environment builders, one set of cases run on each backend.

The docker builder (EnvBuilder, images) and the local one (LocalEnvBuilder, directories) share
the checkout, patch and setup steps (sandbox/envspec.py), so they must fail alike: the same
messages, and nothing cached by a build that failed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import git
import pytest
from test_envbuilder import (
    PATCH,
    repo_fixture,  # noqa: F401 - the "repo" fixture
)
from test_local_fallback import scratch_fixture  # noqa: F401 - the "scratch" fixture
from test_sandbox_local_env import envs_dir

from understudy.errors import EnvBuildError
from understudy.sandbox import labels
from understudy.sandbox.backends import EnvBuilds
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envbuilder import EnvBuilder
from understudy.sandbox.local_env import LocalEnvBuilder
from understudy.trajectory import EnvSpec, RepoSpec


@dataclass
class Backend:
    builder: EnvBuilds
    cached: Callable[[], list[str]]
    """What the builder has cached so far (images of the run, or env directories)."""


def docker_backend(request: pytest.FixtureRequest, run_id: str) -> Backend:
    builder = EnvBuilder(base_image=request.getfixturevalue("base_image"), run_id=run_id)

    def cached() -> list[str]:
        images = docker_client().api.images(filters={"label": f"{labels.RUN_ID}={run_id}"})
        return [str(image["Id"]) for image in images]

    return Backend(builder, cached)


def local_backend(request: pytest.FixtureRequest, run_id: str) -> Backend:
    request.getfixturevalue("scratch")  # the local cache goes under tmp_path
    return Backend(LocalEnvBuilder(run_id=run_id), envs_dir)


@pytest.fixture(
    params=[pytest.param(docker_backend, marks=pytest.mark.docker, id="docker"),
            pytest.param(local_backend, id="local")]
)  # fmt: skip
def backend(request: pytest.FixtureRequest, run_id: str) -> Iterator[Backend]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the local no-isolation warning
        yield request.param(request, run_id)


async def test_unknown_commit(backend: Backend, repo: tuple[git.Repo, str, str]) -> None:
    repository, _, _ = repo
    spec = EnvSpec(repo=RepoSpec(path=repository.working_tree_dir, commit="0123abcd" * 5))
    with pytest.raises(EnvBuildError, match=r"'0123abcd.*' not found in"):
        await backend.builder.build(spec)
    assert backend.cached() == []


async def test_unreachable_url(backend: Backend, tmp_path: Path) -> None:
    spec = EnvSpec(repo=RepoSpec(url=f"file://{tmp_path}/missing.git", commit="abc"))
    with pytest.raises(
        EnvBuildError, match=r"cannot clone .*missing\.git.*does not appear to be a git"
    ):
        await backend.builder.build(spec)
    assert backend.cached() == []


async def test_patch_that_does_not_apply(backend: Backend, repo: tuple[git.Repo, str, str]) -> None:
    repository, _, second = repo
    bad_patch = PATCH.replace("return a - b", "return a * b")
    spec = EnvSpec(repo=RepoSpec(path=repository.working_tree_dir, commit=second, patch=bad_patch))
    with pytest.raises(EnvBuildError, match="the patch does not apply"):
        await backend.builder.build(spec)
    assert backend.cached() == []


async def test_failing_setup_command_reports_its_output(backend: Backend) -> None:
    spec = EnvSpec(setup=["true", "echo compiling; echo 'fatal: no compiler' >&2; exit 7"])
    with pytest.raises(EnvBuildError) as raised:
        await backend.builder.build(spec)
    message = str(raised.value)
    assert "setup command 2 failed with exit code 7" in message
    assert "fatal: no compiler" in message
    assert backend.cached() == []  # a failed build is never a cache hit
