"""EnvBuilder on a real engine with real git repositories made in tmp dirs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import git
import pytest

from understudy.errors import EnvBuildError, ImageNotFoundError
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envbuilder import BuiltEnv, EnvBuilder
from understudy.trajectory import EnvSpec, RepoSpec

pytestmark = pytest.mark.docker

AUTHOR = git.Actor("test", "test@example.invalid")
PATCH = (
    "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n-    return a - b\n+    return a + b\n"
)


def commit_file(repo: git.Repo, name: str, text: str, message: str) -> str:
    path = Path(repo.working_tree_dir or ".", name)
    path.write_text(text)
    repo.index.add([name])
    return str(repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha)


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path) -> tuple[git.Repo, str, str]:
    """A repo with a buggy first commit and a second commit that adds a file."""
    repository = git.Repo.init(tmp_path / "origin")
    first = commit_file(repository, "calc.py", "def add(a, b):\n    return a - b\n", "buggy")
    second = commit_file(repository, "later.txt", "added later\n", "second")
    return repository, first, second


@pytest.fixture
async def builder(base_image: str, run_id: str) -> AsyncIterator[EnvBuilder]:
    yield EnvBuilder(base_image=base_image, run_id=run_id)


async def run_in(env: BuiltEnv, workdir: str, command: str, run_id: str) -> str:
    config = SandboxConfig(image=env.image, workdir=workdir, run_id=run_id)
    async with await DockerSandbox.start(config) as sandbox:
        result = await sandbox.exec(command)
        assert result.exit_code == 0, result.output
        return result.output


async def test_build_checks_out_commit_applies_patch_runs_setup_and_caches(
    builder: EnvBuilder, repo: tuple[git.Repo, str, str], built_images: list[str]
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
    built_images.append(env.image)
    assert not env.cached
    assert env.image.startswith("understudy/env:")
    output = await run_in(
        env,
        "/testbed",
        "cat setup-out.txt; ls; git rev-parse HEAD; git status --short",
        builder.run_id,
    )
    lines = output.splitlines()
    assert lines[:2] == ["5", "hello"]  # the patch fixed add(); the spec's env reached setup
    assert "later.txt" not in lines  # checked out at the first commit
    assert first in lines
    assert " M calc.py" in lines

    again = await builder.build(spec)
    assert again.cached
    assert again.image_id == env.image_id


async def test_build_from_url_and_branch(
    builder: EnvBuilder, repo: tuple[git.Repo, str, str], tmp_path: Path, built_images: list[str]
) -> None:
    repository, _, second = repo
    bare = repository.clone(tmp_path / "remote.git", bare=True)
    spec = EnvSpec(
        repo=RepoSpec(url=f"file://{bare.git_dir}", branch=repository.active_branch.name)
    )
    env = await builder.build(spec)
    built_images.append(env.image)
    output = await run_in(env, "/workspace", "git rev-parse HEAD; cat later.txt", builder.run_id)
    assert output.splitlines() == [second, "added later"]


async def test_new_commit_in_local_repo_misses_the_cache(
    builder: EnvBuilder, repo: tuple[git.Repo, str, str], built_images: list[str]
) -> None:
    repository, _, _ = repo
    spec = EnvSpec(repo=RepoSpec(path=repository.working_tree_dir))
    first = await builder.build(spec)
    built_images.append(first.image)
    commit_file(repository, "new.txt", "new\n", "third")
    second = await builder.build(spec)
    built_images.append(second.image)
    assert not second.cached
    assert second.env_hash != first.env_hash


async def test_a_clone_elsewhere_at_the_same_commit_hits_the_cache(
    builder: EnvBuilder, repo: tuple[git.Repo, str, str], built_images: list[str], tmp_path: Path
) -> None:
    repository, _, second = repo
    clone = git.Repo.clone_from(str(repository.working_tree_dir), tmp_path / "elsewhere")
    first = await builder.build(EnvSpec(repo=RepoSpec(path=repository.working_tree_dir)))
    built_images.append(first.image)
    again = await builder.build(EnvSpec(repo=RepoSpec(path=clone.working_tree_dir)))
    assert again.cached and again.image_id == first.image_id
    pinned = EnvSpec(repo=RepoSpec(path=repository.working_tree_dir, commit=second))
    built_images.append((await builder.build(pinned)).image)
    moved = EnvSpec(repo=RepoSpec(path=clone.working_tree_dir, commit=second))
    assert (await builder.build(moved)).cached
    await run_in(again, "/workspace", "test -f later.txt", builder.run_id)


async def test_session_image_used_when_present_else_an_error_unless_the_base_is_allowed(
    builder: EnvBuilder, base_image: str, built_images: list[str]
) -> None:
    tag = f"understudy/test-session-image:{uuid.uuid4().hex[:8]}"
    docker_client().images.get(base_image).tag(tag)
    built_images.append(tag)
    env = await builder.build(EnvSpec(image=tag, setup=["true"]))
    built_images.append(env.image)
    assert env.base_image == tag and env.missing_image is None

    absent = EnvSpec(image="understudy/no-such-image:1", setup=["true"])
    with pytest.raises(ImageNotFoundError, match="--allow-base-image"):
        await builder.build(absent)
    builder.allow_base_image = True
    missing = await builder.build(absent)
    built_images.append(missing.image)
    assert missing.base_image == base_image
    assert missing.missing_image == "understudy/no-such-image:1"


async def test_setup_timeout_is_reported(base_image: str, run_id: str) -> None:
    builder = EnvBuilder(base_image=base_image, setup_timeout_s=0.5, run_id=run_id)
    with pytest.raises(EnvBuildError, match="setup command 1 timed out"):
        await builder.build(EnvSpec(setup=["sleep 30"]))


async def test_missing_base_image_says_how_to_build_it() -> None:
    builder = EnvBuilder(base_image="understudy/missing-base:none")
    with pytest.raises(ImageNotFoundError, match="understudy images build"):
        await builder.build(EnvSpec(setup=["true"]))
