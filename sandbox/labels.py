"""Labels that mark what understudy created, and who owns it.

Every container carries ``understudy.owner``: the host name, process id and process start time
of the process that started it. ``understudy sandbox gc`` removes a container only when that
process is gone (checking the start time too, so a recycled pid does not look alive).
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

MANAGED = "understudy.managed"
"""Present (value ``1``) on every container and image understudy creates."""
RUN_ID = "understudy.run-id"
"""The run a container belongs to."""
OWNER = "understudy.owner"
"""``host:pid:start-time`` of the process that owns a container."""
KIND = "understudy.kind"
"""What an image is: ``base``, ``env`` (a built environment), ``prefix`` (the state at a cut)
or ``snapshot``."""
ENV_HASH = "understudy.env-hash"
"""On env and prefix images: the hash of the EnvSpec they were built from."""
SESSION = "understudy.session"
"""On prefix images: the id of the session whose prefix they hold."""
CUT = "understudy.cut"
"""On prefix images: the cut (message index) the prefix ends at."""
PREFIX_STATE = "understudy.prefix-state"
"""On prefix images: JSON record of how the prefix was re-executed (fidelity, mismatches)."""
SANDBOX_USER = "understudy.sandbox-user"
"""On env images that have an unprivileged sandbox user (and the prefix images and snapshots
made from them): ``name:uid:gid``; sandboxes from them run as that user."""
RECIPE = "understudy.recipe"
"""On the base image: the hash of the recipe it was built from (see
:func:`understudy.sandbox.images.recipe_digest`)."""
USER = "understudy.user"
"""On containers: ``name:uid:gid`` of the user its commands run as."""

PIP_FREEZE = "understudy.pip-freeze"
"""On an env image built with ``pip_install``: ``pip freeze`` in it, as a JSON list."""


def _process_start_time(pid: int) -> str | None:
    """Start time of a process in clock ticks since boot, or None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the last ')' are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19]


def owner_token(pid: int | None = None) -> str:
    """The owner label value for this process (or ``pid``)."""
    if pid is None:
        return _own_token(os.getpid())  # by pid: a forked child is an owner of its own
    return f"{socket.gethostname()}:{pid}:{_process_start_time(pid) or '?'}"


@functools.cache
def _own_token(pid: int) -> str:
    """This process's owner label value, read once (every container is labelled with it)."""
    return owner_token(pid)


def owner_alive(token: str) -> bool | None:
    """Whether the owner is still running: True, False, or None when it is on another host."""
    host, _, rest = token.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname():
        return None
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    current = _process_start_time(pid)
    return current is not None and (started in ("?", current))


def env_image_labels(env_hash: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels of an env image built from the spec of hash ``env_hash`` (and of its variants)."""
    return {MANAGED: "1", KIND: "env", ENV_HASH: env_hash, **(extra or {})}


def container_labels(run_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels for a new container owned by this process."""
    return {**(extra or {}), MANAGED: "1", RUN_ID: run_id, OWNER: owner_token()}
