"""What every environment builder shares: the spec hash, the checkout, the setup commands,
and the settings and locks of :class:`EnvBuilderBase`.

An EnvSpec becomes a place to start sandboxes from: an image for the docker backend
(:mod:`understudy.sandbox.envbuilder`), a directory for the local one
(:mod:`understudy.sandbox.local_env`). Both check the repository out on the host with
GitPython, run the ``setup`` commands in a sandbox of their backend, and cache the result by
:func:`spec_hash`; both fail with the same :class:`~understudy.errors.EnvBuildError` messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import posixpath
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import git
from pydantic import BaseModel

from understudy.errors import EnvBuildError
from understudy.protocols import Sandbox
from understudy.trajectory import EnvFile, EnvSpec, RepoSpec

RECIPE_VERSION = 1
"""Part of every env hash: bump it when the way environments are built changes."""

Progress = Callable[[str], None]


class BuiltEnv(BaseModel):
    """An environment ready to start sandboxes from."""

    image: str
    """What ``SandboxConfig.image`` names: ``understudy/env:<hash>`` (docker) or
    ``local:<directory>`` (local)."""
    image_id: str
    """Engine id of the image, or the directory (local)."""
    env_hash: str
    """Hash of the spec, the base and the resolved repository state."""
    base_image: str
    """The image it was built on (``local`` for the local backend)."""
    cached: bool
    """It already existed; nothing was built."""
    missing_image: str | None = None
    """The session's declared image, when it was absent and the base image stood in for it
    (only with ``allow_base_image``; otherwise an absent image is an error)."""
    installed: list[str] = []
    """``pip freeze`` of the environment when its spec installed Python requirements
    (``pip_install``), else empty."""
    user: str = "root"
    """Who commands run as in sandboxes started from it: the unprivileged ``understudy``
    (see :mod:`~understudy.sandbox.users`), the image's own user, or root."""


def spec_hash(spec: EnvSpec, base_id: str, head: str | None) -> str:
    """Hash of everything that decides an environment's content: the spec, the id of what it is
    built on, and (see :func:`local_head`) the HEAD of an unpinned local repository."""
    described = spec.model_dump(mode="json")
    if not spec.files:
        # Specs without files hash as they did before files existed: their images stay cached.
        del described["files"]
    if not described.get("pip_install", True):
        del described["pip_install"]
    if spec.repo is not None and spec.repo.path is not None and (spec.repo.commit or head):
        # A commit names its content wherever the repository lives, so clones of one
        # repository (the demo's, rebuilt in a new directory on each run) share one image.
        described["repo"]["path"] = None
    material = {
        "recipe": RECIPE_VERSION,
        "spec": described,
        "base": base_id,
        "head": head,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def local_head(repo: RepoSpec | None) -> str | None:
    """For a local repository without a pinned commit, its HEAD, so new commits miss the cache."""
    if repo is None or repo.path is None or repo.commit is not None:
        return None
    try:
        return str(git.Repo(repo.path).head.commit.hexsha)
    except (git.exc.GitError, ValueError, OSError) as exc:
        raise EnvBuildError(f"{repo.path} is not a git repository with commits: {exc}") from exc


def checkout_repo(repo: RepoSpec, target: Path) -> None:
    """Clone ``repo`` into ``target`` at its commit (or branch), with its patch applied.

    ``target`` must not exist or be an empty directory; nothing but the clone is written
    (the patch goes through a temporary file elsewhere).
    """
    source = repo.path or repo.url
    if not source:
        raise EnvBuildError(
            "the repository has neither url nor path; pass --envs FILE with a row giving its "
            "repo (owner/name or URL) or path"
        )
    try:
        cloned = git.Repo.clone_from(source, target, no_checkout=True)
    except git.exc.GitCommandError as exc:
        raise EnvBuildError(
            f"cannot clone {source}: {git_reason(exc)}; pass --repo-mirror 'URL=PATH' to clone "
            "from a local copy (a directory, bare repository or git bundle), or --envs FILE with "
            "a row giving a local path"
        ) from exc
    revision = repo.commit or repo.branch
    if revision:
        _checkout_revision(cloned, source, revision)
    else:
        cloned.git.checkout("HEAD", "--", ".")
    if repo.patch:
        with tempfile.TemporaryDirectory(prefix="understudy-patch-") as scratch:
            patch_file = Path(scratch) / "env.patch"
            patch_file.write_text(repo.patch if repo.patch.endswith("\n") else repo.patch + "\n")
            try:
                cloned.git.apply("--whitespace=nowarn", str(patch_file))
            except git.exc.GitCommandError as exc:
                raise EnvBuildError(
                    f"the patch does not apply to {source}: {git_reason(exc)}"
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


def git_reason(exc: git.exc.GitCommandError) -> str:
    """What git said was wrong, without its progress lines."""
    stderr = str(exc.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
    lines = [line for line in stderr.splitlines() if not line.startswith("Cloning into")]
    return "\n".join(lines) or str(exc)


def file_path(file: EnvFile, workdir: str) -> str:
    """Where ``file`` goes: its absolute path, or its path under ``workdir``."""
    return posixpath.normpath(posixpath.join(workdir, file.path))


def pack_files(files: list[EnvFile], workdir: str, archive: Path) -> None:
    """Tar ``files`` with their paths from ``/``, owned by root, for the engine to unpack at
    ``/`` (directories first, so that each file's parents exist with the usual modes)."""
    with tarfile.open(archive, "w") as tar:
        for file in sorted(files, key=lambda f: (not f.directory, f.path)):
            info = tarfile.TarInfo(file_path(file, workdir).lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if file.directory:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            data = file.content.encode()
            info.size, info.mode = len(data), 0o755 if file.executable else 0o644
            tar.addfile(info, io.BytesIO(data))


def write_files(files: list[EnvFile], workdir: str, host_path: Callable[[str], Path]) -> None:
    """Write ``files`` where ``host_path`` puts each path of the environment (local backend)."""
    for file in files:
        target = host_path(file_path(file, workdir))
        if file.directory:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.content)
            target.chmod(0o755 if file.executable else 0o644)


async def run_setup(
    sandbox: Sandbox, commands: list[str], timeout_s: float, progress: Progress
) -> None:
    """Run the setup commands in order; the first that fails or times out is an error with
    the tail of its output."""
    for number, command in enumerate(commands, start=1):
        progress(f"setup {number}/{len(commands)}: {command}")
        result = await sandbox.exec(command, timeout=timeout_s)
        if result.exit_code != 0:
            why = "timed out" if result.timed_out else f"failed with exit code {result.exit_code}"
            raise EnvBuildError(f"setup command {number} {why}: {command}\n{result.output[-4000:]}")


@dataclass(eq=False, kw_only=True)
class EnvBuilderBase:
    """What the environment builders of both backends are given, and their locks."""

    run_id: str = "envbuild"
    """Labels the sandboxes that run the setup commands."""
    setup_timeout_s: float = 1800.0
    """Most seconds each setup command may take."""
    progress: Progress = lambda line: None
    """Told each step of a build, as a line of text."""
    allow_base_image: bool = False
    """Go on without a session's declared image when it cannot be used (the environment
    records it as ``missing_image``); else that is an ImageNotFoundError."""
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    async def env_hash(self, spec: EnvSpec, base_id: str) -> str:
        """The hash of the environment ``spec`` builds on ``base_id``, as it is now (see
        :func:`spec_hash` and :func:`local_head`)."""
        head = await asyncio.to_thread(local_head, spec.repo)
        return spec_hash(spec, base_id, head)

    def lock(self, env_hash: str) -> asyncio.Lock:
        """The lock of environment ``env_hash``: concurrent builds of one environment wait for
        the first, builds of others go on."""
        return self._locks.setdefault(env_hash, asyncio.Lock())
