"""A git repository of given files, committed at a fixed date.

The same files make the same commit, and so the same environment image (cached by the spec),
on every run: a second demo or suite run reuses the images of the first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import git

__all__ = ["FIXED_DATE", "write_fixed_repo"]

FIXED_DATE = "1767225600 +0000"
"""2026-01-01 00:00 UTC, in git's raw format: the date of every such commit."""


def write_fixed_repo(
    path: Path,
    files: Mapping[str, str],
    message: str,
    author: str,
    executable: Collection[str] = (),
) -> Path:
    """Make ``path`` a git repository holding ``files`` (relative path -> text) in one commit
    by ``author``; the paths in ``executable`` get the executable bit."""
    repo = git.Repo.init(path)
    try:
        for name, text in files.items():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            if name in executable:
                target.chmod(0o755)
        repo.git.add("--all")
        actor = git.Actor(author, "understudy@understudy.invalid")
        repo.index.commit(
            message,
            author=actor,
            committer=actor,
            author_date=FIXED_DATE,
            commit_date=FIXED_DATE,
        )
    finally:
        repo.close()
    return path
