"""Sandboxes: where tool calls run. The backends are declared in
:mod:`understudy.sandbox.backends`; ``BACKENDS`` looks their sandbox classes up by short name."""

from __future__ import annotations

from understudy.sandbox.backend_config import SandboxBackend
from understudy.sandbox.backends import (
    BACKENDS,
    NO_ENGINE_FALLBACK,
    resolve_backend,
    start_sandbox,
)
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
