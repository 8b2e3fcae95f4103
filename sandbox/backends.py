"""A run's backend: how its sandboxes start, and where their environments and cut states come from.

- ``docker``: :class:`~understudy.sandbox.docker.DockerSandbox` containers, environments built as
  images by :class:`~understudy.sandbox.envbuilder.EnvBuilder`, the state at a cut kept as a
  prefix image by :class:`~understudy.sandbox.snapshots.PrefixCache` (shared by the samples and
  by later runs).
- ``local`` (no isolation, for machines without an engine):
  :class:`~understudy.sandbox.local.LocalSandbox` scratch directories, environments built as
  directories by :class:`~understudy.sandbox.local_env.LocalEnvBuilder`, the prefix re-executed
  for every rollout by :class:`~understudy.sandbox.local_env.LocalPrefixes`.

The runner, the fidelity measurement and the sandbox pool take all three from one
:class:`RunBackend` (:func:`run_backend`), so that none of them names a backend itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal, Protocol

from understudy.errors import ConfigError
from understudy.protocols import Sandbox
from understudy.sandbox import SandboxBackend, resolve_backend
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.envspec import BuiltEnv
from understudy.sandbox.snapshots import PrefixStore
from understudy.trajectory import EnvSpec

BackendName = Literal["auto", "docker", "local"]
"""What a run may ask for: ``auto`` is docker when an engine answers, else local (warned)."""


class EnvBuilds(Protocol):
    """Turns an EnvSpec into something ``SandboxConfig.image`` can name, cached."""

    async def build(self, spec: EnvSpec) -> BuiltEnv: ...


class BuilderFactory(Protocol):
    def __call__(self, *, base_image: str, run_id: str, allow_base_image: bool) -> EnvBuilds: ...


@dataclass(frozen=True)
class RunBackend:
    """The sandbox class, environment builder and prefix store of one backend."""

    name: str
    """``docker`` or ``local``."""
    sandbox: SandboxBackend
    """The sandbox class (its ``start``)."""
    make_builder: BuilderFactory
    make_prefixes: Callable[[str], PrefixStore]

    async def start(self, config: SandboxConfig) -> Sandbox:
        """A started sandbox of this backend, the caller's to close."""
        return await self.sandbox.start(config)

    @asynccontextmanager
    async def started(self, config: SandboxConfig) -> AsyncIterator[Sandbox]:
        """A started sandbox of this backend, closed on leaving the block."""
        sandbox = await self.sandbox.start(config)
        try:
            yield sandbox
        finally:
            await sandbox.close()

    def builder(
        self,
        base_image: str,
        run_id: str,
        allow_base_image: bool = False,
        sandbox_root: bool = False,
    ) -> EnvBuilds:
        """An environment builder (``base_image``: for sessions without an image of their own;
        the local backend has none). A session whose declared image is absent is an
        :class:`~understudy.errors.ImageNotFoundError` unless ``allow_base_image``.

        Docker environments run as the unprivileged sandbox user where the image allows it
        (see :mod:`~understudy.sandbox.users`), as root with ``sandbox_root``; local ones run
        as this machine's user either way."""
        builder = self.make_builder(
            base_image=base_image, run_id=run_id, allow_base_image=allow_base_image
        )
        if self.name != "docker" or sandbox_root:
            return builder
        from understudy.sandbox.users import WithSandboxUser

        return WithSandboxUser(builder, run_id)

    def prefixes(self, run_id: str) -> PrefixStore:
        """Where the run gets the state at each cut."""
        return self.make_prefixes(run_id)


def run_backend(name: str = "auto", warn: Callable[[str], None] | None = None) -> RunBackend:
    """The backend called ``name``; ``auto`` is resolved first (see
    :func:`~understudy.sandbox.resolve_backend`, which gets ``warn``)."""
    resolved = resolve_backend(name, warn)
    # Imported here so that choosing one backend does not load the other's modules.
    if resolved == "docker":
        from understudy.sandbox.docker import DockerSandbox
        from understudy.sandbox.envbuilder import EnvBuilder
        from understudy.sandbox.snapshots import PrefixCache

        return RunBackend("docker", DockerSandbox, EnvBuilder, PrefixCache)
    if resolved == "local":
        from understudy.sandbox.local import LocalSandbox
        from understudy.sandbox.local_env import LocalEnvBuilder, LocalPrefixes

        return RunBackend("local", LocalSandbox, LocalEnvBuilder, LocalPrefixes)
    raise ConfigError(f"unknown sandbox backend {name!r}; valid names: auto, docker, local")
