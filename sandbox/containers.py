"""Hardened containers: creating, starting and removing them.

The docker SDK blocks, so its calls run in a dedicated thread pool (``in_thread``); the calls a
sandbox makes on every rollout go through :mod:`~understudy.sandbox.engine_api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import docker.errors
import docker.utils

from understudy.errors import ImageNotFoundError
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.engine import docker_client
from understudy.sandbox.hardening import (
    ContainerRequest,
    SandboxUser,
    container_options,
    start_error,
)
from understudy.sandbox.tracking import forget, track

if TYPE_CHECKING:
    from understudy.sandbox.engine_api import ThreadedEngineAPI

T = TypeVar("T")

CREATE_SETTLE_CHECKS = 10
"""Tries, 0.1 s apart, to remove a container whose create was cut short."""
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


_NOT_IN_NAMES = re.compile(r"[^a-zA-Z0-9_.-]")
"""What the engine refuses in a container's name."""


def container_name(run_id: str) -> str:
    # A run id may hold anything.
    safe = _NOT_IN_NAMES.sub("-", run_id)
    return f"understudy-{safe}-{uuid.uuid4().hex[:8]}"


def remove_container(api: Any, container_id: str) -> None:
    """Remove a container and everything running in it (blocking)."""
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_container(container_id, force=True, v=True)


def remove_once_made(api: Any, name: str) -> None:
    """Remove the container named ``name``, waiting a moment for a create still in flight at
    the engine (blocking)."""
    for _ in range(CREATE_SETTLE_CHECKS):
        try:
            api.remove_container(name, force=True, v=True)
            return
        except docker.errors.NotFound:
            time.sleep(0.1)


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
    image_id: str
    """The image it was made from, by id (the tag may since name another)."""


async def run_container(
    engine: ThreadedEngineAPI, client: docker.DockerClient, config: SandboxConfig
) -> StartedContainer:
    """Create and start a hardened container; tracked from the moment it exists.

    See :mod:`~understudy.sandbox.hardening` for what it is made of."""
    container_id, request, image_id = await _create(engine, client, config)
    try:
        await engine.start(container_id)
    except BaseException as exc:
        await asyncio.shield(_remove_now(engine, container_id))
        if isinstance(exc, docker.errors.APIError):
            raise await in_thread(start_error, client, config, exc) from exc
        raise
    return StartedContainer(container_id, request.user, image_id)


@contextlib.asynccontextmanager
async def image_view(
    engine: ThreadedEngineAPI, client: docker.DockerClient, config: SandboxConfig
) -> AsyncIterator[str]:
    """The id of a container of ``config`` made but never started: its files are the image's,
    to read with the engine's archive calls. Removed on leaving."""
    container_id, _, _ = await _create(engine, client, config)
    try:
        yield container_id
    finally:
        await asyncio.shield(_remove_now(engine, container_id))


async def _create(
    engine: ThreadedEngineAPI, client: docker.DockerClient, config: SandboxConfig
) -> tuple[str, ContainerRequest, str]:
    """Create a hardened container, tracked from the moment it exists; its id, the request it
    was made from and its image's id."""
    try:
        image_attrs = await engine.inspect_image(config.image)
    except docker.errors.ImageNotFound:
        raise _not_present(config.image) from None
    request = container_options(image_attrs, config)
    name = container_name(config.run_id)
    # Tracked by its name until its id is known: a create cut short (Ctrl-C as the event loop
    # shuts down) can still make the container, without telling its id.
    track(name, functools.partial(remove_once_made, client.api, name))
    try:
        # create + start rather than run: run pulls a missing image, and a sandbox must neither
        # reach a registry nor turn a typo into a download.
        container_id = await engine.create_container_from_config(
            create_config(client.api, config.image, request), name
        )
    except docker.errors.ImageNotFound:
        forget(name)
        raise _not_present(config.image) from None
    except docker.errors.APIError as exc:
        forget(name)
        raise await in_thread(start_error, client, config, exc) from exc
    track(container_id, functools.partial(remove_container, client.api, container_id))
    forget(name)
    return container_id, request, str(image_attrs.get("Id") or config.image)


def _not_present(image: str) -> ImageNotFoundError:
    return ImageNotFoundError(
        f"image {image!r} is not present on the Docker engine; "
        "build the base image with `understudy images build`"
    )


async def _remove_now(engine: ThreadedEngineAPI, container_id: str) -> None:
    await engine.remove_container(container_id)
    forget(container_id)


def create_config(api: Any, image: str, request: ContainerRequest) -> dict[str, Any]:
    """The engine's create body for ``request`` (built by the SDK, without its I/O).

    Unlike the SDK's ``create_container``, no proxy variables are added to the environment: a
    sandbox has no network to use them on."""
    options = dict(request.container)
    environment = options.pop("environment", None)
    if isinstance(environment, Mapping):
        environment = docker.utils.format_environment(dict(environment))
    config: dict[str, Any] = api.create_container_config(
        image=image,
        environment=environment or None,
        host_config=api.create_host_config(**request.host),
        **options,
    )
    return config


def discard_container(creating: asyncio.Future[StartedContainer]) -> None:
    """Remove a container whose start was cancelled, once the engine has made it."""
    if creating.cancelled() or creating.exception() is not None:
        return
    _POOL.submit(_remove_and_forget, creating.result().id)


def _remove_and_forget(container_id: str) -> None:
    remove_container(docker_client().api, container_id)
    forget(container_id)
