"""The sandbox backend registry: short names, dotted paths, errors and start_sandbox."""

from __future__ import annotations

import pytest

from understudy.errors import ConfigError
from understudy.registry import Registry
from understudy.sandbox import BACKENDS, SandboxConfig, resolve_backend, start_sandbox
from understudy.sandbox.backends import run_backend
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import engine_available
from understudy.sandbox.local import LocalSandbox


def test_backend_names() -> None:
    assert BACKENDS.names() == ["docker", "local"]


def test_get_by_short_name() -> None:
    assert BACKENDS.get("docker") is DockerSandbox
    assert BACKENDS.get("local") is LocalSandbox


@pytest.mark.parametrize(
    "path", ["understudy.sandbox.local:LocalSandbox", "understudy.sandbox.local.LocalSandbox"]
)
def test_get_by_dotted_path(path: str) -> None:
    assert BACKENDS.get(path) is LocalSandbox


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown sandbox backend 'podman'") as caught:
        BACKENDS.get("podman")
    assert "valid names: docker, local" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "path",
    ["understudy.sandbox.local:NoSuchClass", "understudy.no_such_module.Thing", "nodots:"],
)
def test_bad_dotted_path_is_a_config_error(path: str) -> None:
    with pytest.raises(ConfigError, match="cannot load sandbox backend"):
        BACKENDS.get(path)


def test_register_adds_a_name() -> None:
    registry: Registry[object] = Registry("thing", {})
    registry.register("local", "understudy.sandbox.local:LocalSandbox")
    assert registry.names() == ["local"]
    assert registry.get("local") is LocalSandbox


def test_resolve_backend() -> None:
    assert resolve_backend("local") == "local"
    assert resolve_backend("docker") == "docker"
    assert resolve_backend("auto") == ("docker" if engine_available() else "local")


async def test_start_sandbox_with_the_local_backend(run_id: str) -> None:
    with pytest.warns(RuntimeWarning, match="NO isolation"):
        sandbox = await start_sandbox(SandboxConfig(run_id=run_id), backend="local")
    try:
        assert isinstance(sandbox, LocalSandbox)
        assert (await sandbox.exec("echo local")).output == "local\n"
    finally:
        await sandbox.close()


async def test_start_sandbox_with_an_unknown_backend_starts_nothing(run_id: str) -> None:
    with pytest.raises(ConfigError, match="valid names"):
        await start_sandbox(SandboxConfig(run_id=run_id), backend="nope")


def test_run_backend_gives_each_backend_its_own_parts(run_id: str) -> None:
    from understudy.sandbox.envbuilder import EnvBuilder
    from understudy.sandbox.local_env import LocalEnvBuilder, LocalPrefixes
    from understudy.sandbox.snapshots import PrefixCache
    from understudy.sandbox.users import WithSandboxUser

    docker = run_backend("docker")  # nothing is started: no engine is needed yet
    assert (docker.name, docker.sandbox) == ("docker", DockerSandbox)
    # By default docker environments get the sandbox user on top of the env image.
    wrapped = docker.builder("understudy/other-base:1", run_id)
    assert isinstance(wrapped, WithSandboxUser) and isinstance(wrapped.inner, EnvBuilder)
    builder = docker.builder("understudy/other-base:1", run_id, sandbox_root=True)
    assert isinstance(builder, EnvBuilder) and builder.base_image == "understudy/other-base:1"
    assert isinstance(docker.prefixes(run_id), PrefixCache)
    local = run_backend("local")
    assert (local.name, local.sandbox) == ("local", LocalSandbox)
    assert isinstance(local.builder("ignored", run_id), LocalEnvBuilder)
    assert isinstance(local.prefixes(run_id), LocalPrefixes)
    assert run_backend("auto").name == resolve_backend("auto")


def test_run_backend_of_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid names: auto, docker, local"):
        run_backend("podman")
