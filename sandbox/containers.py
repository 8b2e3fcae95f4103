"""Hardened containers: creating, starting and removing them, off the event loop.

The docker SDK blocks, so every call runs in a dedicated thread pool (``in_thread``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import docker.errors

from understudy.errors import ImageNotFoundError
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.engine import docker_client
from understudy.sandbox.hardening import SandboxUser, container_options, start_error
from understudy.sandbox.tracking import forget, track

T = TypeVar("T")

# Docker calls block for as long as a command runs, so the pool is sized for many sandboxes at
# once rather than for CPU count.
_POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="understudy-docker")


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, lambda: func(*args, **kwargs))


async def in_thread_to_completion(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Like :func:`in_thread`, but a cancelled caller still waits for the thread to finish.

    A thread cannot be cancelled; cleaning up what it works on (a scratch directory, say)
    while it still runs turns a Ctrl-C into an unrelated error.
    """
    work = asyncio.ensure_future(in_thread(func, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        if not work.cancelled():
            work.exception()  # consumed: the cancellation is what the caller reports
        raise


def container_name(run_id: str) -> str:
    # The engine accepts only [a-zA-Z0-9_.-] in names; a run id may hold anything.
    safe = re.sub(r"[^a-zA-Z0-9_.-]", "-", run_id)
    return f"understudy-{safe}-{uuid.uuid4().hex[:8]}"


def remove_container(api: Any, container_id: str) -> None:
    """Remove a container and everything running in it (blocking)."""
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_container(container_id, force=True, v=True)


def commit_container(
    api: Any, container_id: str, image: str, image_labels: Mapping[str, str]
) -> str:
    """Commit a container as ``image`` (``repository:tag``) with ``image_labels``; the new
    image's id (blocking)."""
    repository, _, tag = image.rpartition(":")
    committed = api.commit(
        container_id, repository=repository, tag=tag, conf={"Labels": dict(image_labels)}
    )
    return str(committed["Id"])


@dataclass(frozen=True)
class StartedContainer:
    """A sandbox's container, made and started."""

    id: str
    user: SandboxUser
    """Who its commands run as."""


def run_container(client: docker.DockerClient, config: SandboxConfig) -> StartedContainer:
    """Create and start a hardened container (blocking); tracked from the moment it exists.

    See :mod:`~understudy.sandbox.hardening` for what it is made of."""
    request = container_options(client, config)
    try:
        # create + start rather than run: run pulls a missing image, and a sandbox must neither
        # reach a registry nor turn a typo into a download.
        created = client.api.create_container(
            config.image,
            name=container_name(config.run_id),
            host_config=client.api.create_host_config(**request.host),
            **request.container,
        )
    except docker.errors.ImageNotFound:
        raise ImageNotFoundError(
            f"image {config.image!r} is not present on the Docker engine; "
            "build the base image with `understudy images build`"
        ) from None
    except docker.errors.APIError as exc:
        raise start_error(client, config, exc) from exc
    container_id = str(created["Id"])
    track(container_id, functools.partial(remove_container, client.api, container_id))
    try:
        client.api.start(container_id)
    except docker.errors.APIError as exc:
        remove_container(client.api, container_id)
        forget(container_id)
        raise start_error(client, config, exc) from exc
    return StartedContainer(container_id, request.user)


def discard_container(creating: asyncio.Future[StartedContainer]) -> None:
    """Remove a container whose start was cancelled, once the engine has made it."""
    if creating.cancelled() or creating.exception() is not None:
        return
    _POOL.submit(_remove_and_forget, creating.result().id)


def _remove_and_forget(container_id: str) -> None:
    remove_container(docker_client().api, container_id)
    forget(container_id)
