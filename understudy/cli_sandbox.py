"""The sandbox options of the commands that run sessions (run, fidelity; demo uses auto):
``--sandbox``, ``--sandbox-root``, ``--read-only-root`` and ``--disk-limit``; and where their
code lives: ``--envs``, ``--repo-mirror`` and ``--workspace``."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from understudy.cli_common import console
from understudy.errors import ConfigError

# The library is imported by the functions that use it: the command line starts without it.
if TYPE_CHECKING:
    from understudy.replay.env_resolution import WorkspaceMode
    from understudy.trajectory import Session

BUILT_IN_BACKENDS: tuple[tuple[str, str], ...] = (
    ("docker", "isolated containers"),
    ("local", "NO isolation: this machine, as this user"),
)
"""The backends :mod:`understudy.sandbox.backends` declares, with their summaries, in order (a
test keeps them equal): the options' help names them without loading the sandbox package."""

WORKSPACE_CHOICES = ("auto", "log", "repo")
"""The values of ``--workspace``: ``WORKSPACE_MODES`` of :mod:`understudy.replay.env_resolution`
(a test keeps them equal), named here for the same reason."""


def declared_backends() -> list[tuple[str, str]]:
    """The declared backends and their summaries: from the table when the sandbox package is
    loaded (another backend may have been declared), else the built-in ones it starts with."""
    table = sys.modules.get("understudy.sandbox.backends")
    if table is None:
        return list(BUILT_IN_BACKENDS)
    return [(name, table.run_backend(name).summary) for name in table.backend_names()]


def _sandbox_help() -> str:
    described = ", ".join(f"'{name}' ({summary})" for name, summary in declared_backends())
    return (
        f"Where tool calls run: {described}, or 'auto': docker when an engine answers, else "
        "local with a warning."
    )


SANDBOX_HELP = _sandbox_help()
SANDBOX_METAVAR = "[" + "|".join(["auto", *(name for name, _ in declared_backends())]) + "]"
"""The help and the metavar name the backends declared when the command line is imported;
``--sandbox`` takes any backend declared by the time it is parsed."""

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
ALLOW_BASE_IMAGE_HELP = (
    "When a session declares an image that is not on the engine (e.g. a SWE-bench image that "
    "cannot be pulled), build its environment on the base image instead and record that on "
    "each rollout. Without it such sessions end in environment errors."
)


def sandbox_name(value: str) -> str:
    """The value of ``--sandbox``: ``auto`` or a declared backend (else a usage error)."""
    from understudy.sandbox.backends import check_backend_name

    try:
        return check_backend_name(value)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


SandboxOption = Annotated[
    str, typer.Option(help=SANDBOX_HELP, metavar=SANDBOX_METAVAR, parser=sandbox_name)
]
SandboxRootOption = Annotated[bool, typer.Option("--sandbox-root", help=SANDBOX_ROOT_HELP)]
ReadOnlyRootOption = Annotated[bool, typer.Option("--read-only-root", help=READ_ONLY_ROOT_HELP)]
DiskLimitOption = Annotated[
    str | None, typer.Option("--disk-limit", metavar="SIZE", help=DISK_LIMIT_HELP)
]
AllowBaseImageOption = Annotated[
    bool, typer.Option("--allow-base-image", help=ALLOW_BASE_IMAGE_HELP)
]
ENVS_HELP = (
    "JSON, JSONL or YAML rows that set sessions' environments: each names its sessions by "
    "'session' (id), 'instance_id' or 'match' (a glob on ids) and gives any of image, repo "
    "(owner/name, URL or local path), path, commit (HEAD: resolved from the log), branch, "
    "workdir, setup, env. SWE-bench dataset rows (instance_id, repo, base_commit) work as they are."
)
REPO_MIRROR_HELP = (
    "Clone repositories from elsewhere: 'URL=PATH' with {owner}, {name}, {host} fields, e.g. "
    "'https://github.com/{owner}/{name}=/srv/git/{owner}__{name}.bundle', or a prefix as git's "
    "insteadOf, 'https://github.com/=/srv/git/'. SSH and .git URLs are normalised first. "
    "Repeatable; the first rule that matches wins."
)
EnvsOption = Annotated[Path | None, typer.Option("--envs", metavar="FILE", help=ENVS_HELP)]
RepoMirrorOption = Annotated[
    list[str] | None, typer.Option("--repo-mirror", metavar="URL=PATH", help=REPO_MIRROR_HELP)
]
WORKSPACE_HELP = (
    "Where a session's files come from: 'auto' (default) its repository, or, when none can be "
    "had (not named, not reachable, no --repo-mirror), a workspace rebuilt from the log: the "
    "files it shows in full as they were before the session changed them, the directories it "
    "lists (files it shows in part or by name are left out, and calls reading them are served "
    "from the recording); 'log' always that workspace; 'repo' only the repository. Each rollout "
    "and fidelity result records the workspace's coverage."
)
WorkspaceOption = Annotated[
    str,
    typer.Option(
        "--workspace", metavar="[" + "|".join(WORKSPACE_CHOICES) + "]", help=WORKSPACE_HELP
    ),
]
"""The options as ``run`` and ``fidelity`` declare them (one declaration for both)."""


def choose_sandbox(choice: str = "auto") -> str:
    """The backend a command runs with, decided before any work starts.

    A backend named outright must be ready: docker without an engine is the engine error
    (which names the way out), raised here rather than once per session. ``auto`` without an
    engine is ``local``. A backend without isolation is announced on stderr so that nobody
    mistakes it for isolated.
    """
    from understudy.sandbox.backends import run_backend

    if choice == "auto":
        backend = run_backend("auto", warn=_warn)
    else:
        backend = run_backend(choice)
        backend.check_ready()  # docker: EngineUnavailableError with ENGINE_HELP
        if not backend.isolated:
            _warn(
                f"the {backend.name} backend has NO isolation: commands run on this machine as "
                "this user, with its network and its files"
            )
    if not backend.isolated:
        _quiet_isolation_warnings()
    return backend.name


def check_sandbox_options(backend: str, read_only_root: bool, disk_limit: str | None) -> None:
    """Refuse, before any work starts, what the chosen backend or engine cannot do."""
    from pydantic import ValidationError

    from understudy.sandbox.backends import run_backend
    from understudy.sandbox.config import SandboxConfig

    chosen = run_backend(backend)
    if not chosen.isolated and (read_only_root or disk_limit is not None):
        raise ConfigError(
            f"--read-only-root and --disk-limit need the docker backend: the {backend} one runs "
            "commands on this machine as it is (start a Docker engine, or drop the option)"
        )
    if disk_limit is None:
        return
    try:
        SandboxConfig(disk_limit=disk_limit)
    except ValidationError:
        raise ConfigError(f"--disk-limit {disk_limit!r}: give a size such as 500m or 10g") from None
    refusal = chosen.disk_limit_refusal()
    if refusal is not None:
        raise ConfigError(f"--disk-limit {disk_limit}: {refusal}")


def sandbox_settings(
    sandbox: str,
    sandbox_root: bool,
    read_only_root: bool,
    disk_limit: str | None,
    allow_base_image: bool,
    workspace: str = "auto",
    on_other_nodes: bool = False,
) -> dict[str, Any]:
    """The sandbox settings of ``run`` and ``fidelity`` from their options: the backend chosen
    (:func:`choose_sandbox`) and the options checked against it, before any work starts.

    ``on_other_nodes``: the sandboxes start on other machines (``--executor ray``), which decide
    for themselves; this one's engine, or lack of one, says nothing about theirs."""
    mode = workspace_mode(workspace)
    if on_other_nodes:
        backend = sandbox
    else:
        backend = choose_sandbox(sandbox)
        check_sandbox_options(backend, read_only_root, disk_limit)
    return {
        "backend": backend,
        "allow_base_image": allow_base_image,
        "sandbox_root": sandbox_root,
        "read_only_root": read_only_root,
        "disk_limit": disk_limit,
        "workspace": mode,
    }


def workspace_mode(value: str) -> WorkspaceMode:
    """The value of ``--workspace`` (else a usage error naming the choices)."""
    from understudy.replay.env_resolution import WORKSPACE_MODES

    for mode in WORKSPACE_MODES:
        if value == mode:
            return mode
    raise typer.BadParameter(f"--workspace {value!r}: choose one of {', '.join(WORKSPACE_MODES)}")


def environment_options(
    sessions: list[Session], envs: Path | None, repo_mirror: list[str] | None
) -> tuple[list[Session], list[str]]:
    """The sessions with the environments ``--envs`` sets, and the ``--repo-mirror`` rules,
    both checked before any work starts (a bad row or rule is a ConfigError naming it)."""
    from understudy.replay.env_rows import load_env_rows
    from understudy.sandbox.repo_source import parse_mirror_rules

    mirrors = list(repo_mirror or [])
    parse_mirror_rules(mirrors)
    if envs is None:
        return sessions, mirrors
    return load_env_rows(envs).apply(sessions), mirrors


def _quiet_isolation_warnings() -> None:
    # Said once above, in words meant for the user: the per-sandbox RuntimeWarning of
    # LocalSandbox.start (for library users) would repeat it with a source line.
    warnings.filterwarnings(
        "ignore", message="LocalSandbox has NO isolation", category=RuntimeWarning
    )


def _warn(message: str) -> None:
    console(stderr=True).print(Text(f"WARNING: {message}", style="bold yellow"))
