"""The pair database's tables, and the migrations that bring an older file up to date.

The database is one SQLite file (stdlib :mod:`sqlite3`, no server, copied like any file). Its
schema version is ``PRAGMA user_version``: 0 for a new file, then each step of
:data:`MIGRATIONS` moves it one version up, inside one transaction, so that a file written by an
older understudy is upgraded in place when it is opened (:func:`migrate`) and a file from a newer
one is refused rather than misread.

- Version 1: ``pairs`` (one row per recorded call with a recorded result, keyed by ``pair_id``)
  and ``pairs_fts``, an FTS5 index over the call's text whose rowid is the pair's rowid, with
  the call's tool key as a second indexed column (one token per tool, for FTS queries kept to
  one tool: ``tool_key : t...``; :mod:`understudy.replay.pairs.query` ranks by text only).
- Version 2: a ``digest`` column (a hash of everything a build writes), so that rebuilding tells
  an updated pair from an unchanged one, and an index on ``(session_id, message_index)`` for
  reading a session's pairs back in order. Rows of a version-1 file get no digest: the next
  build counts them as updated once and fills it in.
"""

from __future__ import annotations

import sqlite3

from understudy.errors import ConfigError

SCHEMA_V1 = """
CREATE TABLE pairs (
    rowid INTEGER PRIMARY KEY,
    pair_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    message_index INTEGER NOT NULL,
    tool TEXT NOT NULL,
    canonical_tool TEXT,
    canonical_arguments TEXT,
    arguments TEXT NOT NULL,
    script TEXT,
    result TEXT NOT NULL,
    output TEXT,
    exit_code INTEGER,
    is_error INTEGER NOT NULL,
    format TEXT NOT NULL,
    agent TEXT,
    agent_version TEXT
);
CREATE INDEX pairs_tool ON pairs (canonical_tool, tool);
CREATE VIRTUAL TABLE pairs_fts USING fts5 (tool_key, text, tokenize = 'unicode61');
"""
"""The first schema, kept as it was so that version-1 files can be made (tests) and upgraded."""

MIGRATION_V2 = """
ALTER TABLE pairs ADD COLUMN digest TEXT;
CREATE INDEX pairs_session ON pairs (session_id, message_index);
"""

MIGRATIONS: list[str] = [SCHEMA_V1, MIGRATION_V2]
"""Step ``i`` (SQL statements) takes a file from version ``i`` to version ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The version this understudy writes."""


def schema_version(connection: sqlite3.Connection) -> int:
    """The file's ``PRAGMA user_version`` (0 for a new, empty file)."""
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(connection: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Upgrade the database one version at a time up to ``target``; the version reached.

    Each step and its version bump commit together, so an interrupted upgrade leaves the file
    at the last version completed. A file newer than this understudy is a ConfigError.
    """
    version = schema_version(connection)
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"pair database has schema version {version}; this understudy reads up to "
            f"{SCHEMA_VERSION} (upgrade understudy)"
        )
    connection.commit()  # executescript would commit anything pending anyway
    while version < target:
        step = MIGRATIONS[version]
        version += 1
        try:
            connection.executescript(f"BEGIN;\n{step}\nPRAGMA user_version = {version};\nCOMMIT;")
        except sqlite3.Error:
            connection.rollback()
            raise
    return version


def connect(path: str, target: int = SCHEMA_VERSION) -> sqlite3.Connection:
    """Open (creating if needed) a pair database and migrate it to ``target``."""
    try:
        connection = sqlite3.connect(path)
    except sqlite3.OperationalError as exc:  # a missing folder, a path without permission
        raise ConfigError(f"{path}: cannot open a pair database there ({exc})") from None
    try:
        migrate(connection, target)
    except (sqlite3.DatabaseError, ConfigError) as exc:
        connection.close()
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{path}: not a pair database ({exc})") from None
    return connection
