"""Settings of one sandbox."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

BASE_IMAGE = "understudy/base:bookworm"
"""Tag of the base image that ``understudy images build`` produces."""


class SandboxConfig(BaseModel):
    """How to start a sandbox. Defaults are the hardening defaults of the design."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    image: str = BASE_IMAGE
    """Image to start from (Docker), or a directory to copy (local backend)."""
    workdir: str = "/workspace"
    """Default working directory of commands; created if missing."""
    run_id: str = "adhoc"
    """Run the sandbox belongs to; every container is labelled with it."""
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables for every command."""
    memory: str = "4g"
    """Memory limit (Docker syntax: 512m, 4g)."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU limit in cores."""
    pids_limit: int = Field(default=512, gt=0)
    """Maximum number of processes."""
    exec_timeout_s: float = Field(default=600.0, gt=0)
    """Timeout of a command when ``exec`` is called without one."""
    output_limit_bytes: int = Field(default=1_000_000, ge=1024)
    """Output kept per command; the middle of longer output is cut out with a marker."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra container labels."""
    read_only_root: bool = False
    """Mount the image read-only; the working directory, /tmp, /var/tmp, /dev/shm and the
    sandbox user's home stay writable (Docker only; see understudy.sandbox.hardening). A
    sandbox with a read-only root cannot be snapshotted: the engine's commits leave the working
    directory's volume out."""
    disk_limit: str | None = Field(default=None, pattern=r"^[0-9]+(\.[0-9]+)?[bkmgtBKMGT]?$")
    """Most bytes the sandbox may write (Docker syntax: 500m, 10g), where the engine's storage
    driver can limit it (Docker only; an error elsewhere, naming the driver)."""
