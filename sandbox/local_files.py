"""The local backend's files: scratch roots, their manifests, snapshots and carried shell state.

A local snapshot is a copy of a sandbox's root; beside it, ``<snapshot>.shell-state`` carries
the persistent shell's checkpoint, which names host paths under the root it was taken in (the
working directory, ``PWD``). A sandbox started from the snapshot installs the checkpoint with
its own root in their place.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from understudy.protocols import ChangeKind
from understudy.sandbox.shell_session import CHECKPOINT_NAME

TAKE_OVER = "local-once:"
"""An image named ``local-once:<directory>`` is a scratch directory that the one sandbox started
from it takes over (moved, not copied): the state at a cut, made for one rollout."""
ROOT_LINE = b"# understudy-local-root: "
"""First line of a snapshot's carried shell state: the root it was taken in. The state names
host paths under that root (the working directory); a sandbox started from the snapshot puts
its own root in their place."""

Manifest = dict[str, tuple[int, int]]
"""Size and mtime of each file, by sandbox path; ``DIRECTORY`` for each directory."""
DIRECTORY = (-1, -1)
"""A directory's entry in a manifest: it is there or not (its mtime moves with its entries)."""


def local_cache_dir() -> Path:
    """Where the local backend keeps snapshots and built environments (read at each call, so
    that ``XDG_CACHE_HOME`` set after import counts)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "understudy"


def carried_state(snapshot: Path) -> Path:
    """Where a local snapshot keeps the persistent shell's state (beside its files)."""
    return snapshot.with_name(snapshot.name + ".shell-state")


def manifest(root: Path) -> Manifest:
    """Size and mtime of every file below ``root``, and each directory, by sandbox path."""
    entries: Manifest = {}
    for directory, directories, files in os.walk(root):
        for name in directories:
            entries["/" + Path(directory, name).relative_to(root).as_posix()] = DIRECTORY
        for name in files:
            path = Path(directory, name)
            stat = path.lstat()
            entries["/" + path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return entries


def manifest_changes(before: Manifest, now: Manifest) -> list[tuple[str, ChangeKind]]:
    """``(path, kind)`` of what differs between two manifests, sorted by path: files added,
    modified or deleted; a directory only when it was added or deleted and nothing below it
    changed (as the Docker backend names them)."""
    kinds: dict[str, ChangeKind] = dict.fromkeys(now.keys() - before.keys(), "added")
    kinds.update(dict.fromkeys(before.keys() - now.keys(), "deleted"))
    # Two directories are equal entries: a directory is never modified itself.
    kinds.update(
        (path, "modified") for path in now.keys() & before.keys() if now[path] != before[path]
    )
    parents = {str(parent) for path in kinds for parent in PurePosixPath(path).parents}
    return sorted((path, kind) for path, kind in kinds.items() if path not in parents)


def copy_into(source: Path, root: Path) -> None:
    """Copy the content of ``source`` into the directory ``root``."""
    shutil.copytree(source, root, symlinks=True, dirs_exist_ok=True)


def move_into(source: Path, root: Path) -> None:
    """Move ``source`` to ``root`` (an empty directory), copying only across file systems."""
    try:
        os.replace(source, root)
    except OSError:
        copy_into(source, root)
        shutil.rmtree(source, ignore_errors=True)


def carry_shell_state(checkpoint: Path, snapshot: Path, root: Path) -> None:
    """Keep the shell checkpoint of a sandbox rooted at ``root`` beside its snapshot."""
    carried_state(snapshot).write_bytes(ROOT_LINE + bytes(root) + b"\n" + checkpoint.read_bytes())


def restore_shell_state(carried: Path, shell_dir: Path, root: Path) -> None:
    """Install a snapshot's carried shell state, its old root replaced by ``root``."""
    state = carried.read_bytes()
    if state.startswith(ROOT_LINE):
        first, _, state = state.partition(b"\n")
        state = state.replace(first.removeprefix(ROOT_LINE), bytes(root))
    (shell_dir / CHECKPOINT_NAME).write_bytes(state)
