"""Turning sessions into pairs, and writing them: the build side of the pair database.

A *pair* is one recorded tool call and the result the log recorded for it, with what the
adapters know about the call (:mod:`understudy.tools.adapters`): its canonical tool and
arguments when the call translates, its shell script when it runs one, and the tool's own
output inside the harness's wrapper. The tool simulators draw on these to answer calls they
cannot run; the pairs are real, so they must be de-identified first: a session that still holds
something the de-identification rules would replace is refused (:func:`check_deidentified`).

Building is an upsert keyed by ``pair_id`` (a hash of session id and call id), so building the
same sessions again changes nothing and a session imported again with a changed result updates
its pairs in place.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass
from typing import Any, Literal

from understudy.errors import ConfigError, ToolCallError
from understudy.replay.prefix import session_agent
from understudy.replay.redact import redact_session
from understudy.tools.adapters import describe_call, find_adapter, logged_output
from understudy.trajectory import Message, Session, ToolCall

TEXT_LIMIT = 4000
"""Characters of a call's text indexed for retrieval (a heredoc can be a whole file)."""

Outcome = Literal["added", "updated", "unchanged"]


class NotDeidentifiedError(ConfigError):
    """A session holds personal data or secrets: it was imported with ``--no-redact``."""


@dataclass(frozen=True)
class PairRow:
    """One pair as stored (the columns of ``pairs``, in order, after ``rowid``)."""

    pair_id: str
    session_id: str
    call_id: str
    message_index: int
    tool: str
    canonical_tool: str | None
    canonical_arguments: str | None
    arguments: str
    script: str | None
    result: str
    output: str | None
    exit_code: int | None
    is_error: int
    format: str
    agent: str | None
    agent_version: str | None


COLUMNS = tuple(PairRow.__dataclass_fields__)


def pair_id(session_id: str, call_id: str) -> str:
    """The stable id of a pair: the same session and call always give the same id."""
    return hashlib.sha256(f"{session_id}\0{call_id}".encode()).hexdigest()[:24]


def tool_key(canonical_tool: str | None, tool: str) -> str:
    """One FTS token that names a call's tool: its canonical tool, else its logged name.

    Hashed so that no tokenizer splits it (``read_file`` would be two words) and no tool's
    key is a word of another's.
    """
    name = f"canonical:{canonical_tool}" if canonical_tool else f"logged:{tool}"
    return "t" + hashlib.sha256(name.encode()).hexdigest()[:16]


def check_deidentified(session: Session, source: str) -> None:
    """Refuse a session that de-identification would still change.

    Importers do not mark sessions as redacted, but redaction is idempotent: a session imported
    with de-identification on comes out of :func:`redact_session` unchanged, one imported with
    ``--no-redact`` (and holding anything personal) does not. A ``meta`` flag saying
    de-identification was off is refused as well.
    """
    if session.meta.get("deidentified") is False or session.meta.get("redacted") is False:
        counts: dict[str, int] = {"flag": 1}
    else:
        counts = {kind: n for kind, n in redact_session(session)[1].items() if n}
    if counts:
        kinds = ", ".join(sorted(counts))
        raise NotDeidentifiedError(
            f"{source}: session {session.id!r} is not de-identified (would redact: {kinds}); "
            "import it again without --no-redact"
        )


def session_pairs(session: Session) -> Iterator[PairRow]:
    """Every call of ``session`` with a recorded result, as a pair (in message order)."""
    results: dict[str, tuple[int, Message]] = {}
    for index, message in enumerate(session.messages):
        if message.role == "tool" and message.tool_call_id:
            results.setdefault(message.tool_call_id, (index, message))
    agent = session_agent(session)
    for message in session.messages:
        for call in message.tool_calls:
            found = results.get(call.id)
            if found is not None:
                yield _pair(session, agent, call, *found)


def _pair(session: Session, agent: str, call: ToolCall, index: int, result: Message) -> PairRow:
    facts = describe_call(call.name, call.arguments, agent)
    canonical_tool, canonical_arguments = canonical(call, agent)
    exit_code = result.meta.get("exit_code")
    return PairRow(
        pair_id=pair_id(session.id, call.id),
        session_id=session.id,
        call_id=call.id,
        message_index=index,
        tool=call.name,
        canonical_tool=canonical_tool or (facts.canonical if facts else None),
        canonical_arguments=_json(canonical_arguments) if canonical_arguments is not None else None,
        arguments=_json(call.arguments),
        script=facts.script if facts else None,
        result=result.content,
        output=logged_output(call.name, call.arguments, result.content, agent),
        exit_code=exit_code if isinstance(exit_code, int) else None,
        is_error=int(result.is_error),
        format=session.source.format,
        agent=session.source.agent,
        agent_version=session.source.version,
    )


def canonical(call: ToolCall, agent: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """The canonical tool and arguments of a call, when its adapter translates it."""
    adapter = find_adapter(call.name, agent)
    if adapter is None:
        return None, None
    try:
        translated = adapter.translate(call.name, call.arguments)
    except (ToolCallError, TypeError, ValueError, KeyError, AttributeError):
        return None, None
    return translated.tool, dict(translated.arguments)


LEADING_KEYS = ("path", "file_path", "paths", "pattern", "query", "url", "command", "glob")
"""Arguments that say most about a call, indexed before the others (a file's content)."""


def call_text(script: str | None, arguments: dict[str, Any] | None) -> str:
    """What retrieval matches a call by: its script, else the strings of its arguments as
    logged (paths, patterns and queries first). Not the canonical translation's: that can wrap
    the call in its harness's program (SWE-agent's tools load theirs first), which every call
    of the tool would then share."""
    if script:
        return script[:TEXT_LIMIT]
    arguments = arguments or {}
    ordered = sorted(arguments, key=lambda key: key not in LEADING_KEYS)
    strings = [value for key in ordered for value in _strings(arguments[key]) if value]
    return " ".join(strings)[:TEXT_LIMIT]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


INDEX_VERSION = 2
"""What the full-text index holds for a pair (:func:`call_text`); part of every digest, so
that a build after a change of it rewrites each pair's index entry once."""


def digest(row: PairRow) -> str:
    """A hash of everything a build writes for a pair: equal digests, nothing to update."""
    written = _json([INDEX_VERSION, *astuple(row)])
    return hashlib.sha256(written.encode()).hexdigest()[:32]


def write_pairs(connection: sqlite3.Connection, rows: Iterable[PairRow]) -> dict[Outcome, int]:
    """Upsert ``rows`` (and their FTS entries) in one transaction; counts per outcome."""
    counts: dict[Outcome, int] = {"added": 0, "updated": 0, "unchanged": 0}
    with connection:
        for row in rows:
            counts[_write(connection, row)] += 1
    return counts


_INSERT = (
    f"INSERT INTO pairs ({', '.join(COLUMNS)}, digest) "
    f"VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
)
_UPDATE = (
    f"UPDATE pairs SET {', '.join(f'{name} = ?' for name in COLUMNS)}, digest = ? WHERE rowid = ?"
)


def _write(connection: sqlite3.Connection, row: PairRow) -> Outcome:
    new_digest = digest(row)
    found = connection.execute(
        "SELECT rowid, digest FROM pairs WHERE pair_id = ?", (row.pair_id,)
    ).fetchone()
    if found is not None and found[1] == new_digest:
        return "unchanged"
    values = (*astuple(row), new_digest)
    if found is None:
        rowid = connection.execute(_INSERT, values).lastrowid
        outcome: Outcome = "added"
    else:
        rowid = found[0]
        connection.execute(_UPDATE, (*values, rowid))
        connection.execute("DELETE FROM pairs_fts WHERE rowid = ?", (rowid,))
        outcome = "updated"
    text = call_text(row.script, json.loads(row.arguments))
    connection.execute(
        "INSERT INTO pairs_fts (rowid, tool_key, text) VALUES (?, ?, ?)",
        (rowid, tool_key(row.canonical_tool, row.tool), text),
    )
    return outcome
