"""What a sandbox backend is: a pydantic model that names it, gives its parts and says what it
can do. The backends themselves are declared in :mod:`understudy.sandbox.backends`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from understudy.errors import UnderstudyError
from understudy.protocols import Sandbox
from understudy.sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from understudy.sandbox.envspec import BuiltEnv
    from understudy.sandbox.snapshots import PrefixStore
    from understudy.trajectory import EnvSpec


class SandboxBackend(Protocol):
    """A sandbox class: something with an async ``start(config)``."""

    async def start(self, config: SandboxConfig | None = None) -> Sandbox: ...


class EnvBuilds(Protocol):
    """Turns an EnvSpec into something ``SandboxConfig.image`` can name, cached."""

    async def build(self, spec: EnvSpec) -> BuiltEnv: ...

    def has_image(self, image: str) -> bool:
        """Whether environments of sessions that name ``image`` are built on it (False: the
        base image stands in, where that is allowed)."""
        ...


class BackendConfig(BaseModel):
    """A sandbox backend: its name, its parts, and what it can do.

    Subclasses narrow ``type`` to a ``Literal`` of their name and give the parts; see
    :func:`~understudy.sandbox.backends.declare_backend`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    type: str
    """The backend's name, as ``--sandbox`` and the run settings give it."""

    summary: ClassVar[str] = ""
    """What ``--sandbox``'s help says of the backend."""
    isolated: ClassVar[bool] = True
    """Commands run apart from this machine, in sandboxes that can be confined further (a
    read-only root, a disk limit). False: they run on this machine as this user, which the
    command line says aloud, and ``auto`` warns of when it falls back to such a backend."""
    uses_base_image: ClassVar[bool] = False
    """Environments are built on the base image, which ``understudy images build`` makes."""

    @property
    def name(self) -> str:
        """The backend's name (its ``type``)."""
        return self.type

    @property
    def sandbox(self) -> SandboxBackend:
        """The sandbox class (its ``start``)."""
        raise NotImplementedError

    def env_builder(self, base_image: str, run_id: str, allow_base_image: bool) -> EnvBuilds:
        """The environment builder of the backend, as :meth:`builder` describes it."""
        raise NotImplementedError

    def prefixes(self, run_id: str) -> PrefixStore:
        """Where a run gets the state at each cut."""
        raise NotImplementedError

    def as_sandbox_user(self, builder: EnvBuilds, run_id: str) -> EnvBuilds:
        """``builder`` with its environments made to run as an unprivileged user, where the
        backend has one (else ``builder`` itself)."""
        return builder

    def check_ready(self) -> None:
        """Raise, naming the way out, when sandboxes of this backend cannot start here."""

    def available(self) -> bool:
        """Whether sandboxes of this backend can start here now."""
        try:
            self.check_ready()
        except UnderstudyError:
            return False
        return True

    def disk_limit_refusal(self) -> str | None:
        """Why sandboxes of this backend cannot have a disk limit here, or None if they can
        (asked of isolated backends: the others have no limits at all)."""
        return None

    async def remove_leftovers(self, run_id: str) -> None:
        """Remove what a killed earlier process of run ``run_id`` left behind."""

    def builder(
        self,
        base_image: str,
        run_id: str,
        allow_base_image: bool = False,
        sandbox_root: bool = False,
    ) -> EnvBuilds:
        """An environment builder (``base_image``: for sessions without an image of their own,
        where the backend has images). A session whose declared image cannot be used is an
        :class:`~understudy.errors.ImageNotFoundError` unless ``allow_base_image``.

        Environments run as the backend's unprivileged user where it has one (docker: see
        :mod:`~understudy.sandbox.users`), as root with ``sandbox_root``; local ones run as this
        machine's user either way."""
        built = self.env_builder(base_image, run_id, allow_base_image)
        return built if sandbox_root else self.as_sandbox_user(built, run_id)

    async def start(self, config: SandboxConfig) -> Sandbox:
        """A started sandbox of this backend, the caller's to close."""
        return await self.sandbox.start(config)

    def interactive_shell(self, sandbox: Sandbox) -> list[str] | None:
        """The command that opens an interactive shell in ``sandbox`` for a person at a
        terminal, or None when this backend has none."""
        return None

    @asynccontextmanager
    async def started(self, config: SandboxConfig) -> AsyncIterator[Sandbox]:
        """A started sandbox of this backend, closed on leaving the block."""
        sandbox = await self.sandbox.start(config)
        try:
            yield sandbox
        finally:
            await sandbox.close()
