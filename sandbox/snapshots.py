"""Prefix snapshots: the state at a cut, rebuilt once and kept as a tagged image.

Before a candidate takes over a session at a cut, the environment must be as it was there: a
sandbox started from the env image re-executes the recorded state-changing calls of the prefix.
That work is done once per (env hash, session, cut, recipe): the sandbox is committed as
``understudy/prefix:<hash16>`` and every sample starts from that image. The record the build
returned (fidelity, mismatches) travels on the image as a label, so a later run that finds the
tag gets it back without re-executing anything. ``understudy sandbox gc --images`` prunes these
images like env images.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import docker.errors
from pydantic import BaseModel, ConfigDict, Field

from understudy.errors import SandboxError
from understudy.logging import get_logger
from understudy.protocols import Sandbox
from understudy.sandbox import labels
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.containers import in_thread
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client

log = get_logger("sandbox.snapshots")

PREFIX_REPOSITORY = "understudy/prefix"
MAX_STATE_BYTES = 64 * 1024
"""Largest state record (compact JSON) stored as an image label; the engine keeps labels in the
image config, which every container start reads."""

PrefixBuild = Callable[[Sandbox], Awaitable[dict[str, Any]]]
"""Brings a fresh sandbox to the state at the cut and returns a JSON record of how it went."""


class PrefixStateError(SandboxError, ValueError):
    """The state record of a prefix cannot be stored on its image (too large, not JSON)."""


class PrefixKey(BaseModel):
    """What decides the content of a prefix image."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    env_hash: str
    """Hash of the env image's spec (``BuiltEnv.env_hash``)."""
    session_id: str
    """The session whose prefix is rebuilt."""
    cut: int = Field(ge=0)
    """Index of the first message the candidate replaces; the prefix is ``messages[:cut]``."""
    recipe: str
    """Hash of what the prefix re-executes (the calls and the policy that replays them); a
    changed session or policy is a different key."""

    def tag(self) -> str:
        """The image tag: ``understudy/prefix:<first 16 hex of sha256 of the key's JSON>``."""
        material = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return f"{PREFIX_REPOSITORY}:{hashlib.sha256(material.encode()).hexdigest()[:16]}"

    def describe(self) -> str:
        """How messages name the key."""
        return f"session {self.session_id!r} at cut {self.cut} (env {self.env_hash[:16]})"


class CachedPrefix(BaseModel):
    """A prefix image ready to start samples from."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    image: str
    """The tag (``understudy/prefix:<hash16>``)."""
    image_id: str
    """Engine id of the image."""
    state: dict[str, Any]
    """The record the build returned, as stored on the image (label ``PREFIX_STATE``)."""
    cached: bool
    """The image was already there; nothing was built."""
    build_s: float
    """Seconds spent building and committing (0 on a hit)."""


class PrefixStore(Protocol):
    """Where a run gets the state at a cut: :class:`PrefixCache` (docker) keeps images;
    :class:`~understudy.sandbox.local_env.LocalPrefixes` re-executes for every rollout."""

    async def get_or_build(
        self, key: PrefixKey, config: SandboxConfig, build: PrefixBuild
    ) -> CachedPrefix:
        """The state of ``key`` to start a sample from, built with ``build`` if needed."""
        ...

    async def discard(self, image: str) -> None:
        """Nothing will start from ``image`` (the prefix was aborted)."""
        ...


class PrefixCache:
    """Builds prefix images once and finds them again, in this run and in later ones."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        """The run that builds images here; they are labelled with it."""
        self._locks: dict[str, asyncio.Lock] = {}

    async def get_or_build(
        self, key: PrefixKey, config: SandboxConfig, build: PrefixBuild
    ) -> CachedPrefix:
        """The prefix image of ``key``, built with ``build`` in a sandbox of ``config`` if missing.

        ``config.image`` is the env image. Concurrent calls for one key build it once. Errors of
        ``build`` propagate unchanged, and nothing is committed then.
        """
        tag = key.tag()
        # One lock per key: all samples of a prefix wait for one build, other keys go on.
        async with self._locks.setdefault(tag, asyncio.Lock()):
            found = await in_thread(_find, tag)
            if found is not None:
                hit = _from_image(tag, *found)
                if hit is not None:
                    log.debug("prefix cache hit", tag=tag, session=key.session_id, cut=key.cut)
                    return hit
                log.warning("prefix image has no readable state; rebuilding it", tag=tag)
            return await self._build(key, tag, config, build)

    async def discard(self, image: str) -> None:
        """Nothing to do: the image stays cached for later samples and runs, which read the
        aborted state from it without re-executing anything."""

    async def _build(
        self, key: PrefixKey, tag: str, config: SandboxConfig, build: PrefixBuild
    ) -> CachedPrefix:
        started = time.monotonic()
        sandbox = await DockerSandbox.start(config)
        try:
            state = await build(sandbox)
            encoded = _encode_state(key, state)
            image_id = await sandbox.snapshot(
                repository=PREFIX_REPOSITORY,
                tag=tag.rpartition(":")[2],
                extra_labels=self._image_labels(key, encoded),
            )
        finally:
            # Shielded: a cancelled build must still remove its container.
            await asyncio.shield(sandbox.close())
        build_s = time.monotonic() - started
        log.info("prefix built", tag=tag, session=key.session_id, cut=key.cut, seconds=build_s)
        return CachedPrefix(
            image=tag, image_id=image_id, state=json.loads(encoded), cached=False, build_s=build_s
        )

    def _image_labels(self, key: PrefixKey, encoded_state: str) -> dict[str, str]:
        return {
            labels.KIND: "prefix",
            labels.RUN_ID: self.run_id,
            labels.ENV_HASH: key.env_hash,
            labels.SESSION: key.session_id,
            labels.CUT: str(key.cut),
            labels.PREFIX_STATE: encoded_state,
        }


def _encode_state(key: PrefixKey, state: dict[str, Any]) -> str:
    """The state record as compact JSON, or an error naming the key if it cannot be a label."""
    try:
        encoded = json.dumps(state, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PrefixStateError(
            f"the prefix state of {key.describe()} is not JSON-serializable: {exc}"
        ) from exc
    size = len(encoded.encode())
    if size > MAX_STATE_BYTES:
        raise PrefixStateError(
            f"the prefix state of {key.describe()} is {size} bytes of JSON; at most "
            f"{MAX_STATE_BYTES} fit on the image (keep payloads such as outputs out of it)"
        )
    return encoded


def _find(tag: str) -> tuple[str, dict[str, str]] | None:
    """The id and labels of the image tagged ``tag``, or None (blocking)."""
    try:
        image = docker_client().images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    return str(image.id), dict(image.labels or {})


def _from_image(tag: str, image_id: str, image_labels: dict[str, str]) -> CachedPrefix | None:
    """A cache hit from an existing image, or None if its state label is missing or garbled."""
    try:
        state = json.loads(image_labels[labels.PREFIX_STATE])
    except (KeyError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    return CachedPrefix(image=tag, image_id=image_id, state=state, cached=True, build_s=0.0)
