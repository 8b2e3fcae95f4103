"""LocalSandbox: subprocesses in a scratch directory. No isolation at all.

It exists so that understudy still runs where no Docker engine is reachable. Commands run on
this machine as the current user, with the network of this machine; only the working tree is a
scratch copy. Sandbox paths are mapped into the scratch root (``/workspace/a.py`` ->
``<root>/workspace/a.py``), but a command that names a host path reaches the host.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
import warnings
from pathlib import Path, PurePosixPath

from understudy.errors import (
    ImageNotFoundError,
    SandboxError,
    SandboxFileNotFoundError,
)
from understudy.logging import get_logger
from understudy.protocols import ExecResult, FileChange
from understudy.sandbox.config import BASE_IMAGE, SandboxConfig
from understudy.sandbox.containers import in_thread_to_completion
from understudy.sandbox.lifecycle import Env, SandboxLifecycle
from understudy.sandbox.local_files import (
    TAKE_OVER,
    carried_state,
    carry_shell_state,
    copy_into,
    local_cache_dir,
    manifest,
    manifest_changes,
    move_into,
    restore_shell_state,
)
from understudy.sandbox.local_shell import LocalShellTransport, shell_status
from understudy.sandbox.output import OutputCollector
from understudy.sandbox.shell_session import CHECKPOINT_NAME, ShellSession
from understudy.sandbox.strays import stop_tree
from understudy.sandbox.tracking import forget, track

log = get_logger("sandbox.local")

NO_ISOLATION_WARNING = (
    "LocalSandbox has NO isolation: commands run on this machine as this user, with its network "
    "and its files. Use the docker backend for anything you would not run by hand."
)

_warned = False


class LocalSandbox(SandboxLifecycle):
    """A sandbox in a scratch directory on this machine."""

    def __init__(self, root: Path, config: SandboxConfig, owns_root: bool = True) -> None:
        self._root = root
        self._config = config
        self._owns_root = owns_root
        """Closing removes the root (False: a directory lent by the caller, left in place)."""
        self._closed = False
        self._start_manifest = manifest(root)
        self._shell_dir = Path(tempfile.mkdtemp(prefix="understudy-shell-"))
        """The persistent shell's checkpoint lives here, outside the root (not a change)."""
        self._shell: ShellSession | None = None

    @classmethod
    async def start(cls, config: SandboxConfig | None = None) -> LocalSandbox:
        """Copy ``config.image`` (a directory, or a local snapshot id) into a new scratch root;
        a ``local-once:`` directory is moved there instead."""
        config = config or SandboxConfig()
        if config.read_only_root or config.disk_limit is not None:
            raise SandboxError(
                "the local backend can neither make the root read-only nor limit the disk: it "
                "runs commands on this machine as it is; use the docker backend"
            )
        _warn_no_isolation()
        # Checked before the scratch root exists, so a bad image leaves nothing behind.
        source = cls._image_dir(config.image)
        take_over = config.image.startswith(TAKE_OVER)
        root = Path(tempfile.mkdtemp(prefix=f"understudy-{config.run_id}-"))
        if source is not None:
            place = move_into if take_over else copy_into
            try:
                # To completion: the copy must be over before a cancelled start removes it.
                await in_thread_to_completion(place, source, root)
            except BaseException:
                shutil.rmtree(root, ignore_errors=True)
                raise
        cls.host_path(root, config.workdir).mkdir(parents=True, exist_ok=True)
        sandbox = cls(root, config)
        track(sandbox.id, sandbox._remove_now)
        if source is not None and carried_state(source).exists():
            restore_shell_state(carried_state(source), sandbox._shell_dir, root)
            if take_over:
                carried_state(source).unlink()
        if take_over:
            forget(config.image)  # its maker tracked it for removal at exit; it is ours now
        return sandbox

    @classmethod
    def in_place(cls, root: Path, config: SandboxConfig) -> LocalSandbox:
        """A sandbox whose root is ``root`` itself, not a copy; closing it leaves ``root``.

        For building what other sandboxes start from (a local environment's setup commands).
        """
        _warn_no_isolation()
        cls.host_path(root, config.workdir).mkdir(parents=True, exist_ok=True)
        sandbox = cls(root, config, owns_root=False)
        track(sandbox.id, sandbox._remove_now)
        return sandbox

    @staticmethod
    def _image_dir(image: str) -> Path | None:
        if image == BASE_IMAGE:
            return None  # the base image has no files the local backend needs
        path = Path(image.removeprefix(TAKE_OVER).removeprefix("local:"))
        if not path.is_dir():
            raise ImageNotFoundError(
                f"the local backend starts from a directory or a local snapshot; "
                f"{image!r} is neither"
            )
        return path

    async def _remove(self) -> None:
        if self._shell is not None:
            await self._shell.close()
        await asyncio.to_thread(self._remove_now)

    def _remove_now(self) -> None:
        if self._owns_root:
            shutil.rmtree(self._root, ignore_errors=True)
        shutil.rmtree(self._shell_dir, ignore_errors=True)

    @property
    def id(self) -> str:
        """The scratch root."""
        return str(self._root)

    @staticmethod
    def host_path(root: Path, path: str) -> Path:
        """Where sandbox path ``path`` is on the host, for a sandbox rooted at ``root``."""
        relative = PurePosixPath("/", path).relative_to("/")
        return root / relative

    def _resolve(self, path: str) -> Path:
        return self.host_path(self._root, str(PurePosixPath(self._config.workdir, path)))

    async def _run(
        self, cmd: str, timeout: float, workdir: str | None, env: Env, persistent: bool
    ) -> ExecResult:
        """Run ``cmd`` with bash in a session of its own (for :meth:`exec`); on timeout, kill
        the session and every process below one in it (see
        :func:`~understudy.sandbox.strays.stop_tree`: a daemon whose parent has exited is out
        of reach on this machine).

        With ``persistent`` it runs in the sandbox's persistent shell (see
        :mod:`~understudy.sandbox.shell_session`).
        """
        if persistent:
            where = None if workdir is None else str(self._resolve(workdir))
            return await self._persistent_shell().run(cmd, timeout, where, env)
        cwd = self._resolve(workdir or ".")
        started = time.monotonic()
        if not cwd.is_dir():
            shown = PurePosixPath(self._config.workdir, workdir or ".")
            message = f"cd: {shown}: No such file or directory\n"
            return ExecResult(exit_code=126, output=message, output_bytes=len(message))
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            cmd,
            cwd=cwd,
            env={**os.environ, **self._config.env, **(env or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        collector = OutputCollector(self._config.output_limit_bytes)
        timed_out = finished = False
        try:
            await asyncio.wait_for(self._pump(process, collector), timeout)
            finished = True
        except TimeoutError:
            timed_out = True
        finally:
            # Timed out or cancelled: kill the tree even when bash itself has exited, since
            # what it started in the background may still hold the output open. Blocking, but
            # for milliseconds, and so it also runs to the end under a cancellation.
            if not finished:
                stop_tree(process.pid)
        exit_code = shell_status(await process.wait())
        return collector.result(exit_code, started, timed_out=timed_out)

    def _persistent_shell(self) -> ShellSession:
        if self._shell is None:
            transport = LocalShellTransport(self._resolve("."), {**os.environ, **self._config.env})
            self._shell = ShellSession(
                transport,
                stateful=True,
                state_dir=str(self._shell_dir),
                output_limit=self._config.output_limit_bytes,
            )
        return self._shell

    @staticmethod
    async def _pump(process: asyncio.subprocess.Process, collector: OutputCollector) -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            collector.add(chunk)
        await process.wait()

    async def read_file(self, path: str) -> bytes:
        """The bytes of a regular file."""
        self._check_open()
        target = self._resolve(path)
        if not target.exists():
            raise SandboxFileNotFoundError(f"no such file in the sandbox: {path}")
        if not target.is_file():
            raise SandboxError(f"not a regular file in the sandbox: {path}")
        return await asyncio.to_thread(target.read_bytes)

    async def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Create or replace a file (parent directories are created)."""
        self._check_open()
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(target.write_bytes, data)
        target.chmod(mode)

    async def changed_files(self) -> list[FileChange]:
        """Files added, modified (by size and modification time) or deleted since start, and
        directories added or deleted with nothing changed below them."""
        self._check_open()
        now = await asyncio.to_thread(manifest, self._root)
        changes = manifest_changes(self._start_manifest, now)
        return [FileChange(path=path, kind=kind) for path, kind in changes]

    async def snapshot(self, target: Path | None = None) -> str:
        """Copy the scratch root to ``target`` (default: a new directory of the snapshot cache);
        the id returned starts a new LocalSandbox."""
        self._check_open()
        target = target or local_cache_dir() / "local-snapshots" / uuid.uuid4().hex[:12]
        await asyncio.to_thread(shutil.copytree, self._root, target, symlinks=True)
        checkpoint = self._shell_dir / CHECKPOINT_NAME
        if checkpoint.exists():  # the persistent shell's state goes with the files
            carry_shell_state(checkpoint, target, self._root)
        return f"local:{target}"


def _warn_no_isolation() -> None:
    """The warning every start gives; the log line only once per process (a run starts many)."""
    global _warned
    warnings.warn(NO_ISOLATION_WARNING, RuntimeWarning, stacklevel=3)
    if not _warned:
        _warned = True
        log.warning("no isolation", backend="local")
