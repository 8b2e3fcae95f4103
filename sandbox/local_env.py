"""What local sandboxes start from: built environments and the state at a cut, as directories.

The local backend's counterparts of :class:`~understudy.sandbox.envbuilder.EnvBuilder` and
:class:`~understudy.sandbox.snapshots.PrefixCache`, for machines without a Docker engine.

:class:`LocalEnvBuilder` turns an EnvSpec into a directory that
:meth:`LocalSandbox.start <understudy.sandbox.local.LocalSandbox.start>` copies: a sandbox root
with the repository checked out at ``workdir`` inside it (``/workspace`` ->
``<dir>/workspace``, at ``commit``, ``patch`` applied, with its ``.git``), the spec's ``files``
written and the ``setup``
commands run there, **on this machine, as this user**. It is cached under
``<cache>/local-envs/<hash16>`` by the same spec hash as env images (a second build is a cache
hit) and published by one rename, so that an interrupted build leaves no half environment. A
session's own image cannot be used without an engine.

:class:`LocalPrefixes` keeps nothing: the prefix is re-executed for every rollout in a sandbox of
its own, whose root the rollout's sandbox then takes over (``local-once:``).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from understudy.errors import EnvBuildError, ImageNotFoundError
from understudy.logging import get_logger
from understudy.sandbox.config import SandboxConfig
from understudy.sandbox.containers import in_thread_to_completion
from understudy.sandbox.envspec import (
    BuiltEnv,
    EnvBuilderBase,
    checkout_repo,
    run_setup,
    write_files,
)
from understudy.sandbox.local import LocalSandbox
from understudy.sandbox.local_files import TAKE_OVER, carried_state, local_cache_dir
from understudy.sandbox.snapshots import CachedPrefix, PrefixBuild, PrefixKey
from understudy.sandbox.tracking import forget, track
from understudy.trajectory import EnvSpec

log = get_logger("sandbox.local_env")

LOCAL_BASE = "local"
"""What local environments are built on (in their hash, and as ``BuiltEnv.base_image``)."""


@dataclass(eq=False, kw_only=True)
class LocalEnvBuilder(EnvBuilderBase):
    """Builds and caches environment directories for the local backend."""

    cache_dir: Path | None = None
    """Where ``local-envs/`` is kept; default: ``local_cache_dir()`` at build time."""

    def has_image(self, image: str) -> bool:
        return False  # no images: every environment is a directory on this machine

    async def build(self, spec: EnvSpec) -> BuiltEnv:
        """The directory for ``spec``, built if it is not cached yet."""
        if spec.pip_install:
            # Installing into this machine's own Python would change the host, not a sandbox.
            raise EnvBuildError(
                "pip_install is built into Docker images only; use the docker backend, or "
                "drop the row's pip_install field for the local backend"
            )
        if spec.image:
            if not self.allow_base_image:
                raise ImageNotFoundError(
                    f"the session's image {spec.image!r} cannot be used by the local backend "
                    "(no isolation, no images); use a Docker engine, or pass "
                    "--allow-base-image to run it on this machine anyway (the rollouts record it)"
                )
            log.warning("the local backend cannot use a session image", image=spec.image)
        env_hash = await self.env_hash(spec, LOCAL_BASE)
        envs = (self.cache_dir or local_cache_dir()) / "local-envs"
        target = envs / env_hash[:16]
        async with self.lock(env_hash):
            cached = target.is_dir()
            if cached:
                log.debug("local env cache hit", directory=str(target))
            else:
                await self._build_dir(spec, envs, target)
        return BuiltEnv(
            image=f"local:{target}",
            image_id=str(target),
            env_hash=env_hash,
            base_image=LOCAL_BASE,
            cached=cached,
            missing_image=spec.image,
            user=getpass.getuser(),  # no isolation: commands run as this process's user
        )

    async def _build_dir(self, spec: EnvSpec, envs: Path, target: Path) -> None:
        envs.mkdir(parents=True, exist_ok=True)
        # Built beside its final place, then renamed: a build that fails or is interrupted
        # never looks like a cached environment.
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=envs))
        try:
            if spec.repo is not None:
                self.progress(f"checking out {spec.repo.url or spec.repo.path}")
                workdir = LocalSandbox.host_path(staging, spec.workdir)
                await in_thread_to_completion(checkout_repo, spec.repo, workdir)
            if spec.files:
                self.progress(f"writing {len(spec.files)} file(s) and directories")
                await in_thread_to_completion(
                    write_files,
                    spec.files,
                    spec.workdir,
                    lambda path: LocalSandbox.host_path(staging, path),
                )
            if spec.setup:
                log.warning(
                    "setup commands run on this machine, not isolated", commands=len(spec.setup)
                )
                config = SandboxConfig(workdir=spec.workdir, env=spec.env, run_id=self.run_id)
                async with LocalSandbox.in_place(staging, config) as sandbox:
                    await run_setup(sandbox, spec.setup, self.setup_timeout_s, self.progress)
            await asyncio.to_thread(_publish, staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, target: Path) -> None:
    try:
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():
            raise
        # Another process built the same spec first; its directory is as good as this one.


class LocalPrefixes:
    """The state at a cut for the local backend: re-executed for every rollout, never cached."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    async def get_or_build(
        self, key: PrefixKey, config: SandboxConfig, build: PrefixBuild
    ) -> CachedPrefix:
        """A fresh state of ``key``: ``build`` runs in a sandbox of ``config``, whose files and
        shell state are then kept in a scratch directory for the one sandbox that takes it over.
        Errors of ``build`` propagate, and nothing is kept then."""
        started = time.monotonic()
        target = Path(tempfile.gettempdir()) / f"understudy-prefix-{uuid.uuid4().hex[:12]}"
        image = f"{TAKE_OVER}{target}"
        sandbox = await LocalSandbox.start(config)
        try:
            state = await build(sandbox)
            # Tracked before it exists, so that an interrupted copy is removed at exit too.
            track(image, lambda: _remove_prefix(target))
            await sandbox.snapshot(target)
        except BaseException:
            await asyncio.to_thread(_remove_prefix, target)
            forget(image)
            raise
        finally:
            # Shielded: a cancelled build must still remove its scratch root.
            await asyncio.shield(sandbox.close())
        build_s = time.monotonic() - started
        log.debug("local prefix built", session=key.session_id, cut=key.cut, seconds=build_s)
        return CachedPrefix(image=image, image_id=image, state=state, cached=False, build_s=build_s)

    async def discard(self, image: str) -> None:
        """Remove a state nothing will start from."""
        await asyncio.to_thread(_remove_prefix, Path(image.removeprefix(TAKE_OVER)))
        forget(image)


def _remove_prefix(target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    carried_state(target).unlink(missing_ok=True)
