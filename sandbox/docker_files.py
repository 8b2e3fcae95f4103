"""The files of a DockerSandbox: read and written through the engine's archive API, changes
found with the engine's diff of the container's writable layer.

The engine's diff names a deleted directory alone. What was below it is read from the image
(:func:`~understudy.sandbox.containers.image_view`, only when something was deleted), so that
the deleted files are named one by one, as the local backend names them: a judge asks whether
a file it was told about is among the changes. Deleted directories are read in order of
path up to :data:`DELETED_LISTING_LIMIT` bytes of archive in all; those beyond it are still named
alone.

With a read-only root, what changes is in the working directory's volume, which the engine's
diff does not see: the working directory is listed (``find``) at start and again when asked,
and the two listings are compared. What changes on the tmpfs mounts is not reported then.

Files written for a sandbox that runs as an unprivileged user belong to that user, and so do
the directories made for them, so that its commands can go on changing them.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import time
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any

import docker.errors

from understudy.errors import ImageNotFoundError, SandboxError, SandboxFileNotFoundError
from understudy.logging import get_logger
from understudy.protocols import ChangeKind, ExecResult, FileChange
from understudy.sandbox.engine_api import ThreadedEngineAPI
from understudy.sandbox.hardening import SandboxUser

log = get_logger("sandbox.docker")

MAX_SYMLINKS = 40
_KIND_NAMES: dict[int, ChangeKind] = {0: "modified", 1: "added", 2: "deleted"}
# Paths the engine itself adds to every container.
_ENGINE_PATHS = frozenset({"/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})
# Type, mode, size, modification time and path of each entry below a directory, NUL-separated
# (a name may hold a newline).
_LISTING = "find {directory} -xdev -mindepth 1 -printf '%y %m %s %T@ %P\\0'"

DELETED_LISTING_LIMIT = 16 * 1024 * 1024
"""The most of the deleted directories' archives read, over all of them, to name the files that
were below them."""

Guard = Callable[..., Awaitable[Any]]
Lister = Callable[[str], Awaitable[ExecResult]]
"""Runs a command in the sandbox with its whole output kept."""
ImageArchives = Callable[[list[str], int], Awaitable[dict[str, bytes | None]]]
"""The tar archives of paths as the container's image holds them, up to the limit given in all;
a path that is not a directory there, or that is beyond the limit, maps to None."""


class ContainerFiles:
    """File operations on one container."""

    def __init__(
        self,
        api: ThreadedEngineAPI,
        container_id: str,
        guard: Guard,
        user: SandboxUser,
        workdir: str,
        read_only: bool,
    ) -> None:
        self._api = api
        self._read_only = read_only
        self._id = container_id
        self._guard = guard
        self._user = user
        self._workdir = workdir
        self._listing: dict[str, str] | None = None
        """The working directory at start, when changes are found by listing it."""

    async def read(self, full: str, shown: str) -> bytes:
        """The bytes of the regular file at ``full`` (symbolic links are followed)."""
        for _ in range(MAX_SYMLINKS):
            member, data, link_target = await self._fetch(full)
            if not member.issym():
                break
            # The engine archives a symlink itself, and names its target resolved in the
            # container; follow it as open(2) would.
            full = link_target or str(PurePosixPath(full).parent / member.linkname)
        else:
            raise SandboxError(f"too many levels of symbolic links in the sandbox: {shown}")
        if not member.isfile():
            raise SandboxError(f"not a regular file in the sandbox: {full}")
        return data

    async def _fetch(self, full: str) -> tuple[tarfile.TarInfo, bytes, str]:
        """The archive entry at ``full``: its header, its bytes if a file, its link target."""
        stat, data = await self._archive(full)
        if data is None:  # a directory: its archive, everything below it, was left unread
            raise SandboxError(f"not a regular file in the sandbox: {full}")
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = archive.next()
            if member is None:
                raise SandboxError(f"the engine sent an empty archive for {full}")
            extracted = archive.extractfile(member) if member.isfile() else None
            content = extracted.read() if extracted is not None else b""
        return member, content, str(stat.get("linkTarget") or "")

    async def _archive(self, full: str) -> tuple[dict[str, Any], bytes | None]:
        """The engine's stat of ``full`` and its archive (None for a directory)."""
        try:
            found: tuple[dict[str, Any], bytes | None] = await self._guard(
                self._api.archive, self._id, full
            )
        except docker.errors.NotFound:
            raise SandboxFileNotFoundError(f"no such file in the sandbox: {full}") from None
        return found

    async def _existing_parent(self, full: PurePosixPath) -> tuple[PurePosixPath, list[str]]:
        """The nearest directory above ``full`` that exists, and the names of those between
        (which do not), outermost first."""
        missing: list[str] = []
        for parent in full.parents:
            if parent == PurePosixPath("/"):
                break
            try:
                await self._archive(str(parent))
            except SandboxFileNotFoundError:
                missing.insert(0, parent.name)
                continue
            return parent, missing
        return PurePosixPath("/"), missing

    async def write(self, full: PurePosixPath, data: bytes, mode: int) -> None:
        """Create or replace a file (parent directories are created)."""
        owner = self._user if self._user.uid is not None and not self._user.is_root else None
        # The engine unpacks into a directory that must be writable in its view: with a
        # read-only root, the working directory's volume, not "/". Directories it makes for a
        # file are root's: made here instead, for the user.
        into, missing = PurePosixPath("/"), list[str]()
        if owner is not None or self._read_only:
            into, missing = await self._existing_parent(full)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            if owner is not None:
                for depth in range(1, len(missing) + 1):
                    info = tarfile.TarInfo("/".join(missing[:depth]))
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                    _own(info, owner)
                    archive.addfile(info)
            info = tarfile.TarInfo(str(full.relative_to(into)))
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            _own(info, owner)
            archive.addfile(info, io.BytesIO(data))
        ok = await self._guard(self._api.put_archive, self._id, str(into), buffer.getvalue())
        if not ok:
            raise SandboxError(f"cannot write {full} in the sandbox")

    async def remember_workdir(self, lister: Lister) -> None:
        """List the working directory now, to find its changes by comparison later."""
        self._listing = await self._list_workdir(lister)

    async def changed(self, lister: Lister, image_archives: ImageArchives) -> list[FileChange]:
        """Paths added, modified or deleted since start.

        Directories that only changed because something below them did are left out, and so is
        what the engine itself made at start; a deleted directory is named by the files that
        were below it (see the module docs).
        """
        entries = await self._guard(self._api.diff, self._id) or []
        kinds = {entry["Path"]: _KIND_NAMES.get(entry["Kind"], "modified") for entry in entries}
        deleted = sorted(path for path, kind in kinds.items() if kind == "deleted")
        if deleted:
            for path in await _files_below(deleted, image_archives):
                kinds.setdefault(path, "deleted")
        if self._listing is not None:
            kinds.update(_compare(self._listing, await self._list_workdir(lister)))
        # Found by ancestry, not by sorting: "/a/b.txt" sorts between "/a/b" and "/a/b/c".
        parents = {str(parent) for path in kinds for parent in PurePosixPath(path).parents}
        # The engine creates a missing working directory (and its parents) at start.
        workdir_chain = {self._workdir, *map(str, PurePosixPath(self._workdir).parents)}
        return [
            FileChange(path=path, kind=kind)
            for path, kind in sorted(kinds.items())
            if path not in parents
            and path not in _ENGINE_PATHS
            and not (kind == "added" and path in workdir_chain)
        ]

    async def _list_workdir(self, lister: Lister) -> dict[str, str]:
        listed = await lister(_LISTING.format(directory=shlex.quote(self._workdir)))
        if listed.exit_code != 0:
            raise SandboxError(
                f"cannot list {self._workdir} to find its changes: {listed.output[-500:]}"
            )
        found = {}
        for entry in listed.output.split("\0"):
            fields = entry.split(" ", 4)  # type, mode, size, time, path (which may hold spaces)
            if len(fields) == 5:
                found[str(PurePosixPath(self._workdir, fields[4]))] = " ".join(fields[:4])
        return found


def _own(info: tarfile.TarInfo, owner: SandboxUser | None) -> None:
    if owner is not None and owner.uid is not None and owner.gid is not None:
        info.uid, info.gid, info.uname, info.gname = owner.uid, owner.gid, owner.name, owner.name


async def _files_below(directories: list[str], image_archives: ImageArchives) -> list[str]:
    """The paths of what was below those of ``directories`` that were directories in the
    image, but its directories (those beyond the limit give none)."""
    try:
        archives = await image_archives(directories, DELETED_LISTING_LIMIT)
    except (SandboxError, ImageNotFoundError, docker.errors.DockerException) as exc:
        # The changes are still right, only less detailed: not a reason to fail a rollout
        # (the image may have been removed since the sandbox started, say).
        log.warning("cannot read deleted directories from the image", error=str(exc))
        return []
    below: list[str] = []
    for directory, archive in archives.items():
        if archive is None:
            continue
        parent = PurePosixPath(directory).parent  # archive names start with the directory's
        try:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as members:
                below += [str(parent / item.name) for item in members if not item.isdir()]
        except tarfile.TarError as exc:
            log.warning("cannot read a deleted directory from the image", error=str(exc))
    return below


def _compare(before: dict[str, str], after: dict[str, str]) -> dict[str, ChangeKind]:
    """The changes between two listings of ``_LISTING``. A directory is added or deleted, never
    modified: its time moves with its entries (a temporary file made and removed), and a change
    below it names itself."""
    kinds: dict[str, ChangeKind] = {}
    for path in before.keys() - after.keys():
        kinds[path] = "deleted"
    for path, facts in after.items():
        if path not in before:
            kinds[path] = "added"
        elif before[path] != facts and not (facts.startswith("d ") and before[path][0] == "d"):
            kinds[path] = "modified"
    return kinds
