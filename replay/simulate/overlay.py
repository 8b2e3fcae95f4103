"""A copy-on-write view of a rollout's container, for simulating file tools.

A simulated file edit must be seen by a later simulated read, and a simulated read must show
what the container holds, yet a simulated call must not change the container (it was not
executed). The overlay gives both: reads see the files simulated calls wrote (or deleted), and
the container's own files beneath them; writes stay in the overlay. The canonical file tools
(:mod:`understudy.tools.files`, :mod:`understudy.tools.patch`) run on it unchanged, so a
simulated edit is answered in exactly the words and numbering the real tool prints.

Commands are passed to the container only for the read-only probes the file tools make (a
file's mode, a directory listing); they do not see the overlay, so a new file's mode is the
default and a directory listing shows the container's files.
"""

from __future__ import annotations

from collections.abc import Mapping

from understudy.errors import SandboxError, SandboxFileNotFoundError
from understudy.protocols import ExecResult, FileChange, Sandbox
from understudy.tools.common import sandbox_path


class OverlaySandbox:
    """The files simulated calls wrote, over a container that never sees them."""

    def __init__(self, below: Sandbox) -> None:
        self._below = below
        self.files: dict[str, bytes | None] = {}
        """Content written by simulated calls, by absolute path (None: deleted)."""

    @property
    def id(self) -> str:
        return f"overlay:{self._below.id}"

    @property
    def workdir(self) -> str:
        return self._below.workdir

    def full_path(self, path: str) -> str:
        """``path`` as an absolute, normalized path (relative paths start at ``workdir``)."""
        return sandbox_path(self, path)

    def holds(self, path: str) -> bool:
        """Whether a simulated call wrote or deleted ``path``."""
        return self.full_path(path) in self.files

    async def exec(
        self,
        cmd: str,
        timeout: float | None = None,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        persistent: bool = False,
    ) -> ExecResult:
        """Run a read-only probe in the container (it does not see the overlay)."""
        return await self._below.exec(cmd, timeout, workdir, env)

    async def read_file(self, path: str) -> bytes:
        full = self.full_path(path)
        if full in self.files:
            data = self.files[full]
            if data is None:
                raise SandboxFileNotFoundError(f"{path}: no such file")
            return data
        return await self._below.read_file(path)

    async def exists(self, path: str) -> bool:
        """Whether ``path`` is a file or directory in the overlay or the container."""
        try:
            await self.read_file(path)
        except SandboxFileNotFoundError:
            return False
        except SandboxError:  # a directory, or a file the container cannot hand over
            return True
        return True

    async def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.files[self.full_path(path)] = data

    async def changed_files(self) -> list[FileChange]:
        """The paths simulated calls wrote or deleted."""
        return [
            FileChange(path=path, kind="deleted" if data is None else "modified")
            for path, data in sorted(self.files.items())
        ]

    async def snapshot(self) -> str:
        raise SandboxError("a simulation overlay cannot be snapshotted")

    async def close(self) -> None:
        """Nothing to release: the container belongs to the rollout."""
