"""``--envs FILE``: rows that say where a session's code lives, and setting them on sessions.

A file of rows is JSON (a list of objects, or one object), JSONL (one object a line) or YAML (a
list of mappings). A row matches a session by ``session`` (its id), by ``instance_id`` (the
instance the importer found in the log, else the session id) or by ``match`` (a glob on the
session id); a ``session`` row wins over an ``instance_id`` row, which wins over the first
matching ``match`` row. Example::

    {"match": "legacy-*", "repo": "SWE-agent/test-repo", "commit": "HEAD", "workdir": "/repo"}
    {"session": "s1", "path": "/srv/git/app", "commit": "4b1c0e2", "pip_install": ["-e", "."]}

Rows in the published SWE-bench dataset shape (``instance_id``, ``repo`` as owner/name,
``base_commit``, optional ``version``, ``environment_setup_commit``, ...) are taken as they are:
``owner/name`` is ``https://github.com/owner/name``, and one without ``pip_install`` installs the
repository as the SWE-bench harness did (:mod:`understudy.replay.swe_bench_installs`; recorded as
``pip_install_from``). A row sets only the fields it gives; a row
that gives ``repo`` or ``path`` replaces the session's repository, one that gives only
``commit`` pins the session's own. Each session that a row set records it in
``Session.meta["env_row"]`` (file, line, what matched).
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from understudy.errors import ConfigError
from understudy.replay.swe_bench_installs import harness_install
from understudy.trajectory import EnvSpec, RepoSpec, Session

__all__ = ["EnvRow", "EnvRows", "load_env_rows"]

SWE_BENCH_FIELDS = frozenset(
    {
        "patch",
        "test_patch",
        "problem_statement",
        "hints_text",
        "created_at",
        "FAIL_TO_PASS",
        "PASS_TO_PASS",
        "difficulty",
        "image_name",
    }
)
"""Fields of SWE-bench dataset rows that say nothing about the environment; they are ignored."""

_OWNER_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class EnvRow(BaseModel):
    """One row of an ``--envs`` file: which sessions it is for and their environment."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, populate_by_name=True)

    session: str | None = None
    """The id of the one session the row is for."""
    instance_id: str | None = None
    """The instance (e.g. a SWE-bench instance id) the row is for: sessions whose log names it,
    or whose id it is."""
    match: str | None = None
    """A glob on session ids (``legacy-*``); the first matching row applies."""
    image: str | None = None
    """The image to build on (the base image when it is null)."""
    repo: str | None = None
    """The repository: ``owner/name`` (GitHub), a URL, or an absolute or ``./`` local path."""
    path: str | None = None
    """A local repository to clone from (instead of ``repo``)."""
    commit: str | None = Field(default=None, validation_alias=AliasChoices("commit", "base_commit"))
    """The commit to check out (``base_commit`` in SWE-bench rows); ``HEAD`` is resolved from
    the session's start time or the files its log shows."""
    branch: str | None = None
    """A branch to check out when no commit is given."""
    workdir: str | None = None
    """Absolute path of the repository inside the environment."""
    setup: list[str] | None = None
    """Shell commands run in ``workdir`` once the repository is in place."""
    env: dict[str, str] | None = None
    """Environment variables for every command."""
    pip_install: list[str] | None = None
    """Arguments of a ``pip install`` run in ``workdir`` when the environment is built, as the
    logged harness installed the repository (``["-e", ".[dev]"]``): the host makes a wheelhouse
    of the requirements, the sandbox installs from it with ``--no-index`` (no network)."""
    version: str | None = None
    """SWE-bench's version of the repository (recorded, not used)."""
    environment_setup_commit: str | None = None
    """SWE-bench's commit its environment was set up from (recorded, not used)."""

    @model_validator(mode="after")
    def _names_sessions(self) -> EnvRow:
        if not (self.session or self.instance_id or self.match):
            raise ValueError("a row needs session, instance_id or match to say which sessions")
        if self.workdir is not None and not self.workdir.startswith("/"):
            raise ValueError(f"workdir {self.workdir!r} must be an absolute path")
        return self

    def repo_spec(self, own: RepoSpec | None) -> RepoSpec | None:
        """The repository of a session whose own is ``own``, as this row sets it."""
        pinned = {"commit": self.commit} if self.commit else {}
        if self.branch:
            pinned["branch"] = self.branch
        if self.repo is None and self.path is None:
            return own.model_copy(update=pinned) if own is not None and pinned else own
        url, path = self.repo, self.path
        if url is not None and (url.startswith(("/", "./", "../")) or Path(url).is_dir()):
            url, path = None, path or url
        elif url is not None and _OWNER_NAME.match(url):
            url = f"https://github.com/{url}"
        return RepoSpec(url=url, path=path, commit=self.commit, branch=self.branch)

    def applied_to(self, env: EnvSpec) -> EnvSpec:
        """``env`` with the fields this row gives replaced."""
        update: dict[str, Any] = {"repo": self.repo_spec(env.repo)}
        given = self.model_fields_set
        if "image" in given:
            update["image"] = self.image
        for name in ("workdir", "setup", "env"):
            value = getattr(self, name)
            if value is not None:
                update[name] = value
        install = self.pip_install if self.pip_install is not None else self.harness_install()
        if install is not None:
            update["pip_install"] = install
        return env.model_copy(update=update)

    def harness_install(self) -> list[str] | None:
        """For a row in the SWE-bench dataset shape (``instance_id``, ``repo`` as owner/name,
        ``base_commit``) that gives no ``pip_install``: the harness's install of the repository
        (:mod:`understudy.replay.swe_bench_installs`), else None."""
        if self.pip_install is not None or not (self.instance_id and self.commit and self.repo):
            return None
        return harness_install(self.repo) if _OWNER_NAME.match(self.repo) else None


class EnvRows:
    """The rows of one ``--envs`` file, with where each came from."""

    def __init__(self, path: Path, rows: list[tuple[int, EnvRow]]):
        self.path = path
        self.rows = rows
        self._check_unique("session")
        self._check_unique("instance_id")

    def _check_unique(self, key: str) -> None:
        seen: dict[str, int] = {}
        for line, row in self.rows:
            value = getattr(row, key)
            if value is None:
                continue
            if value in seen:
                raise ConfigError(
                    f"{self.path}:{line}: {key} {value!r} has a row already at line {seen[value]}"
                )
            seen[value] = line

    def find(self, session: Session) -> tuple[int, EnvRow, str] | None:
        """The row for ``session`` (its line, the row, and what matched), or None."""
        instance = session.source.instance_id or session.id
        for key in ("session", "instance_id", "match"):
            for line, row in self.rows:
                if _matches(row, key, session.id, instance):
                    return line, row, key
        return None

    def apply(self, sessions: list[Session]) -> list[Session]:
        """The sessions with the environments their rows set, each noting its row."""
        applied = []
        for session in sessions:
            found = self.find(session)
            if found is None:
                applied.append(session)
                continue
            line, row, key = found
            record = {"file": str(self.path), "line": line, "by": key, key: getattr(row, key)}
            for extra in ("version", "environment_setup_commit"):
                if getattr(row, extra) is not None:
                    record[extra] = getattr(row, extra)
            if row.harness_install() is not None:
                record["pip_install_from"] = "the SWE-bench harness's install of " + str(row.repo)
            applied.append(
                session.model_copy(
                    update={
                        "env": row.applied_to(session.env),
                        "meta": {**session.meta, "env_row": record},
                    }
                )
            )
        return applied


def _matches(row: EnvRow, key: str, session_id: str, instance: str) -> bool:
    if key == "session":
        return row.session == session_id
    if key == "instance_id":
        return row.instance_id == instance
    return row.match is not None and fnmatch.fnmatchcase(session_id, row.match)


def load_env_rows(path: Path) -> EnvRows:
    """The rows of an ``--envs`` file; a bad row is a ConfigError naming the file, line and
    field."""
    if not path.is_file():
        raise ConfigError(f"--envs {path}: no such file")
    text = path.read_text(encoding="utf-8")
    raw = _jsonl_rows(path, text) if path.suffix == ".jsonl" else _document_rows(path, text)
    rows = []
    for line, value in raw:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}:{line}: a row must be an object, not {type(value).__name__}")
        fields = {key: item for key, item in value.items() if key not in SWE_BENCH_FIELDS}
        try:
            rows.append((line, EnvRow.model_validate(fields)))
        except ValidationError as exc:
            raise ConfigError(f"{path}:{line}: {_first_problem(exc)}") from None
    return EnvRows(path, rows)


def _jsonl_rows(path: Path, text: str) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}:{number}: not JSON: {exc.msg} (column {exc.colno})"
            ) from None
    return rows


def _document_rows(path: Path, text: str) -> list[tuple[int, Any]]:
    """The rows of a JSON or YAML document (YAML reads JSON too, with line numbers)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: cannot read the rows: {exc}") from None
    if node is None:
        return []
    if isinstance(data, dict):
        return [(node.start_mark.line + 1, data)]
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise ConfigError(f"{path}: give a list of rows (or one row), not {type(data).__name__}")
    return [(item.start_mark.line + 1, row) for item, row in zip(node.value, data, strict=True)]


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = ", ".join(sorted([*EnvRow.model_fields, "base_commit"]))
        return f"field {field!r} is not a row field (the fields: {known})"
    return (
        f"field {field!r}: {error['msg']}" if field else error["msg"].removeprefix("Value error, ")
    )
