"""EnvBuilder: an EnvSpec becomes an image, cached by a hash of the spec.

The image is the session's own image when the engine has it, else the base image; the repository
is checked out on the host with GitPython (at ``commit``, with ``patch`` applied), copied to
``workdir`` with its ``.git``, the ``setup`` commands run in a hardened sandbox (no network), and
the result is committed as ``understudy/env:<hash>``. A second build of the same spec on the same
base is a cache hit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker.errors
import git
from pydantic import BaseModel

from understudy.errors import EnvBuildError, ImageNotFoundError
from understudy.logging import get_logger
from understudy.sandbox import labels
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.containers import in_thread_to_completion
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.trajectory import EnvSpec, RepoSpec

log = get_logger("sandbox.envbuilder")

ENV_REPOSITORY = "understudy/env"
RECIPE_VERSION = 1
"""Part of every env hash: bump it when the way images are built changes."""

Progress = Callable[[str], None]


class BuiltEnv(BaseModel):
    """An environment image ready to start sandboxes from."""

    image: str
    """Tag of the image (``understudy/env:<hash>``)."""
    image_id: str
    """Engine id of the image."""
    env_hash: str
    """Hash of the spec, the base image and the resolved repository state."""
    base_image: str
    """The image it was built on."""
    cached: bool
    """It already existed; nothing was built."""


class EnvBuilder:
    """Builds and caches environment images."""

    def __init__(
        self,
        base_image: str = BASE_IMAGE,
        setup_timeout_s: float = 1800.0,
        progress: Progress = lambda line: None,
        run_id: str = "envbuild",
    ) -> None:
        self.base_image = base_image
        self.run_id = run_id
        self.setup_timeout_s = setup_timeout_s
        self.progress = progress
        self._locks: dict[str, asyncio.Lock] = {}

    async def build(self, spec: EnvSpec) -> BuiltEnv:
        """The image for ``spec``, built if it is not cached yet."""
        base, base_id = await asyncio.to_thread(self._choose_base, spec)
        head = await asyncio.to_thread(_local_head, spec.repo)
        env_hash = spec_hash(spec, base_id, head)
        tag = f"{ENV_REPOSITORY}:{env_hash[:16]}"
        async with self._locks.setdefault(env_hash, asyncio.Lock()):
            cached_id = await asyncio.to_thread(_image_id, tag)
            if cached_id is not None:
                log.debug("env cache hit", tag=tag)
                return BuiltEnv(
                    image=tag, image_id=cached_id, env_hash=env_hash, base_image=base, cached=True
                )
            image_id = await self._build_image(spec, base, tag, env_hash)
        return BuiltEnv(
            image=tag, image_id=image_id, env_hash=env_hash, base_image=base, cached=False
        )

    def _choose_base(self, spec: EnvSpec) -> tuple[str, str]:
        if spec.image:
            image_id = _image_id(spec.image)
            if image_id is not None:
                return spec.image, image_id
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
            archive = None
            if spec.repo is not None:
                self.progress(f"checking out {spec.repo.url or spec.repo.path}")
                checkout = Path(scratch) / "repo"
                await in_thread_to_completion(checkout_repo, spec.repo, checkout)
                archive = Path(scratch) / "repo.tar"
                await in_thread_to_completion(_pack, checkout, archive)
            async with await DockerSandbox.start(config) as sandbox:
                if archive is not None:
                    self.progress(f"copying the repository to {spec.workdir}")
                    await in_thread_to_completion(_copy_in, sandbox.id, spec.workdir, archive)
                await self._run_setup(sandbox, spec.setup)
                self.progress(f"committing {tag}")
                image = await asyncio.to_thread(
                    docker_client().api.commit,
                    sandbox.id,
                    repository=ENV_REPOSITORY,
                    tag=tag.rpartition(":")[2],
                    conf={
                        "Labels": {
                            labels.MANAGED: "1",
                            labels.KIND: "env",
                            labels.ENV_HASH: env_hash,
                        }
                    },
                )
        return str(image["Id"])

    async def _run_setup(self, sandbox: DockerSandbox, commands: list[str]) -> None:
        for number, command in enumerate(commands, start=1):
            self.progress(f"setup {number}/{len(commands)}: {command}")
            result = await sandbox.exec(command, timeout=self.setup_timeout_s)
            if result.exit_code != 0:
                why = (
                    "timed out" if result.timed_out else f"failed with exit code {result.exit_code}"
                )
                raise EnvBuildError(
                    f"setup command {number} {why}: {command}\n{result.output[-4000:]}"
                )


def spec_hash(spec: EnvSpec, base_image_id: str, local_head: str | None) -> str:
    """Hash of everything that decides an env image's content."""
    material = {
        "recipe": RECIPE_VERSION,
        "spec": spec.model_dump(mode="json"),
        "base": base_image_id,
        "head": local_head,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _image_id(tag: str) -> str | None:
    try:
        return str(docker_client().images.get(tag).id)
    except docker.errors.ImageNotFound:
        return None


def _local_head(repo: RepoSpec | None) -> str | None:
    """For a local repository without a pinned commit, its HEAD, so new commits miss the cache."""
    if repo is None or repo.path is None or repo.commit is not None:
        return None
    try:
        return str(git.Repo(repo.path).head.commit.hexsha)
    except (git.exc.GitError, ValueError, OSError) as exc:
        raise EnvBuildError(f"{repo.path} is not a git repository with commits: {exc}") from exc


def checkout_repo(repo: RepoSpec, target: Path) -> None:
    """Clone ``repo`` into ``target`` at its commit (or branch), with its patch applied."""
    source = repo.path or repo.url
    if not source:
        raise EnvBuildError("repo has neither url nor path")
    try:
        cloned = git.Repo.clone_from(source, target, no_checkout=True)
    except git.exc.GitCommandError as exc:
        raise EnvBuildError(f"cannot clone {source}: {_git_reason(exc)}") from exc
    revision = repo.commit or repo.branch
    if revision:
        _checkout_revision(cloned, source, revision)
    else:
        cloned.git.checkout("HEAD", "--", ".")
    if repo.patch:
        patch_file = target.parent / "env.patch"
        patch_file.write_text(repo.patch if repo.patch.endswith("\n") else repo.patch + "\n")
        try:
            cloned.git.apply("--whitespace=nowarn", str(patch_file))
        except git.exc.GitCommandError as exc:
            raise EnvBuildError(
                f"the patch does not apply to {source}: {_git_reason(exc)}"
            ) from exc


def _checkout_revision(cloned: git.Repo, source: str, revision: str) -> None:
    try:
        cloned.git.checkout(revision)
        return
    except git.exc.GitCommandError:
        pass
    # A commit that no branch reaches is not in a plain clone; ask for it by name.
    try:
        cloned.git.fetch("origin", revision)
        cloned.git.checkout(revision)
    except git.exc.GitCommandError as exc:
        raise EnvBuildError(f"commit or branch {revision!r} not found in {source}") from exc


def _git_reason(exc: git.exc.GitCommandError) -> str:
    stderr = str(exc.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
    lines = [line for line in stderr.splitlines() if not line.startswith("Cloning into")]
    return "\n".join(lines) or str(exc)


def _pack(directory: Path, archive: Path) -> None:
    """Tar a directory's content, owned by root (the sandbox user)."""

    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(archive, "w") as tar:
        tar.add(directory, arcname=".", filter=as_root)


def _copy_in(container_id: str, workdir: str, archive: Path) -> None:
    with archive.open("rb") as data:
        if not docker_client().api.put_archive(container_id, workdir, data):
            raise EnvBuildError(f"cannot copy the repository into {workdir}")
