"""The unprivileged user that sandboxes run as, where the environment allows it.

A run's environments get a variant of their env image, ``understudy/env:<hash16>-user``, with a
user ``understudy`` (created if the image has none: a free uid from 1000 up, and a group of its
own), its home, and the working directory owned by it. Setup commands ran as root before, in
the env image itself. The variant is labelled ``understudy.sandbox-user=name:uid:gid``, and so
are the prefix images and snapshots committed from its containers (commits keep labels), so
every sandbox started from any of them runs as that user.

Where the image cannot have the user (no ``/bin/sh``, a read-only ``/etc/passwd``, a working
directory that is a system directory), or already runs as a user of its own, the env image is
used as it is, and the environment records who its commands run as (``BuiltEnv.user``).
``--sandbox-root`` skips the variant: the env image's files stay root's, as root expects them
(root in a sandbox has no capabilities, so it could not write files owned by someone else).

Making the variant needs ``chown``, which a sandbox cannot do (all capabilities dropped): it is
the one container that gets ``CAP_CHOWN`` (and ``CAP_DAC_READ_SEARCH``, to walk any
directory), and it runs nothing but the fixed script below, never a command of a session.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import docker.errors

from understudy.logging import get_logger
from understudy.sandbox import labels
from understudy.sandbox.backend_config import EnvBuilds
from understudy.sandbox.containers import (
    commit_container,
    container_name,
    in_thread_to_completion,
    remove_container,
)
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envspec import BuiltEnv
from understudy.sandbox.hardening import KEEP_ALIVE, image_user
from understudy.sandbox.tracking import forget, track
from understudy.trajectory import EnvSpec

log = get_logger("sandbox.users")

SANDBOX_USER = "understudy"
USER_RECIPE = 1
"""Part of the variant's env hash: bump it when the way the user is added changes."""
SYSTEM_DIRS = frozenset(
    [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
    ]
)
"""Working directories that are not handed to the sandbox user (its sandboxes run as root)."""

# $1: user name, $2: working directory. Prints "uid:gid". Uses only what every image with a
# POSIX shell has (grep, cut, mkdir, chown).
_ADD_USER = r"""
set -e
name=$1 workdir=$2
if ! grep -q "^$name:" /etc/passwd; then
  uid=1000; while cut -d: -f3 /etc/passwd | grep -qx "$uid"; do uid=$((uid + 1)); done
  gid=$uid; while cut -d: -f3 /etc/group | grep -qx "$gid"; do gid=$((gid + 1)); done
  shell=/bin/sh; if [ -x /bin/bash ]; then shell=/bin/bash; fi
  echo "$name:x:$gid:" >> /etc/group
  echo "$name:x:$uid:$gid::/home/$name:$shell" >> /etc/passwd
  if [ -f /etc/shadow ]; then echo "$name:!:19000:0:99999:7:::" >> /etc/shadow; fi
fi
entry=$(grep "^$name:" /etc/passwd)
uid=$(echo "$entry" | cut -d: -f3) gid=$(echo "$entry" | cut -d: -f4)
home=$(echo "$entry" | cut -d: -f6)
mkdir -p "$home" "$workdir" /var/lib/understudy
chown -R "$uid:$gid" "$home" "$workdir" /var/lib/understudy
echo "$uid:$gid"
"""


class WithSandboxUser:
    """An environment builder whose environments run as the sandbox user (docker only)."""

    def __init__(self, inner: EnvBuilds, run_id: str) -> None:
        self.inner = inner
        """The builder of the env images (``EnvBuilder``)."""
        self.run_id = run_id
        self._locks: dict[str, asyncio.Lock] = {}
        self._refused: dict[str, str] = {}
        """Env images that cannot have the user, and why (asked once per process)."""

    def has_image(self, image: str) -> bool:
        return self.inner.has_image(image)

    async def build(self, spec: EnvSpec) -> BuiltEnv:
        """The env image's variant with the sandbox user, made if missing."""
        built = await self.inner.build(spec)
        own = image_user(await asyncio.to_thread(_inspect, built.image))
        if not own.is_root:
            return built.model_copy(update={"user": own.name})
        async with self._locks.setdefault(built.image, asyncio.Lock()):
            if built.image in self._refused:
                return built
            # To completion: a cancelled rollout must not let the next one make it twice.
            return await in_thread_to_completion(self._variant, built, spec.workdir)

    def _variant(self, built: BuiltEnv, workdir: str) -> BuiltEnv:
        """The variant of ``built`` (blocking): found, made, or ``built`` itself if refused."""
        env_hash = hashlib.sha256(f"{built.env_hash}:user:{USER_RECIPE}".encode()).hexdigest()
        repository, _, tag = built.image.rpartition(":")
        variant = f"{repository}:{tag}-user"
        cached = built.cached
        try:
            image = _inspect(variant)
        except docker.errors.ImageNotFound:
            if (workdir.rstrip("/") or "/") in SYSTEM_DIRS:
                return self._refuse(built, f"the working directory {workdir} is a system one")
            image, cached = self._make(built.image, variant, env_hash, workdir), False
            if image is None:
                return self._refuse(built, "the user could not be added (see the log)")
        update = {
            "image": variant,
            "image_id": str(image["Id"]),
            "env_hash": env_hash,
            "user": image_user(image).name,
            "cached": cached,
        }
        return built.model_copy(update=update)

    def _refuse(self, built: BuiltEnv, reason: str) -> BuiltEnv:
        self._refused[built.image] = reason
        log.warning("sandboxes run as root", image=built.image, reason=reason)
        return built

    def _make(self, source: str, variant: str, env_hash: str, workdir: str) -> Any:
        """Add the user in a container of ``source`` and commit it as ``variant``; its
        ``inspect_image``, or None if the script failed."""
        client = docker_client()
        container = client.containers.create(
            source,
            command=KEEP_ALIVE,
            name=container_name(self.run_id),
            user="0:0",
            network_mode="none",
            cap_drop=["ALL"],
            cap_add=["CHOWN", "DAC_READ_SEARCH"],
            security_opt=["no-new-privileges"],
            labels=labels.container_labels(self.run_id),
        )
        container_id = str(container.id)
        track(container_id, lambda: remove_container(client.api, container_id))
        try:
            container.start()
            try:
                argv = ["/bin/sh", "-c", _ADD_USER, "sh", SANDBOX_USER, workdir]
                done = container.exec_run(argv)
            except docker.errors.APIError as exc:  # no /bin/sh
                log.warning("cannot add the sandbox user", image=source, error=str(exc))
                return None
            output = (
                done.output.decode(errors="replace").strip()
                if isinstance(done.output, bytes)
                else ""
            )
            if done.exit_code != 0:
                log.warning("cannot add the sandbox user", image=source, output=output[-2000:])
                return None
            uid, _, gid = output.splitlines()[-1].partition(":")
            user_label = {labels.SANDBOX_USER: f"{SANDBOX_USER}:{uid}:{gid}"}
            committed = commit_container(
                client.api, container_id, variant, labels.env_image_labels(env_hash, user_label)
            )
            return _inspect(committed)
        finally:
            remove_container(client.api, container_id)
            forget(container_id)


def _inspect(image: str) -> dict[str, Any]:
    """What the engine says of an image (blocking); ImageNotFound if it has none."""
    return dict(docker_client().images.get(image).attrs)
