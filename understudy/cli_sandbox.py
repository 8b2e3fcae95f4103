"""The sandbox options of the commands that run sessions (run, fidelity; demo uses auto):
``--sandbox``, ``--sandbox-root``, ``--read-only-root`` and ``--disk-limit``."""

from __future__ import annotations

import warnings
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.text import Text

from understudy.cli_common import console
from understudy.errors import ConfigError
from understudy.sandbox import resolve_backend
from understudy.sandbox.backends import BackendName
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.engine import docker_client
from understudy.sandbox.hardening import disk_limit_refusal

SANDBOX_HELP = (
    "Where tool calls run: 'docker' (isolated containers), 'local' (NO isolation: this machine, "
    "as this user), or 'auto': docker when an engine answers, else local with a warning."
)


SANDBOX_ROOT_HELP = (
    "Run commands as root. By default Docker sandboxes run as an unprivileged user "
    "'understudy' that owns the working directory, where the environment's image allows it "
    "(each rollout records who ran its commands); use this for sessions that need root, e.g. "
    "to install packages system-wide."
)
READ_ONLY_ROOT_HELP = (
    "Give the sandboxes a read-only root file system (Docker): only the working directory, "
    "/tmp, /var/tmp, /dev/shm and the user's home stay writable. For run, the prefix is "
    "re-executed in a writable sandbox first and only the candidate's sandbox is read-only."
)
DISK_LIMIT_HELP = (
    "Most disk a sandbox may write, e.g. 10g (Docker). Needs a storage driver with quotas "
    "(overlay2 on xfs mounted with pquota, btrfs, zfs, devicemapper); elsewhere it is an "
    "error naming the engine's driver."
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


ALLOW_BASE_IMAGE_HELP = (
    "When a session declares an image that is not on the engine (e.g. a SWE-bench image that "
    "cannot be pulled), build its environment on the base image instead and record that on "
    "each rollout. Without it such sessions end in environment errors."
)

SandboxOption = Annotated[SandboxChoice, typer.Option(help=SANDBOX_HELP)]
SandboxRootOption = Annotated[bool, typer.Option("--sandbox-root", help=SANDBOX_ROOT_HELP)]
ReadOnlyRootOption = Annotated[bool, typer.Option("--read-only-root", help=READ_ONLY_ROOT_HELP)]
DiskLimitOption = Annotated[
    str | None, typer.Option("--disk-limit", metavar="SIZE", help=DISK_LIMIT_HELP)
]
AllowBaseImageOption = Annotated[
    bool, typer.Option("--allow-base-image", help=ALLOW_BASE_IMAGE_HELP)
]
"""The options as ``run`` and ``fidelity`` declare them (one declaration for both)."""


def check_sandbox_options(
    backend: BackendName, read_only_root: bool, disk_limit: str | None
) -> None:
    """Refuse, before any work starts, what the chosen backend or engine cannot do."""
    if backend == "local" and (read_only_root or disk_limit is not None):
        raise ConfigError(
            "--read-only-root and --disk-limit need the docker backend: the local one runs "
            "commands on this machine as it is (start a Docker engine, or drop the option)"
        )
    if disk_limit is None:
        return
    try:
        SandboxConfig(disk_limit=disk_limit)
    except ValidationError:
        raise ConfigError(f"--disk-limit {disk_limit!r}: give a size such as 500m or 10g") from None
    refusal = disk_limit_refusal(docker_client())
    if refusal is not None:
        raise ConfigError(f"--disk-limit {disk_limit}: {refusal}")


def _local() -> BackendName:
    # Said once above, in words meant for the user: the per-sandbox RuntimeWarning of
    # LocalSandbox.start (for library users) would repeat it with a source line.
    warnings.filterwarnings(
        "ignore", message="LocalSandbox has NO isolation", category=RuntimeWarning
    )
    return "local"


def _warn(message: str) -> None:
    console(stderr=True).print(Text(f"WARNING: {message}", style="bold yellow"))
