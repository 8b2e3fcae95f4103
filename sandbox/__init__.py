"""Sandboxes: where tool calls run. Backends are looked up by short name in ``BACKENDS``."""

from __future__ import annotations

from typing import Protocol

from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.registry import Registry
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig

__all__ = ["BACKENDS", "BASE_IMAGE", "SandboxBackend", "SandboxConfig", "start_sandbox"]

log = get_logger("sandbox")


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


def resolve_backend(name: str = "auto") -> str:
    """``auto`` becomes ``docker`` when an engine answers, else ``local`` (with a warning)."""
    if name != "auto":
        return name
    from understudy.sandbox.engine import engine_available

    if engine_available():
        return "docker"
    log.warning("no Docker engine answers; falling back to the local backend (no isolation)")
    return "local"


async def start_sandbox(config: SandboxConfig | None = None, backend: str = "auto") -> Sandbox:
    """Start a sandbox with the named backend (``docker``, ``local``, ``auto`` or a dotted path)."""
    return await BACKENDS.get(resolve_backend(backend)).start(config)
