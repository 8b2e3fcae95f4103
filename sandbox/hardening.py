"""How a sandbox container is set up: keep-alive, user, limits, read-only root, disk limit.

The fixed part is the design's hardening (no network, no capabilities, ``no-new-privileges``,
pids, memory and CPU limits, labels). The rest follows the image and the
:class:`~understudy.sandbox.config.SandboxConfig`:

- **user**: the image's sandbox user (label ``understudy.sandbox-user``, see
  :mod:`~understudy.sandbox.users`), else the image's own ``USER``, else root; recorded on the
  container (label ``understudy.user``).
- **read-only root** (``read_only_root``): the image is mounted read-only. Writable stay the
  working directory (an anonymous volume, which the engine fills with the image's content
  there and removes with the container), ``/tmp`` and ``/var/tmp`` (tmpfs, executable: build
  tools run what they put there), ``/dev/shm``, and the sandbox user's home (an empty tmpfs;
  root's home holds what images install there, so it stays as it is).
- **disk limit** (``disk_limit``): the engine's ``storage_opt`` size of the writable layer.
  Only storage drivers with quotas have it; overlay2 only on xfs mounted with ``pquota``. Where
  the driver cannot, the start is an error naming the driver (never an unlimited sandbox).
  The volume of a read-only root's working directory is not part of the writable layer, and
  so not limited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import docker.types

from understudy.errors import SandboxError
from understudy.sandbox import labels
from understudy.sandbox.config import SandboxConfig

# PID 1 of every sandbox. The kernel delivers a signal sent from inside a pid namespace to the
# namespace's init only if init has a handler for it, so a plain ``sleep`` there survives
# ``pkill sleep``, ``killall -9 sleep`` and ``kill -9 1`` alike, where ``sleep`` under an init
# process (docker's ``--init``) died and took the container with it. Orphans are re-parented to
# PID 1, which reaps nothing: SIGCHLD is set to "ignore" before the exec, so the kernel reaps
# them itself. ``env --ignore-signal`` (coreutils 8.31+) and bash can set that; an image with
# neither gets a sleep that leaves its orphans as zombies.
KEEP_ALIVE = [
    "/bin/sh",
    "-c",
    "if env --ignore-signal=CHLD true 2>/dev/null; then exec env --ignore-signal=CHLD sleep "
    "infinity; fi; if command -v bash >/dev/null 2>&1; then exec bash -c "
    "\"trap '' CHLD; exec sleep infinity\"; fi; exec sleep infinity",
]
WRITABLE_TMP = ("/tmp", "/var/tmp")
"""The tmpfs mounts of a read-only root (with the user's home)."""
_TMPFS = "rw,exec,nosuid,nodev"
_STORAGE_OPT_ERROR = re.compile(r"storage.?opt", re.IGNORECASE)


@dataclass(frozen=True)
class SandboxUser:
    """Who a sandbox's commands run as."""

    name: str
    uid: int | None = None
    """None for an image's own user, known by name only."""
    gid: int | None = None
    home: str | None = None
    """Only for the sandbox user (``/home/<name>``)."""

    @classmethod
    def parse(cls, value: str) -> SandboxUser:
        """From a label value: ``name:uid:gid`` or ``name``."""
        name, _, ids = value.partition(":")
        uid, _, gid = ids.partition(":")
        if uid.isdigit() and gid.isdigit():
            return cls(name, int(uid), int(gid), f"/home/{name}")
        return cls(name)

    def label(self) -> str:
        """The label value (see :meth:`parse`)."""
        return self.name if self.uid is None else f"{self.name}:{self.uid}:{self.gid}"

    @property
    def is_root(self) -> bool:
        return self.name in ("root", "0", "0:0") or self.uid == 0


ROOT = SandboxUser("root", 0, 0)


def image_user(image_attrs: dict[str, Any]) -> SandboxUser:
    """Who a sandbox from this image (``inspect_image`` output) runs as: the sandbox user of
    its label, else the image's own user (``USER``), else root."""
    config = image_attrs.get("Config") or {}
    label = (config.get("Labels") or {}).get(labels.SANDBOX_USER)
    if label:
        return SandboxUser.parse(label)
    own = str(config.get("User") or "")
    return ROOT if own in ("", "root", "0", "0:0") else SandboxUser(own)


@dataclass(frozen=True)
class ContainerRequest:
    """What the engine's create call takes for one sandbox, in its own two parts (the
    low-level API: ``containers.create`` would inspect the container again once made)."""

    user: SandboxUser
    """Who its commands run as (also in the ``understudy.user`` label)."""
    container: dict[str, Any]
    """The keyword arguments of ``APIClient.create_container_config`` besides the image (the
    environment as a mapping)."""
    host: dict[str, Any]
    """The keyword arguments of ``APIClient.create_host_config``."""


def container_options(image_attrs: dict[str, Any], config: SandboxConfig) -> ContainerRequest:
    """The create request for a sandbox of ``config`` from an image whose engine inspection is
    ``image_attrs`` (its user is read from it)."""
    user = image_user(image_attrs)
    container: dict[str, Any] = {
        "command": KEEP_ALIVE,
        "labels": {
            **labels.container_labels(config.run_id, config.labels),
            labels.USER: user.label(),
        },
        "working_dir": config.workdir,
        "environment": config.env,
        "hostname": "sandbox",
    }
    host: dict[str, Any] = {
        "init": False,
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": config.pids_limit,
        "mem_limit": config.memory,
        "nano_cpus": int(config.cpus * 1e9),
    }
    if user.uid is not None and not user.is_root:
        container["user"] = user.name
    if config.read_only_root:
        host.update(_read_only(config, user))
    if config.disk_limit is not None:
        host["storage_opt"] = {"size": config.disk_limit}
    return ContainerRequest(user=user, container=container, host=host)


def _read_only(config: SandboxConfig, user: SandboxUser) -> dict[str, Any]:
    tmpfs = {path: f"{_TMPFS},mode=1777" for path in WRITABLE_TMP}
    if user.home is not None:
        tmpfs[user.home] = f"{_TMPFS},mode=0755,uid={user.uid},gid={user.gid}"
    workdir = docker.types.Mount(target=config.workdir, source=None, type="volume")
    return {"read_only": True, "tmpfs": tmpfs, "mounts": [workdir]}


def disk_limit_refusal(client: docker.DockerClient) -> str | None:
    """Why this engine cannot limit a container's disk, or None if it may (xfs is only
    known to work once a container starts: it needs the ``pquota`` mount option)."""
    info = client.info()
    driver = str(info.get("Driver", "?"))
    status = dict(info.get("DriverStatus") or [])
    backing = str(status.get("Backing Filesystem", "?"))
    if driver in ("overlay2", "overlay") and backing != "xfs":
        return (
            f"the engine's storage driver is {driver} on {backing}, which cannot limit a "
            f"container's disk (overlay2 can only on xfs mounted with pquota; btrfs, zfs and "
            f"devicemapper can); run without --disk-limit, or on an engine that supports it"
        )
    return None


def start_error(client: docker.DockerClient, config: SandboxConfig, exc: Exception) -> SandboxError:
    """The error for a container that the engine would not create or start."""
    if config.disk_limit is not None and _STORAGE_OPT_ERROR.search(str(exc)):
        reason = disk_limit_refusal(client) or f"the engine refuses a disk limit: {exc}"
        return SandboxError(f"cannot limit the sandbox's disk to {config.disk_limit}: {reason}")
    return SandboxError(f"cannot start a container from {config.image!r}: {exc}")
