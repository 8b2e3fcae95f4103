"""A session's environment as it is built: the repository's clone source and commit resolved.

Before a session's environment is built (for ``run`` and ``fidelity``), :class:`EnvResolver`

* refuses a session whose log works in a repository it cannot name: a repository spec with
  neither URL nor path (Claude Code logs name only the branch), or no repository and no image
  while the log reads files that were there before the agent wrote any
  (:func:`~understudy.replay.tree_evidence.tree_evidence`); the error says to pass ``--envs``;
* maps the repository URL through the ``--repo-mirror`` rules
  (:mod:`understudy.sandbox.repo_source`), so the env builder clones the mirror;
* resolves ``commit: HEAD`` to a commit (:mod:`understudy.sandbox.head_commit`): the last one
  at or before the session's first timestamp, else the newest one most consistent with the
  files the log shows;
* with ``workspace="auto"`` (the default of ``run`` and ``fidelity``), builds the workspace
  from the log instead (:mod:`understudy.replay.workspace`) when the repository cannot be had
  (not named, or its URL not reachable and no mirror given; or no repository named and the
  session's own image not here) and the log shows files to build it from;
  ``workspace="log"`` always does, ``workspace="repo"`` never does (the errors above).

What it decided is the record kept in ``rollout.meta["env"]`` and in the fidelity result:
``source``, ``url`` (as logged), ``mirror`` (the rule used), ``commit``, ``chosen_by``
(``given``, ``session_time``, ``log_consistency``, ``newest`` or ``default_branch``) and ``row``
(the ``--envs`` row that set the environment, see :mod:`understudy.replay.env_rows`),
``pip_install`` (the requirements installed at build time, when the row gives them or, for a
repository, the log's own first ``pip install`` does, see :mod:`understudy.replay.logged_installs`:
``pip_install_from`` then says so; what was installed, ``pip freeze``, is added as
``installed`` once the environment is built); a
workspace from the log is recorded as ``source: "log"`` and ``workspace`` (its
:class:`~understudy.replay.workspace.WorkspaceCoverage`, with the reason it was used).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, Literal, overload

import git

from understudy.errors import EnvBuildError
from understudy.logging import get_logger
from understudy.replay.logged_installs import logged_pip_install
from understudy.replay.redact.placeholders import has_placeholder
from understudy.replay.tree_evidence import tree_evidence
from understudy.replay.workspace import log_workspace
from understudy.replay.workspace_facts import git_baseline, logged_workdir, shows_git_repository
from understudy.sandbox.envspec import git_reason
from understudy.sandbox.head_commit import History
from understudy.sandbox.repo_source import MirrorRule, apply_mirrors
from understudy.trajectory import EnvSpec, RepoSpec, Session

__all__ = ["WORKSPACE_MODES", "EnvResolver", "WorkspaceMode", "resolve_env"]

log = get_logger("replay.env_resolution")

WorkspaceMode = Literal["auto", "log", "repo"]
"""Where a session's files come from: its repository when it can be had, else its log
(``auto``); always its log (``log``); only its repository (``repo``)."""
WORKSPACE_MODES: tuple[WorkspaceMode, ...] = ("auto", "log", "repo")
PROBE_TIMEOUT_S = 30
"""Most seconds asking a remote repository whether it answers."""

ENVS_HINT = (
    "pass --envs FILE with a row for it, e.g. "
    '{"session": "{id}", "repo": "owner/name", "commit": "<sha>"} '
    '(a local repository: "path": "/srv/git/name")'
)
MIRROR_HINT = (
    "pass --repo-mirror 'https://github.com/{owner}/{name}=/srv/git/{owner}__{name}.bundle' to "
    "clone from a local copy (a directory, bare repository or git bundle)"
)


def resolve_env(
    session: Session,
    mirrors: list[MirrorRule],
    workspace: WorkspaceMode = "repo",
    has_image: Callable[[str], bool] | None = None,
) -> tuple[Session, dict[str, Any]]:
    """``session`` with its repository's source and commit resolved (or its workspace rebuilt
    from the log, see the module docstring), and the record of how."""
    record: dict[str, Any] = {}
    if "env_row" in session.meta:
        record["row"] = session.meta["env_row"]
    if session.env.pip_install:
        record["pip_install"] = session.env.pip_install
        if "pip_install_from" in record.get("row", {}):  # one place says where it came from
            record["pip_install_from"] = record["row"]["pip_install_from"]
    if workspace == "log":
        return _from_log(session, record, "asked for (--workspace log)", force=True)
    repo = session.env.repo
    if repo is None:
        return _without_repository(session, record, workspace, has_image)
    if not (repo.url or repo.path):
        known = f" (the log names only the branch {repo.branch!r})" if repo.branch else ""
        if workspace == "auto":
            return _from_log(session, record, f"its repository is not known{known}")
        raise EnvBuildError(
            f"session {session.id}: its repository is not known{known}; "
            + ENVS_HINT.replace("{id}", session.id)
        )
    if repo.url and not repo.path and has_placeholder(repo.url):
        # De-identification took a user name out of it (a personal repository's owner): no
        # clone or mirror can be had from it.
        record["url"] = repo.url
        reason = f"its repository URL was de-identified ({repo.url})"
        if workspace == "auto":
            return _from_log(session, record, reason)
        raise EnvBuildError(
            f"session {session.id}: {reason}; import the log with --no-redact, or "
            + ENVS_HINT.replace("{id}", session.id)
        )
    source = repo.path or repo.url or ""
    if repo.url and not repo.path:
        source, rule = apply_mirrors(repo.url, mirrors)
        record["url"] = repo.url
        if rule is not None:
            record["mirror"] = rule.given
        # A mirror rule may cover a whole host without holding every repository on it.
        unreachable = _unreachable(source) if workspace == "auto" else None
        if unreachable is not None:
            return _from_log(session, record, f"cannot reach {source}: {unreachable}")
    record["source"] = source
    commit, chosen_by = _commit(session, repo, source)
    record.update(commit=commit, chosen_by=chosen_by)
    resolved = RepoSpec(
        url=None if repo.path else source,
        path=repo.path,
        commit=commit,
        branch=repo.branch,
        patch=repo.patch,
    )
    update: dict[str, Any] = {"repo": resolved}
    logged = None if session.env.pip_install else logged_pip_install(session)
    if logged is not None:
        update["pip_install"] = record["pip_install"] = logged[0]
        record["pip_install_from"] = f"the log's own pip install (message {logged[1]})"
    env = session.env.model_copy(update=update)
    return session.model_copy(update={"env": env}), record


def _without_repository(
    session: Session,
    record: dict[str, Any],
    workspace: WorkspaceMode,
    has_image: Callable[[str], bool] | None,
) -> tuple[Session, dict[str, Any]]:
    """A session that names no repository: its image's files, its workspace rebuilt from the
    log (``auto``, when it has no image here), or an empty workspace; and the record of which."""
    image = session.env.image
    absent = image is not None and has_image is not None and not has_image(image)
    if workspace == "auto" and (image is None or absent):
        reason = (
            "the log names no repository or image"
            if image is None
            else f"its image {image!r} is not here and the log names no repository"
        )
        rebuilt = _from_log(session, record, reason, required=False)
        if rebuilt is not None:
            return rebuilt
    _check_workspace(session)
    record["source"] = "image" if image is not None else "empty workspace"
    record["reason"] = (
        "the log names no repository: the image's own files"
        if image is not None
        else "the log names no repository or image, and shows no file it needs"
    )
    return session, record


Resolved = tuple[Session, dict[str, Any]]


@overload
def _from_log(
    session: Session,
    record: dict[str, Any],
    reason: str,
    *,
    force: bool = False,
    required: Literal[True] = True,
) -> Resolved: ...


@overload
def _from_log(
    session: Session, record: dict[str, Any], reason: str, *, required: Literal[False]
) -> Resolved | None: ...


def _from_log(
    session: Session,
    record: dict[str, Any],
    reason: str,
    *,
    force: bool = False,
    required: bool = True,
) -> Resolved | None:
    """``session`` in the workspace its log shows (no repository; at the working directory its
    outputs show, a git repository of those files when the log used one). Without ``force``, a
    log that shows no file is the error it would have been without it, or None when the
    workspace is not ``required``."""
    workdir = logged_workdir(session)
    if workdir != session.env.workdir:
        env = session.env.model_copy(update={"workdir": workdir})
        session = session.model_copy(update={"env": env})
    branch = session.env.repo.branch if session.env.repo is not None else None
    files, coverage = log_workspace(session)
    if coverage.empty and not force:
        if not required:
            return None
        raise EnvBuildError(
            f"session {session.id}: {reason}, and the log shows no file to rebuild its "
            "workspace from; " + ENVS_HINT.replace("{id}", session.id)
        )
    coverage.reason = reason
    coverage.workdir = workdir
    coverage.git_repository = shows_git_repository(session, workdir)
    log.warning(
        "using the workspace rebuilt from the log",
        session=session.id,
        reason=reason,
        coverage=coverage.summary(),
    )
    env = EnvSpec(
        image=session.env.image,
        workdir=workdir,
        env=session.env.env,
        files=files,
        setup=[git_baseline(branch)] if coverage.git_repository else [],
    )
    record.pop("pip_install", None)  # a workspace from the log installs nothing
    record.pop("pip_install_from", None)
    record.update(source="log", workspace=coverage.model_dump())
    return session.model_copy(update={"env": env}), record


def _unreachable(url: str) -> str | None:
    """Why the repository at ``url`` (or local path) does not answer, or None when it does."""
    if "://" not in url:
        return None if Path(url).exists() else "no such file or directory"
    try:
        git.cmd.Git().ls_remote(
            "--exit-code",
            url,
            "HEAD",
            env={"GIT_TERMINAL_PROMPT": "0"},
            kill_after_timeout=PROBE_TIMEOUT_S,
        )
    except git.exc.GitCommandError as exc:
        return git_reason(exc)
    return None


def _check_workspace(session: Session) -> None:
    """A session without repository or image must not need files it would not find."""
    if session.env.image is not None:
        return
    evidence = tree_evidence(session)
    if evidence:
        raise EnvBuildError(
            f"session {session.id}: the log works on files already in {session.env.workdir} "
            f"(it shows {evidence.example()}) but names no repository or image, so the "
            "environment would be an empty base image; " + ENVS_HINT.replace("{id}", session.id)
        )


def _commit(session: Session, repo: RepoSpec, source: str) -> tuple[str | None, str]:
    """The commit to check out and how it was chosen."""
    if repo.commit is None:
        return None, "default_branch"
    if repo.commit.upper() != "HEAD":
        return repo.commit, "given"
    try:
        history = History(source)
    except EnvBuildError as exc:
        raise EnvBuildError(
            f"session {session.id}: {exc}; {MIRROR_HINT}; or "
            + ENVS_HINT.replace("{id}", session.id)
        ) from exc
    try:
        started = min((m.timestamp for m in session.messages if m.timestamp), default=None)
        if started is not None:
            moment = started if started.tzinfo else started.replace(tzinfo=UTC)
            found = history.commit_at(moment)
            if found is not None:
                return found, "session_time"
        evidence = tree_evidence(session)
        if evidence:
            return history.most_consistent(evidence), "log_consistency"
        return history.most_consistent(evidence, limit=1), "newest"
    finally:
        history.close()


@dataclass
class EnvResolver:
    """Resolves each session once (concurrent rollouts of a session wait for the first)."""

    mirrors: list[MirrorRule] = field(default_factory=list)
    """The ``--repo-mirror`` rules, in order."""
    workspace: WorkspaceMode = "repo"
    """Where sessions' files come from (see :data:`WorkspaceMode`)."""
    has_image: Callable[[str], bool] | None = None
    """Whether a session's own image is here (:meth:`EnvBuilds.has_image`); a session whose
    image is not, and whose log names no repository, gets the workspace its log shows."""
    _done: dict[str, tuple[Session, dict[str, Any]] | EnvBuildError] = field(
        default_factory=dict, init=False, repr=False
    )
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    async def resolve(self, session: Session) -> tuple[Session, dict[str, Any]]:
        """:func:`resolve_env` of ``session``, computed once; its EnvBuildError every time."""
        async with self._locks.setdefault(session.id, asyncio.Lock()):
            if session.id not in self._done:
                try:
                    self._done[session.id] = await asyncio.to_thread(
                        resolve_env, session, self.mirrors, self.workspace, self.has_image
                    )
                except EnvBuildError as exc:
                    self._done[session.id] = exc
            done = self._done[session.id]
        if isinstance(done, EnvBuildError):
            raise done
        return done
