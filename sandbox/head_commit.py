"""Which commit a log's ``HEAD`` was: the last one at or before the session started, or the one
whose tree agrees best with what the log shows of it.

SWE-agent's test-repo logs say ``base_commit: HEAD``: whatever the default branch pointed at when
the session ran. With a start time, that is the last commit at or before it. Without one, the
files the log shows (file contents, with or without line numbers, and names from listings) are
compared with the trees of the newest commits (at most ``limit``) and, further back, of the last
commit before each change to the paths the log shows, and the commit that agrees with most of
them wins; on a tie, the newer one.
"""

from __future__ import annotations

import fnmatch
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

import git

from understudy.errors import EnvBuildError
from understudy.sandbox.envspec import git_reason

__all__ = ["SEARCH_LIMIT", "History", "TreeEvidence"]

SEARCH_LIMIT = 200
"""Most commits compared with the log, newest first."""
BLOB_WEIGHT = 100
"""What a file whose blob id is the one a logged diff gives counts: the whole file agrees."""
MAX_CHANGES = 2000
"""Most commits that changed the evidence's paths whose parents are compared too."""
MAX_PATHS = 200
"""Most paths of the evidence whose changes are looked up."""
SEARCH_WEIGHT = 10
"""What a search whose matches a tree gives exactly counts, against 1 per name or line shown:
a search lists every match, so it tells commits apart that names and contents cannot."""


@dataclass
class TreeEvidence:
    """What a log shows of the repository before it changed anything."""

    files: dict[str, list[tuple[int | None, str]]] = field(default_factory=dict)
    """Per path (relative to the repository): lines shown, with their line number when the
    output numbered them."""
    names: set[str] = field(default_factory=set)
    """Paths (relative to the repository) or bare names that listings showed."""
    searches: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """Per (file name pattern, directory searched, relative; ``.`` for the whole repository):
    every path a search for it found, so a commit with more or fewer matches disagrees."""
    blobs: dict[str, str] = field(default_factory=dict)
    """Per path: the (abbreviated) blob id a git diff in the log gives for the file as it was
    before the session changed it (``index 20edef5..5857437``)."""

    def __bool__(self) -> bool:
        return bool(self.files or self.names or self.searches or self.blobs)

    def example(self) -> str:
        """One thing the log showed, for messages."""
        shown = sorted(self.files) or sorted(self.blobs) or sorted(self.names)
        return shown[0] if shown else ""


class History:
    """A bare clone of a repository's history, to pick a commit from."""

    def __init__(self, source: str):
        self._scratch = tempfile.TemporaryDirectory(prefix="understudy-history-")
        try:
            self.repo = git.Repo.clone_from(source, self._scratch.name, bare=True)
        except git.exc.GitCommandError as exc:
            self._scratch.cleanup()
            raise EnvBuildError(f"cannot clone {source}: {git_reason(exc)}") from exc
        self._blobs: dict[str, list[str] | None] = {}

    def close(self) -> None:
        """Remove the clone."""
        self._scratch.cleanup()

    def commit_at(self, when: datetime) -> str | None:
        """The last commit of the default branch at or before ``when``, or None."""
        found = self.repo.git.rev_list("-1", f"--before={when.isoformat()}", "HEAD")
        return found.strip() or None

    def most_consistent(self, evidence: TreeEvidence, limit: int = SEARCH_LIMIT) -> str:
        """The commit whose tree agrees with most of ``evidence``: among the newest ``limit``,
        and the commits where what the evidence names last changed before a newer one (the
        newest commit of each stretch over which the evidence's paths stay the same), so that
        an old base is found in a long history."""
        commits = str(self.repo.git.rev_list("HEAD")).split()
        if not commits:
            raise EnvBuildError("the repository has no commits")
        candidates = set(commits[:limit]) | self._stretch_ends(evidence, commits, limit)
        best, best_score = commits[0], -1
        for commit in commits:
            if commit not in candidates:
                continue
            score = self._score(commit, evidence)
            if score > best_score:
                best, best_score = commit, score
        return best

    def _stretch_ends(self, evidence: TreeEvidence, commits: list[str], limit: int) -> set[str]:
        """The parents of the (newest ``MAX_CHANGES``) commits that changed a path the evidence
        names: the newest commit before each change."""
        named = (name for name in evidence.names if "/" in name)
        paths = sorted({*evidence.blobs, *evidence.files, *named})
        paths += sorted({directory for _, directory in evidence.searches if directory != "."})
        if not paths or len(commits) <= limit:
            return set()
        changed = str(
            self.repo.git.rev_list(f"--max-count={MAX_CHANGES}", "HEAD", "--", *paths[:MAX_PATHS])
        ).split()
        parents = str(self.repo.git.rev_list("--no-walk", "--parents", *changed)) if changed else ""
        return {line.split()[1] for line in parents.splitlines() if len(line.split()) > 1}

    def _score(self, commit: str, evidence: TreeEvidence) -> int:
        tree: dict[str, str] = {}
        for line in self.repo.git.ls_tree("-r", commit).splitlines():
            meta, _, path = line.partition("\t")
            tree[path] = meta.split()[-1]
        parts = {part for path in tree for part in PurePosixPath(path).parts}
        score = sum(1 for name in evidence.names if name in tree or name in parts)
        for (pattern, directory), listed in evidence.searches.items():
            inside = "" if directory == "." else directory.rstrip("/") + "/"
            found = {
                path
                for path in tree
                if path.startswith(inside)
                and fnmatch.fnmatchcase(PurePosixPath(path).name, pattern)
            }
            score += SEARCH_WEIGHT if found == listed else 0
        for path, blob in evidence.blobs.items():
            score += BLOB_WEIGHT if tree.get(path, "").startswith(blob) else 0
        for path, shown in evidence.files.items():
            lines = self._lines(tree.get(path))
            if lines is None:
                continue
            present = set(lines)
            score += 1
            for number, text in shown:
                if number is None:
                    score += text in present
                else:
                    score += 0 < number <= len(lines) and lines[number - 1] == text
        return score

    def _lines(self, blob: str | None) -> list[str] | None:
        if blob is None:
            return None
        if blob not in self._blobs:
            try:
                text = self.repo.git.cat_file("-p", blob, strip_newline_in_stdout=False)
            except git.exc.GitCommandError:
                text = None
            self._blobs[blob] = (
                None if text is None else [line.rstrip() for line in text.splitlines()]
            )
        return self._blobs[blob]
