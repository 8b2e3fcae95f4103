"""The sandbox backends, each declared once, and the table that everything else reads them from.

A backend is one pydantic model: a subclass of
:class:`~understudy.sandbox.backend_config.BackendConfig` whose ``type`` tag is its name,
decorated with :func:`declare_backend`. The model is the backend's factory: it gives the sandbox
class, the environment builder and the store of the state at each cut, and says what the
backend can do. From the table of declared backends come the valid values of ``--sandbox`` and
of the run settings, :func:`run_backend`, ``auto`` (:func:`resolve_backend`) and ``BACKENDS``,
the sandbox classes by short name. The runner, the fidelity measurement and the sandbox pool
take their backend from :func:`run_backend`, so that none of them names one.

- ``docker``: :class:`~understudy.sandbox.docker.DockerSandbox` containers, environments built as
  images by :class:`~understudy.sandbox.envbuilder.EnvBuilder`, the state at a cut kept as a
  prefix image by :class:`~understudy.sandbox.snapshots.PrefixCache` (shared by the samples and
  by later runs).
- ``local`` (no isolation, for machines without an engine):
  :class:`~understudy.sandbox.local.LocalSandbox` scratch directories, environments built as
  directories by :class:`~understudy.sandbox.local_env.LocalEnvBuilder`, the prefix re-executed
  for every rollout by :class:`~understudy.sandbox.local_env.LocalPrefixes`.

The parts are imported when they are asked for, so that choosing one backend does not load the
other's modules (nor the docker SDK).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, TypeVar

from pydantic import AfterValidator

from understudy.errors import ConfigError
from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.registry import Registry
from understudy.sandbox.backend_config import BackendConfig, EnvBuilds, SandboxBackend
from understudy.sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from understudy.sandbox.snapshots import PrefixStore

log = get_logger("sandbox")

NO_ENGINE_FALLBACK = (
    "no Docker engine answers: falling back to the local backend, which has NO isolation. "
    "Commands of the sessions and of the candidate run on this machine as this user, with its "
    "network and its files. Start a Docker engine, or pass --sandbox docker to fail instead."
)


# -- the table ---------------------------------------------------------------------------------

Declared = TypeVar("Declared", bound=type[BackendConfig])

_DECLARED: dict[str, BackendConfig] = {}
"""The declared backends by name, each with its defaults, in the order of their declaration
(the order ``auto`` tries them in)."""


def declare_backend(declaration: Declared) -> Declared:
    """Add a backend to the table (a class decorator); the default of its ``type`` is its name.

    This is all that adding a backend takes: ``--sandbox``, the run settings, ``auto``,
    :func:`run_backend` and ``BACKENDS`` all read the table.
    """
    backend = declaration.model_validate({})
    if backend.type in ("", "auto"):
        raise ValueError(f"{declaration.__name__} needs a type of its own, not {backend.type!r}")
    _DECLARED[backend.type] = backend
    return declaration


def withdraw_backend(name: str) -> None:
    """Remove a backend from the table (one declared for a while, in a test say)."""
    _DECLARED.pop(name, None)


def backend_names() -> list[str]:
    """The names of the declared backends, in the order of their declaration."""
    return list(_DECLARED)


def check_backend_name(name: str) -> str:
    """``name`` if it is ``auto`` or a declared backend; else a ConfigError listing those."""
    if name != "auto" and name not in _DECLARED:
        valid = ", ".join(["auto", *_DECLARED])
        raise ConfigError(f"unknown sandbox backend {name!r}; valid names: {valid}")
    return name


BackendName = Annotated[str, AfterValidator(check_backend_name)]
"""What a run may ask for: a declared backend, or ``auto`` (see :func:`resolve_backend`)."""


def resolve_backend(name: str = "auto", warn: Callable[[str], None] | None = None) -> str:
    """``auto`` becomes the first declared backend that can start sandboxes here: ``docker``
    when an engine answers, else ``local``, with the warning ``NO_ENGINE_FALLBACK`` passed to
    ``warn`` (default: logged on stderr). Other names are returned as they are."""
    if name != "auto":
        return name
    chosen = next((backend for backend in _DECLARED.values() if backend.available()), None)
    if chosen is None:
        raise ConfigError("no sandbox backend can start sandboxes here")
    if not chosen.isolated:
        if warn is None:
            log.warning(NO_ENGINE_FALLBACK)
        else:
            warn(NO_ENGINE_FALLBACK)
    return chosen.type


def run_backend(name: str = "auto", warn: Callable[[str], None] | None = None) -> BackendConfig:
    """The backend called ``name``; ``auto`` is resolved first (see :func:`resolve_backend`,
    which gets ``warn``)."""
    return _DECLARED[check_backend_name(resolve_backend(name, warn))]


class _DeclaredSandboxes(Mapping[str, Callable[[], SandboxBackend]]):
    """The sandbox class of each declared backend, imported when it is looked up."""

    def __getitem__(self, name: str) -> Callable[[], SandboxBackend]:
        backend = _DECLARED[name]
        return lambda: backend.sandbox

    def __iter__(self) -> Iterator[str]:
        return iter(_DECLARED)

    def __len__(self) -> int:
        return len(_DECLARED)


BACKENDS: Registry[SandboxBackend] = Registry("sandbox backend", _DeclaredSandboxes())
"""The sandbox classes by backend name, or by dotted path (``package.module:Class``)."""


async def start_sandbox(config: SandboxConfig | None = None, backend: str = "auto") -> Sandbox:
    """Start a sandbox with the named backend (a declared one, ``auto`` or a dotted path)."""
    return await BACKENDS.get(resolve_backend(backend)).start(config)


# -- the backends ------------------------------------------------------------------------------


@declare_backend
class DockerBackendConfig(BackendConfig):
    """Hardened containers of a Docker engine (see :mod:`~understudy.sandbox.hardening`)."""

    type: Literal["docker"] = "docker"
    """The backend's name."""

    summary: ClassVar[str] = "isolated containers"
    uses_base_image: ClassVar[bool] = True

    @property
    def sandbox(self) -> SandboxBackend:
        """:class:`~understudy.sandbox.docker.DockerSandbox`."""
        from understudy.sandbox.docker import DockerSandbox

        return DockerSandbox

    def env_builder(self, base_image: str, run_id: str, allow_base_image: bool) -> EnvBuilds:
        """Env images (:class:`~understudy.sandbox.envbuilder.EnvBuilder`)."""
        from understudy.sandbox.envbuilder import EnvBuilder

        return EnvBuilder(base_image=base_image, run_id=run_id, allow_base_image=allow_base_image)

    def prefixes(self, run_id: str) -> PrefixStore:
        """Prefix images, shared by the samples of a cut and by later runs."""
        from understudy.sandbox.snapshots import PrefixCache

        return PrefixCache(run_id)

    def as_sandbox_user(self, builder: EnvBuilds, run_id: str) -> EnvBuilds:
        """Env images with the unprivileged sandbox user, where the image allows it."""
        from understudy.sandbox.users import WithSandboxUser

        return WithSandboxUser(builder, run_id)

    def check_ready(self) -> None:
        """An EngineUnavailableError (naming ``--sandbox local``) when no engine answers."""
        from understudy.sandbox.engine import docker_client

        docker_client()

    def interactive_shell(self, sandbox: Sandbox) -> list[str] | None:
        """``docker exec -it`` of a login bash in the container's working directory, as the
        container's user."""
        return ["docker", "exec", "-it", "-w", sandbox.workdir, sandbox.id, "bash", "-l"]

    def disk_limit_refusal(self) -> str | None:
        """Why the engine's storage driver cannot limit the disk, or None."""
        from understudy.sandbox.engine import docker_client
        from understudy.sandbox.hardening import disk_limit_refusal

        return disk_limit_refusal(docker_client())

    async def remove_leftovers(self, run_id: str) -> None:
        """Remove the run's containers whose owner process is gone (see
        :func:`~understudy.sandbox.gc.collect_garbage`); cached images are kept for reuse."""
        from understudy.sandbox.gc import collect_garbage

        report = await asyncio.to_thread(collect_garbage, run_id_prefix=run_id)
        if report.removed_containers:
            log.info(
                "removed leftover containers of the run",
                run_id=run_id,
                containers=len(report.removed_containers),
            )


@declare_backend
class LocalBackendConfig(BackendConfig):
    """Scratch directories on this machine: NO isolation, for machines without an engine."""

    type: Literal["local"] = "local"
    """The backend's name."""

    summary: ClassVar[str] = "NO isolation: this machine, as this user"
    isolated: ClassVar[bool] = False

    @property
    def sandbox(self) -> SandboxBackend:
        """:class:`~understudy.sandbox.local.LocalSandbox`."""
        from understudy.sandbox.local import LocalSandbox

        return LocalSandbox

    def env_builder(self, base_image: str, run_id: str, allow_base_image: bool) -> EnvBuilds:
        """Environment directories (:class:`~understudy.sandbox.local_env.LocalEnvBuilder`);
        ``base_image`` is not used: this backend has no images."""
        from understudy.sandbox.local_env import LocalEnvBuilder

        return LocalEnvBuilder(run_id=run_id, allow_base_image=allow_base_image)

    def prefixes(self, run_id: str) -> PrefixStore:
        """The prefix re-executed for every rollout, never kept."""
        from understudy.sandbox.local_env import LocalPrefixes

        return LocalPrefixes(run_id)
