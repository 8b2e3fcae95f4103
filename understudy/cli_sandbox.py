"""The ``--sandbox`` option of the commands that run sessions (run, fidelity; demo uses auto)."""

from __future__ import annotations

import warnings
from enum import StrEnum

from rich.text import Text

from understudy.cli_common import console
from understudy.sandbox import resolve_backend
from understudy.sandbox.backends import BackendName
from understudy.sandbox.engine import docker_client

SANDBOX_HELP = (
    "Where tool calls run: 'docker' (isolated containers), 'local' (NO isolation: this machine, "
    "as this user), or 'auto': docker when an engine answers, else local with a warning."
)


class SandboxChoice(StrEnum):
    """The values of ``--sandbox``."""

    auto = "auto"
    docker = "docker"
    local = "local"


def choose_sandbox(choice: SandboxChoice | str = SandboxChoice.auto) -> BackendName:
    """The backend a command runs with, decided before any work starts.

    ``docker`` needs an engine: without one, the engine error (which names the way out) is
    raised here rather than once per session. ``auto`` without an engine is ``local``, announced
    on stderr so that nobody mistakes it for isolated.
    """
    if choice == SandboxChoice.docker:
        docker_client()  # raises EngineUnavailableError with ENGINE_HELP
        return "docker"
    if choice == SandboxChoice.local:
        _warn(
            "the local backend has NO isolation: commands run on this machine as this user, "
            "with its network and its files"
        )
        return _local()
    return "docker" if resolve_backend("auto", warn=_warn) == "docker" else _local()


def _local() -> BackendName:
    # Said once above, in words meant for the user: the per-sandbox RuntimeWarning of
    # LocalSandbox.start (for library users) would repeat it with a source line.
    warnings.filterwarnings(
        "ignore", message="LocalSandbox has NO isolation", category=RuntimeWarning
    )
    return "local"


def _warn(message: str) -> None:
    console(stderr=True).print(Text(f"WARNING: {message}", style="bold yellow"))
