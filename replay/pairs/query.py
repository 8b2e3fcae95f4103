"""Retrieval: the recorded pairs nearest to a call, for a simulator to draw on.

A call is matched by its text (its shell script, else its arguments: see
:func:`~understudy.replay.pairs.build.call_text`) against ``pairs_fts`` with FTS5's ``bm25``.
Pairs of the same tool (the call's canonical tool, else its logged name) come first, then, only
when fewer than ``k`` of them match, pairs of other tools: one query ranks the matches by
(same tool, bm25) and reads the full rows of the ``k`` best only.

bm25 is computed for every row that matches, so a query's cost grows with the rows its words
occur in: ``ls`` or ``cd`` occur in half of all shell pairs. The query keeps the call's rarest
words while their document frequencies add up to at most :data:`MATCH_BUDGET` rows, and always
the rarest one; dropping a common word costs little ranking, since bm25 gives it almost no
weight anyway, but a pair that shares only common words with the call can be missed.

Frequencies come from an ``fts5vocab`` table, which counts a word's rows each time it is
asked (milliseconds for a common word), so they are cached per connection until the database
changes (``PRAGMA data_version`` and the connection's own ``total_changes``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from understudy.replay.pairs.build import call_text, canonical
from understudy.tools.adapters import describe_call
from understudy.trajectory import ToolCall

QUERY_TERMS = 24
"""Distinct words of a call's text considered for a query (a long script would make it slow)."""
MATCH_BUDGET = 2000
"""Rows the words of a query may occur in, summed; the rarest word is kept whatever its count."""
_WORD = re.compile(r"[^\W_]+")
"""A word as FTS5's unicode61 tokenizer cuts them (``_`` separates words, as punctuation)."""


@dataclass(frozen=True)
class Neighbour:
    """One recorded pair retrieved for a call; the lower ``score`` (bm25), the nearer."""

    pair_id: str
    session_id: str
    format: str
    agent: str | None
    score: float
    same_tool: bool
    tool: str
    canonical_tool: str | None
    arguments: dict[str, Any]
    canonical_arguments: dict[str, Any] | None
    script: str | None
    result: str
    output: str | None
    exit_code: int | None
    is_error: bool


def query_words(text: str) -> list[str]:
    """The first :data:`QUERY_TERMS` distinct words of ``text``, as the index has them."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:QUERY_TERMS]


def match_query(words: list[str]) -> str | None:
    """An FTS5 query matching any of ``words`` (each quoted, so no word is read as an
    operator); None when there is none."""
    return " OR ".join(f'"{word}"' for word in words) or None


CACHED_CONNECTIONS = 8
"""Connections whose document frequencies are kept (the most recently queried)."""
_FREQUENCIES: OrderedDict[int, tuple[sqlite3.Connection, Any, dict[str, int]]] = OrderedDict()
"""By ``id`` of a connection: the connection itself (the id of a freed one can come again),
the state it was read at, and the document frequency of each word asked so far."""


def document_frequencies(db: sqlite3.Connection, words: list[str]) -> dict[str, int]:
    """How many pairs each of ``words`` occurs in (a word in none is left out)."""
    stamp = (db.execute("PRAGMA data_version").fetchone()[0], db.total_changes)
    entry = _FREQUENCIES.get(id(db))
    if entry is not None and entry[0] is db and entry[1] == stamp:
        cache = entry[2]
        _FREQUENCIES.move_to_end(id(db))
    else:
        cache = {}
        _FREQUENCIES[id(db)] = (db, stamp, cache)
        _FREQUENCIES.move_to_end(id(db))
        while len(_FREQUENCIES) > CACHED_CONNECTIONS:
            _FREQUENCIES.popitem(last=False)
    missing = [word for word in words if word not in cache]
    if missing:
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.pairs_vocab "
            "USING fts5vocab(main, pairs_fts, row)"
        )
        cache.update(dict.fromkeys(missing, 0))
        for word in missing:
            found = db.execute("SELECT doc FROM temp.pairs_vocab WHERE term = ?", (word,))
            cache[word] = next((int(row[0]) for row in found), 0)
    return {word: cache[word] for word in words if cache[word]}


def match_queries(db: sqlite3.Connection, words: list[str]) -> list[str]:
    """The FTS5 queries to try for ``words``, narrowest first: one, any of the rarest words
    that occur in the index, within :data:`MATCH_BUDGET` rows (none when no word occurs).

    Matching all the words of a call made of common words only (``cd /testbed && python``)
    was tried first and measured slower: intersecting long doclists costs more than ranking.
    """
    frequencies = document_frequencies(db, words)
    ordered = sorted(frequencies, key=frequencies.__getitem__)
    kept: list[str] = []
    total = 0
    for word in ordered:
        total += frequencies[word]
        if kept and total > MATCH_BUDGET:
            break
        kept.append(word)
    any_of = match_query(kept)
    return [] if any_of is None else [any_of]


_SELECT = """
SELECT p.pair_id, best.score, best.same, p.tool, p.canonical_tool, p.arguments,
       p.canonical_arguments, p.script, p.result, p.output, p.exit_code, p.is_error,
       p.session_id, p.format, p.agent
FROM (
    SELECT m.rowid AS rowid, m.score AS score,
           (q.canonical_tool IS :tool AND (:tool IS NOT NULL OR q.tool = :name)) AS same
    FROM (
        SELECT rowid, bm25(pairs_fts, 0.0, 1.0) AS score FROM pairs_fts WHERE pairs_fts MATCH :match
    ) AS m JOIN pairs AS q ON q.rowid = m.rowid
    WHERE :exclude IS NULL OR q.session_id != :exclude
    ORDER BY same DESC, score LIMIT :k
) AS best JOIN pairs AS p ON p.rowid = best.rowid
ORDER BY best.same DESC, best.score
"""
"""The ``k`` best matches by (same tool, bm25), ranked on the small columns; full rows after."""

_SAME_NAME = """
SELECT p.pair_id, 0.0, 1, p.tool, p.canonical_tool, p.arguments,
       p.canonical_arguments, p.script, p.result, p.output, p.exit_code, p.is_error,
       p.session_id, p.format, p.agent
FROM pairs AS p
WHERE p.tool = :name AND (:exclude IS NULL OR p.session_id != :exclude)
  AND (:tool IS NULL OR p.canonical_tool IS :tool)
ORDER BY p.rowid DESC LIMIT :k
"""
"""The latest pairs of the call's logged tool, whatever their text (retrieval's last resort)."""


def tool_and_text(call: ToolCall, agent: str | None) -> tuple[str | None, str]:
    """The tool a call's pairs are kept under (canonical, else None) and the text retrieval
    matches it by (see :func:`~understudy.replay.pairs.build.call_text`)."""
    tool, _ = canonical(call, agent)
    facts = describe_call(call.name, call.arguments, agent)
    script = facts.script if facts else None
    tool = tool or (facts.canonical if facts else None)
    return tool, call_text(script, call.arguments)


def neighbour_text(neighbour: Neighbour) -> str:
    """The text a retrieved pair's call was indexed by."""
    return call_text(neighbour.script, neighbour.arguments)


def nearest(
    db: sqlite3.Connection,
    call: ToolCall,
    agent: str | None,
    k: int = 5,
    exclude_session: str | None = None,
) -> list[Neighbour]:
    """The ``k`` recorded pairs nearest to ``call`` (made by ``agent``'s harness), nearest first:
    pairs of the same tool ranked by bm25 on the call's text, then, if fewer than ``k`` of them
    match, pairs of other tools. When no pair shares a word with the call (a ``finish`` tool
    whose argument is free text), the latest pairs of the same logged tool stand in. The
    pairs of ``exclude_session`` are left out (leave-one-out measurement)."""
    tool, text = tool_and_text(call, agent)
    words = query_words(text)
    rows: list[Any] = []
    parameters = {"tool": tool, "name": call.name, "k": k, "exclude": exclude_session}
    for match in match_queries(db, words) if words and k > 0 else []:
        rows = db.execute(_SELECT, {**parameters, "match": match}).fetchall()
        if len(rows) == k:
            break
    if not rows and k > 0:
        rows = db.execute(_SAME_NAME, parameters).fetchall()
    return [
        Neighbour(
            pair_id=row[0],
            session_id=row[12],
            format=row[13],
            agent=row[14],
            score=float(row[1]),
            same_tool=bool(row[2]),
            tool=row[3],
            canonical_tool=row[4],
            arguments=json.loads(row[5]),
            canonical_arguments=json.loads(row[6]) if row[6] is not None else None,
            script=row[7],
            result=row[8],
            output=row[9],
            exit_code=row[10],
            is_error=bool(row[11]),
        )
        for row in rows
    ]
