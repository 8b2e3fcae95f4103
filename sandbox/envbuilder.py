"""EnvBuilder: an EnvSpec becomes an image, cached by a hash of the spec.

The image is the session's own image when the engine has it, else the base image; the repository
is checked out on the host with GitPython (at ``commit``, with ``patch`` applied), copied to
``workdir`` with its ``.git``, the spec's ``files`` written, its ``pip_install`` requirements
installed from a wheelhouse made on the host (:mod:`~understudy.sandbox.dependencies`), the
``setup`` commands run in a hardened sandbox (no network), and the result is committed as
``understudy/env:<hash>``. A second build of the same spec on the same base is a cache hit.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import git

from understudy.errors import EnvBuildError, ImageNotFoundError
from understudy.logging import get_logger
from understudy.sandbox import labels
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.containers import commit_container, in_thread_to_completion
from understudy.sandbox.dependencies import (
    SANDBOX_WHEELHOUSE,
    install_in_sandbox,
    wheelhouse,
)
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.envspec import (
    BuiltEnv,
    EnvBuilderBase,
    checkout_repo,
    pack_files,
    run_setup,
)
from understudy.trajectory import EnvSpec

__all__ = ["ENV_REPOSITORY", "BuiltEnv", "EnvBuilder", "checkout_repo"]

log = get_logger("sandbox.envbuilder")

ENV_REPOSITORY = "understudy/env"


@dataclass(eq=False, kw_only=True)
class EnvBuilder(EnvBuilderBase):
    """Builds and caches environment images."""

    base_image: str = BASE_IMAGE
    """Built on for sessions without an image of their own, and with ``allow_base_image`` for
    those whose declared image is absent."""

    async def build(self, spec: EnvSpec) -> BuiltEnv:
        """The image for ``spec``, built if it is not cached yet."""
        base, base_id = await asyncio.to_thread(self._choose_base, spec)
        env_hash = await self.env_hash(spec, base_id)
        tag = f"{ENV_REPOSITORY}:{env_hash[:16]}"
        async with self.lock(env_hash):
            image_id = await asyncio.to_thread(_image_id, tag)
            cached = image_id is not None
            if image_id is None:
                image_id = await self._build_image(spec, base, tag, env_hash)
            else:
                log.debug("env cache hit", tag=tag)
            installed = await asyncio.to_thread(_installed, tag)
        return BuiltEnv(
            image=tag,
            image_id=image_id,
            env_hash=env_hash,
            base_image=base,
            cached=cached,
            missing_image=spec.image if spec.image and base != spec.image else None,
            installed=installed,
        )

    def has_image(self, image: str) -> bool:
        return _image_id(image) is not None

    def _choose_base(self, spec: EnvSpec) -> tuple[str, str]:
        if spec.image:
            image_id = _image_id(spec.image)
            if image_id is not None:
                return spec.image, image_id
            if not self.allow_base_image:
                # Building on the base image instead would replay the session in an
                # environment it never had, and report the result as if it were faithful.
                raise ImageNotFoundError(
                    f"the session's image {spec.image!r} is not present on the engine; load or "
                    "build it (docker pull/load), or pass --allow-base-image to build on "
                    f"{self.base_image!r} instead (the rollouts record it)"
                )
            log.warning("session image not present; using the base image", image=spec.image)
        image_id = _image_id(self.base_image)
        if image_id is None:
            raise ImageNotFoundError(
                f"the base image {self.base_image!r} is missing; build it with "
                "`understudy images build` (offline: `understudy images build --offline`)"
            )
        return self.base_image, image_id

    async def _build_image(self, spec: EnvSpec, base: str, tag: str, env_hash: str) -> str:
        config = SandboxConfig(image=base, workdir=spec.workdir, env=spec.env, run_id=self.run_id)
        with tempfile.TemporaryDirectory(prefix="understudy-env-") as scratch:
            archive = checkout = None
            if spec.repo is not None:
                self.progress(f"checking out {spec.repo.url or spec.repo.path}")
                checkout = Path(scratch) / "repo"
                await in_thread_to_completion(checkout_repo, spec.repo, checkout)
                archive = Path(scratch) / "repo.tar"
                await in_thread_to_completion(_pack, checkout, archive)
            wheels = None
            if spec.pip_install:
                wheels = Path(scratch) / "wheels.tar"
                await in_thread_to_completion(self._pack_wheels, spec, checkout, wheels)
            files = None
            if spec.files:
                files = Path(scratch) / "files.tar"
                await in_thread_to_completion(pack_files, spec.files, spec.workdir, files)
            async with await DockerSandbox.start(config) as sandbox:
                if archive is not None:
                    self.progress(f"copying the repository to {spec.workdir}")
                    await in_thread_to_completion(_copy_in, sandbox.id, spec.workdir, archive)
                if files is not None:
                    self.progress(f"writing {len(spec.files)} file(s) and directories")
                    await in_thread_to_completion(_copy_in, sandbox.id, "/", files)
                extra = {}
                if wheels is not None:
                    await in_thread_to_completion(_copy_in, sandbox.id, "/", wheels)
                    installed = await install_in_sandbox(
                        sandbox, spec, self.setup_timeout_s, self.progress
                    )
                    extra[labels.PIP_FREEZE] = json.dumps(installed)
                await run_setup(sandbox, spec.setup, self.setup_timeout_s, self.progress)
                self.progress(f"committing {tag}")
                return await asyncio.to_thread(
                    commit_container,
                    docker_client().api,
                    sandbox.id,
                    tag,
                    labels.env_image_labels(env_hash, extra),
                )

    def _pack_wheels(self, spec: EnvSpec, checkout: Path | None, archive: Path) -> None:
        """The host's wheelhouse for ``spec`` (see :mod:`~understudy.sandbox.dependencies`),
        tarred to unpack at :data:`SANDBOX_WHEELHOUSE`."""
        commit = git.Repo(checkout).head.commit.hexsha if checkout is not None else None
        source = wheelhouse(spec, checkout, commit, self.progress)
        with tarfile.open(archive, "w") as tar:
            tar.add(source, arcname=SANDBOX_WHEELHOUSE.lstrip("/"), filter=_as_root)


def _image_id(tag: str) -> str | None:
    try:
        return str(docker_client().images.get(tag).id)
    except docker.errors.ImageNotFound:
        return None


def _installed(tag: str) -> list[str]:
    """What the image's ``pip_install`` installed (its ``pip freeze`` label), else nothing."""
    found = (docker_client().images.get(tag).labels or {}).get(labels.PIP_FREEZE)
    return [str(line) for line in json.loads(found)] if found else []


def _as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _pack(directory: Path, archive: Path) -> None:
    """Tar a directory's content, owned by root (the sandbox user)."""
    with tarfile.open(archive, "w") as tar:
        tar.add(directory, arcname=".", filter=_as_root)


def _copy_in(container_id: str, workdir: str, archive: Path) -> None:
    with archive.open("rb") as data:
        if not docker_client().api.put_archive(container_id, workdir, data):
            raise EnvBuildError(f"cannot copy {archive.name} into {workdir}")
