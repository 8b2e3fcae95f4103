"""Sandboxes: where tool calls run. Backends are looked up by short name in ``BACKENDS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.registry import Registry
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig

__all__ = [
    "BACKENDS",
    "BASE_IMAGE",
    "NO_ENGINE_FALLBACK",
    "SandboxBackend",
    "SandboxConfig",
    "resolve_backend",
    "start_sandbox",
]

log = get_logger("sandbox")

NO_ENGINE_FALLBACK = (
    "no Docker engine answers: falling back to the local backend, which has NO isolation. "
    "Commands of the sessions and of the candidate run on this machine as this user, with its "
    "network and its files. Start a Docker engine, or pass --sandbox docker to fail instead."
)


class SandboxBackend(Protocol):
    """A sandbox class: something with an async ``start(config)``."""

    async def start(self, config: SandboxConfig | None = None) -> Sandbox: ...


BACKENDS: Registry[SandboxBackend] = Registry(
    "sandbox backend",
    {
        "docker": "understudy.sandbox.docker:DockerSandbox",
        "local": "understudy.sandbox.local:LocalSandbox",
    },
)


def resolve_backend(name: str = "auto", warn: Callable[[str], None] | None = None) -> str:
    """``auto`` becomes ``docker`` when an engine answers, else ``local``, with the warning
    ``NO_ENGINE_FALLBACK`` passed to ``warn`` (default: logged on stderr)."""
    if name != "auto":
        return name
    from understudy.sandbox.engine import engine_available

    if engine_available():
        return "docker"
    if warn is None:
        log.warning(NO_ENGINE_FALLBACK)
    else:
        warn(NO_ENGINE_FALLBACK)
    return "local"


async def start_sandbox(config: SandboxConfig | None = None, backend: str = "auto") -> Sandbox:
    """Start a sandbox with the named backend (``docker``, ``local``, ``auto`` or a dotted path)."""
    return await BACKENDS.get(resolve_backend(backend)).start(config)
