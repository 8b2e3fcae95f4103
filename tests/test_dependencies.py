"""``pip_install``: Python requirements installed at build time from a host-side wheelhouse, on a
real engine, with no package index (``PIP_NO_INDEX``) and no network in any sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from understudy.errors import EnvBuildError
from understudy.replay.env_resolution import resolve_env
from understudy.replay.env_rows import EnvRow
from understudy.sandbox import labels
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.dependencies import wheelhouse_key
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envbuilder import EnvBuilder
from understudy.sandbox.envspec import spec_hash
from understudy.sandbox.local_env import LocalEnvBuilder
from understudy.trajectory import EnvSpec, RepoSpec, Session, SourceInfo

pytest.importorskip("setuptools")  # the host builds the local packages without isolation

AUTHOR = git.Actor("test", "test@example.invalid")
ALPHA = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "alpha"
version = "1.0"
dependencies = ["beta"]
"""
BETA = ALPHA.replace('"alpha"', '"beta"').replace('dependencies = ["beta"]\n', "")


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path) -> git.Repo:
    """A package ``alpha`` that needs ``beta``, a second local package in the same repository."""
    root = tmp_path / "origin"
    (root / "libs" / "beta").mkdir(parents=True)
    (root / "pyproject.toml").write_text(ALPHA)
    (root / "alpha.py").write_text("import beta\n\n\ndef answer():\n    return beta.ANSWER\n")
    (root / "libs" / "beta" / "pyproject.toml").write_text(BETA)
    (root / "libs" / "beta" / "beta.py").write_text("ANSWER = 42\n")
    repository = git.Repo.init(root)
    repository.index.add(["pyproject.toml", "alpha.py", "libs/beta/pyproject.toml"])
    repository.index.add(["libs/beta/beta.py"])
    repository.index.commit("two packages", author=AUTHOR, committer=AUTHOR)
    return repository


@pytest.fixture(autouse=True)
def no_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No package index for the host's pip, and a cache of wheelhouses of this test's own."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def spec_for(repo: git.Repo, pip_install: list[str]) -> EnvSpec:
    return EnvSpec(
        repo=RepoSpec(path=repo.working_tree_dir, commit=repo.head.commit.hexsha),
        workdir="/repo",
        pip_install=pip_install,
    )


def test_row_sets_pip_install_and_the_keys_follow_it(repo: git.Repo) -> None:
    row = EnvRow.model_validate({"match": "*", "pip_install": ["-e", ".", "./libs/beta"]})
    spec = row.applied_to(EnvSpec(repo=RepoSpec(path=repo.working_tree_dir)))
    assert spec.pip_install == ["-e", ".", "./libs/beta"]
    other = spec.model_copy(update={"pip_install": ["."]})
    assert spec_hash(spec, "base", None) != spec_hash(other, "base", None)
    assert wheelhouse_key(spec, "c1") != wheelhouse_key(other, "c1")
    plain = EnvSpec(repo=RepoSpec(path=repo.working_tree_dir))
    assert spec_hash(plain, "base", None) != spec_hash(spec, "base", None)


@pytest.mark.docker
@pytest.mark.slow
async def test_installed_at_build_time_and_importable_without_network(
    repo: git.Repo, base_image: str, run_id: str, built_images: list[str], tmp_path: Path
) -> None:
    builder = EnvBuilder(base_image=base_image, run_id=run_id)
    built = await builder.build(spec_for(repo, ["-e", ".", "./libs/beta"]))
    built_images.append(built.image)
    assert not built.cached
    assert any(line.startswith(("beta==1.0", "beta @ ")) for line in built.installed), (
        built.installed
    )
    assert any(line == "-e /repo" for line in built.installed)
    image_labels = docker_client().images.get(built.image).labels
    assert json.loads(image_labels[labels.PIP_FREEZE]) == built.installed
    assert list((tmp_path / "cache" / "understudy" / "wheelhouses").iterdir())

    config = SandboxConfig(image=built.image, workdir="/repo", run_id=run_id)  # network none
    async with await DockerSandbox.start(config) as sandbox:
        result = await sandbox.exec("python -c 'import alpha; print(alpha.answer())'")
        assert result.output.strip() == "42", result.output
        wheels = await sandbox.exec("ls /tmp/understudy-wheelhouse")
        assert wheels.exit_code != 0
    assert docker_client().api.inspect_image(built.image)["Id"] == built.image_id

    again = await builder.build(spec_for(repo, ["-e", ".", "./libs/beta"]))
    assert again.cached
    assert again.installed == built.installed


@pytest.mark.docker
async def test_a_requirement_that_cannot_be_had_is_an_environment_error(
    repo: git.Repo, base_image: str, run_id: str
) -> None:
    builder = EnvBuilder(base_image=base_image, run_id=run_id)
    with pytest.raises(EnvBuildError, match="pip_install") as caught:
        await builder.build(spec_for(repo, ["./no-such-package"]))
    assert "no-such-package" in str(caught.value)


async def test_the_local_backend_refuses_pip_install(repo: git.Repo, tmp_path: Path) -> None:
    builder = LocalEnvBuilder(cache_dir=tmp_path / "envs")
    with pytest.raises(EnvBuildError, match="pip_install"):
        await builder.build(spec_for(repo, ["-e", "."]))


def test_the_env_record_gives_pip_install(repo: git.Repo) -> None:
    session = Session(id="s1", source=SourceInfo(format="native"), env=spec_for(repo, ["."]))
    _, record = resolve_env(session, [])
    assert record["pip_install"] == ["."]
