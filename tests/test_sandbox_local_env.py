"""The local backend's environments and cut states: LocalEnvBuilder, LocalPrefixes, the pool.

Real git repositories in tmp dirs, real commands on this machine (relative paths only: the local
backend has no isolation). Scratch directories and the local cache live under tmp_path, and the
``scratch`` fixture checks that nothing is left there and no process still runs in it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
from test_envbuilder import (
    PATCH,
    commit_file,
    repo_fixture,  # noqa: F401 - the "repo" fixture
)
from test_local_fallback import scratch_fixture  # noqa: F401 - the "scratch" fixture

from understudy.errors import EnvBuildError
from understudy.protocols import Sandbox
from understudy.sandbox import tracking
from understudy.sandbox.backends import run_backend
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.envspec import BuiltEnv
from understudy.sandbox.local import LocalSandbox
from understudy.sandbox.local_env import LocalEnvBuilder, LocalPrefixes
from understudy.sandbox.local_files import local_cache_dir
from understudy.sandbox.pool import SandboxPool
from understudy.sandbox.snapshots import PrefixKey
from understudy.trajectory import EnvSpec, RepoSpec


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    # The no-isolation warning of every local start is tested in test_registry.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.fixture
def builder(scratch: Path, run_id: str) -> LocalEnvBuilder:
    """A builder with the default cache: under XDG_CACHE_HOME, which ``scratch`` moved."""
    return LocalEnvBuilder(run_id=run_id)


def envs_dir() -> list[str]:
    envs = local_cache_dir() / "local-envs"
    return sorted(path.name for path in envs.iterdir()) if envs.exists() else []


async def run_in(env: BuiltEnv, workdir: str, command: str, run_id: str) -> str:
    config = SandboxConfig(image=env.image, workdir=workdir, run_id=run_id)
    async with await LocalSandbox.start(config) as sandbox:
        result = await sandbox.exec(command)
    assert result.exit_code == 0, result.output
    return result.output


# -- LocalEnvBuilder ---------------------------------------------------------------------------


async def test_build_checks_out_commit_applies_patch_runs_setup_and_caches(
    builder: LocalEnvBuilder, repo: tuple[git.Repo, str, str]
) -> None:
    repository, first, _ = repo
    spec = EnvSpec(
        repo=RepoSpec(path=repository.working_tree_dir, commit=first, patch=PATCH),
        workdir="/testbed",
        setup=[
            "python3 -c 'import calc; print(calc.add(2, 3))' > setup-out.txt",
            'echo "$GREETING" >> setup-out.txt',
        ],
        env={"GREETING": "hello"},
    )
    env = await builder.build(spec)
    assert not env.cached
    assert env.image.startswith("local:") and env.base_image == "local"
    root = Path(env.image_id)
    assert sorted(path.name for path in root.iterdir()) == ["testbed"]  # nothing else written
    output = await run_in(
        env, "/testbed", "cat setup-out.txt; ls; git rev-parse HEAD; git status --short", "t"
    )
    lines = output.splitlines()
    assert lines[:2] == ["5", "hello"]  # the patch fixed add(); the spec's env reached setup
    assert "later.txt" not in lines  # checked out at the first commit
    assert first in lines
    assert " M calc.py" in lines

    again = await builder.build(spec)
    assert again.cached
    assert again.image == env.image
    assert envs_dir() == [root.name]  # no staging directory left beside it


async def test_build_from_url_and_branch(
    builder: LocalEnvBuilder, repo: tuple[git.Repo, str, str], tmp_path: Path, run_id: str
) -> None:
    repository, _, second = repo
    bare = repository.clone(tmp_path / "remote.git", bare=True)
    spec = EnvSpec(
        repo=RepoSpec(url=f"file://{bare.git_dir}", branch=repository.active_branch.name)
    )
    env = await builder.build(spec)
    output = await run_in(env, "/workspace", "git rev-parse HEAD; cat later.txt", run_id)
    assert output.splitlines() == [second, "added later"]


async def test_new_commit_in_local_repo_misses_the_cache(
    builder: LocalEnvBuilder, repo: tuple[git.Repo, str, str]
) -> None:
    repository, _, _ = repo
    spec = EnvSpec(repo=RepoSpec(path=repository.working_tree_dir))
    first = await builder.build(spec)
    commit_file(repository, "new.txt", "new\n", "third")
    second = await builder.build(spec)
    assert not second.cached
    assert second.env_hash != first.env_hash
    assert (Path(second.image_id) / "workspace" / "new.txt").is_file()


async def test_setup_timeout_is_reported(scratch: Path, tmp_path: Path) -> None:
    builder = LocalEnvBuilder(setup_timeout_s=0.5, cache_dir=tmp_path / "cache")
    with pytest.raises(EnvBuildError, match="setup command 1 timed out"):
        await builder.build(EnvSpec(setup=["sleep 30"]))


# -- LocalPrefixes -----------------------------------------------------------------------------


def prefix_key(run_id: str) -> PrefixKey:
    return PrefixKey(env_hash="e" * 64, session_id=run_id, cut=3, recipe="r")


async def enter_build(sandbox: Sandbox) -> dict[str, object]:
    """A prefix: a file, a directory the persistent shell enters, a variable it exports."""
    await sandbox.write_file("note.txt", b"from the prefix\n")
    result = await sandbox.exec("mkdir -p build && cd build && export LEVEL=7", persistent=True)
    assert result.exit_code == 0, result.output
    return {"compared": 1}


async def test_prefix_state_is_taken_over_by_one_sandbox_with_its_shell(
    scratch: Path,
    tmp_path: Path,
    run_id: str,
) -> None:
    env = tmp_path / "env"
    (env / "workspace").mkdir(parents=True)
    (env / "workspace" / "calc.py").write_text("x = 1\n")
    config = SandboxConfig(image=f"local:{env}", run_id=run_id)
    store = LocalPrefixes(run_id)
    found = await store.get_or_build(prefix_key(run_id), config, enter_build)
    assert (found.cached, found.state) == (False, {"compared": 1})
    kept = Path(found.image.removeprefix("local-once:"))
    assert (kept / "workspace" / "note.txt").is_file()
    again = await store.get_or_build(prefix_key(run_id), config, enter_build)
    assert again.image != found.image  # nothing is cached: every rollout re-executes
    await store.discard(again.image)  # as for an aborted prefix
    assert not Path(again.image.removeprefix("local-once:")).exists()
    assert again.image not in tracking.live_sandboxes()

    sample_config = config.model_copy(update={"image": found.image})
    async with await LocalSandbox.start(sample_config) as sample:
        assert not kept.exists()  # moved into the sample's root, not copied
        assert found.image not in tracking.live_sandboxes()  # the sample's to remove now
        assert await sample.read_file("note.txt") == b"from the prefix\n"
        assert await sample.changed_files() == []  # changes count from the state at the cut
        shown = await sample.exec('pwd; echo "level=$LEVEL"', persistent=True)
        # The shell is where the prefix left it, in this sandbox's own root.
        assert shown.output == f"{sample.id}/workspace/build\nlevel=7\n"


async def test_a_failing_prefix_build_keeps_nothing(
    scratch: Path,
    tmp_path: Path,
    run_id: str,
) -> None:
    async def broken(sandbox: Sandbox) -> dict[str, object]:
        raise RuntimeError("the prefix broke")

    (tmp_path / "env").mkdir()
    config = SandboxConfig(image=f"local:{tmp_path / 'env'}", run_id=run_id)
    with pytest.raises(RuntimeError, match="the prefix broke"):
        await LocalPrefixes(run_id).get_or_build(prefix_key(run_id), config, broken)


# -- the backend seam and the pool -------------------------------------------------------------


async def test_the_local_backend_hands_out_local_parts(scratch: Path, run_id: str) -> None:
    backend = run_backend("local")
    assert backend.name == "local"
    assert isinstance(backend.builder("ignored", run_id), LocalEnvBuilder)
    assert isinstance(backend.prefixes(run_id), LocalPrefixes)
    async with SandboxPool(SandboxConfig(run_id=run_id), size=2, backend=backend) as pool:
        await pool.fill()
        assert pool.ready == 2
        async with backend.started(SandboxConfig(run_id=run_id)) as other:
            assert isinstance(other, LocalSandbox)
        sandbox = await pool.acquire()
        try:
            assert isinstance(sandbox, LocalSandbox)
            assert (await sandbox.exec("echo ready")).output == "ready\n"
        finally:
            await sandbox.close()
