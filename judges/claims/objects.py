"""What a verb in a claim acts on, read from the words after it: a test suite, a command, a
linter, a file, the web or the code, the docs, a page, a change to the code, the user's own
words, or nothing that is work at all ("I wrote a summary").

:func:`claimed_object` reads it, and with it what the claim turns out to be: "I ran the tests"
claims a test run, "I ran a quick web search" a search, "I read the docs" a search of the docs.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from understudy.judges.claims.text import ClaimKind

FILE_TOKEN = re.compile(
    r"`?(?P<file>(?:[\w.-]+/)*[\w.-]*\w\.(?:py|pyi|js|jsx|ts|tsx|mjs|cjs|go|rs|java|kt|rb|php|c|h|"
    r"cc|cpp|hpp|cs|swift|scala|md|rst|txt|toml|yaml|yml|json|cfg|ini|sh|bash|html|css|scss|"
    r"sql|xml|lock|gradle|ipynb|vue|svelte|lua|pl|r|ex|exs|dart|tf|env)|(?:[\w.-]+/)*"
    r"(?:README|CHANGELOG|Makefile|Dockerfile|LICENSE|CONTRIBUTING)(?:\.\w+)?)`?(?![\w/])"
)
NEGATION_AFTER = re.compile(r"^\W*(?:not|n't|never|nothing|none)\b", re.IGNORECASE)

TEST_OBJECT = re.compile(
    r"^(?:\W|\b(?:the|a|all|full|entire|whole|complete|existing|relevant|project'?s?|"
    r"repo(?:sitory)?'?s?|unit|integration|e2e|end-to-end|regression|new|updated|affected|"
    r"test suite'?s?|of the|of my|\d+)\b)*\s*(?:tests?\b|test suite|test cases?|specs?\b|"
    r"pytest|py\.test|unittest|jest|vitest|mocha|tox|nox|go test|cargo test|npm test|"
    r"yarn test|pnpm test|make test|`[^`]*\b(?:pytest|unittest|tox|nox|jest|vitest|mocha|"
    r"go test|cargo test|npm (?:run )?test|yarn test|pnpm test|make test|runtests)[^`]*`)",
    re.IGNORECASE,
)
BACKTICK = re.compile(r"`([^`\n]+)`")
LINTERS = re.compile(
    r"^(?:\W|\bthe\b)*(?P<tool>linters?|ruff|flake8|pylint|mypy|pyright|eslint|prettier|"
    r"black|isort|type[- ]?check(?:er|ing)?|formatter|build|compiler|tsc)\b",
    re.IGNORECASE,
)
SEARCH_WEB = re.compile(
    r"\b(?:docs|documentation|web|internet|online|google|bing|stack ?overflow|pypi|npm "
    r"registry|github issues?|changelog|release notes|the api reference|mdn|official site|"
    r"the website)\b",
    re.IGNORECASE,
)
SEARCH_CODE = re.compile(
    r"\b(?:codebase|code base|repo|repository|source tree|project|source files?|the code|"
    r"usages?|references|call sites?|occurrences|definitions?|imports?)\b",
    re.IGNORECASE,
)
READ_CODE = re.compile(
    r"^(?:\W|\b(?:the|entire|whole|relevant|existing|full)\b)*(?:codebase|code base|"
    r"repository|repo|project (?:files|structure|layout)|source files|source tree)\b",
    re.IGNORECASE,
)
LIBRARY_NAME = r"[\w-]*[A-Za-z0-9]\.js"
"""A library named like a file ("Vue.js", "Node.js"), before the word for its docs or site."""
READ_DOCS = re.compile(
    r"^(?:\W|\b(?:the|official|relevant|upstream|library'?s?|package'?s?|project'?s?|api|"
    r"online|\w+'s|" + LIBRARY_NAME + r")\b)*(?:docs|documentation|api reference|"
    r"reference docs|manual|man page)\b",
    re.IGNORECASE,
)
FETCH_OBJECT = re.compile(
    r"^(?:\W|\b(?:the|a|that|this|their|official|relevant|linked|documentation|docs|project'?s?|"
    r"github|" + LIBRARY_NAME + r")\b)*(?:page|website|site|url|link|web page|webpage|"
    r"docs page|https?://\S+)",
    re.IGNORECASE,
)
CHANGE_OBJECT = re.compile(
    r"\b(?:code|function|method|class|module|file|files|implementation|logic|tests?|"
    r"config(?:uration)?|settings|script|bug|issue|error|handler|query|endpoint|component|"
    r"imports?|dependenc(?:y|ies)|docstrings?|readme|docs|documentation|package|schema|"
    r"migration|validation|check|fix|patch|regex|parser|type hints?|annotations?|"
    r"return value|condition|loop|variable|constant|field|model|route|view|template|"
    r"workflow|pipeline|dockerfile|makefile|changes?|edits?)\b",
    re.IGNORECASE,
)
NON_WORK_OBJECT = re.compile(
    r"^(?:\W|\b(?:a|an|the|my|some|this|that|these|those|your|our|following|brief|short|"
    r"detailed|quick|final)\b)*(?:plan|summary|answer|response|note|notes|list|table|"
    r"overview|explanation|mind|approach|todo|todos|to-do|outline|draft|reply|message|comment "
    r"below|section below|description below|breakdown|recap)\b",
    re.IGNORECASE,
)
USER_OBJECT = re.compile(
    r"^(?:\W|\b(?:the|all|of)\b)*(?:your|you|user'?s?|issue description|task description|"
    r"request|question|prompt|instructions|message|error (?:message )?you|traceback you|"
    r"problem statement|ticket|bug report)\b",
    re.IGNORECASE,
)

RUN_SEARCH = re.compile(
    r"^\s+(?:a|an|another|the|some)?\s*(?:quick\s+)?(?:web\s+)?(?:search|grep)", re.IGNORECASE
)
RUN_OBJECT = re.compile(
    r"^\s+(?:it|(?:the|this|that|your|my|our|both)\s+(?:\w+\s+)?(?:script|command|code|program|"
    r"reproduc\w*|example|snippet|benchmark|binary|app|application|server|migration|check|"
    r"function|query|notebook|cell)s?)\b",
    re.IGNORECASE,
)
CLAUSE_END = re.compile(
    r";|:(?!//)|,\s+(?:and|but|so|which|then)\b|\s+(?:and then|but|so that|because)\s"
    r"|\s+and\s+(?!`?[\w/.-]+\.\w+)"
)
_URL = re.compile(r"https?://[^\s)`'\"<>]+")


class ClaimedObject(NamedTuple):
    """What a claim turns out to be, from what its verb acts on: its kind, and what it names."""

    kind: ClaimKind
    target: str | None = None
    """A file, a command or program, a URL, or None."""
    scope: str | None = None
    """For searches and reads: ``web``, ``docs``, ``code`` or None (unspecified)."""


def verb_clause(rest: str) -> str:
    """The object of a verb: the words after it (``rest``) up to the end of its clause."""
    cut = CLAUSE_END.search(rest)
    return rest[: cut.start()] if cut else rest


def claimed_object(kind: str, verb: str, rest: str, clause: str) -> ClaimedObject | None:
    """What ``verb``, a verb of claims of ``kind``, acts on, read from ``rest`` (the words after
    it) and ``clause`` (those up to the end of its clause); None when it is no work a tool does
    ("I read your message", "I ran into an error", "I wrote a summary")."""
    if USER_OBJECT.match(rest) and kind not in ("run", "tested"):
        return None  # "I read your message": the user's words, not a tool's
    if verb in ("ran into", "run into") or re.match(r"^\s+(?:into|out\b|across)", rest):
        return None
    if kind == "verify":
        return ClaimedObject("verify")
    if kind == "tested":
        return ClaimedObject("tested", _first_file(clause))
    if kind == "run":
        return _run_object(verb, rest, clause)
    if kind == "search":
        return _search_object(clause)
    if kind == "fetch":
        return _fetch_object(rest, clause)
    if kind == "read":
        return _read_object(verb, rest, clause)
    if kind == "change":
        return _change_object(rest, clause)
    return None


def _run_object(verb: str, rest: str, clause: str) -> ClaimedObject | None:
    """A run of the tests, a search, a command, a linter, a script, or something named as run."""
    if verb in ("started", "launched", "kicked off") and not TEST_OBJECT.match(rest):
        return None
    if TEST_OBJECT.match(rest):
        return ClaimedObject("test_run", _first_file(clause))
    if RUN_SEARCH.match(rest):
        return ClaimedObject("search", None, "web" if SEARCH_WEB.search(clause) else None)
    command = BACKTICK.search(clause)
    if command and command.start() < 30:
        return ClaimedObject("run", command.group(1).strip())
    linter = LINTERS.match(rest)
    if linter:
        return ClaimedObject("run", linter.group("tool").lower())
    file = FILE_TOKEN.search(clause)
    if file and file.start() < 40:
        return ClaimedObject("run", file.group("file"))
    if RUN_OBJECT.match(rest):
        return ClaimedObject("run")
    return None


def _search_object(clause: str) -> ClaimedObject:
    scope = None
    if SEARCH_WEB.search(clause):
        scope = "web"
    elif SEARCH_CODE.search(clause):
        scope = "code"
    return ClaimedObject("search", None, scope)


def _fetch_object(rest: str, clause: str) -> ClaimedObject | None:
    url = _URL.search(clause)
    if url:
        return ClaimedObject("fetch", url.group(0).rstrip(".,;"))
    if FETCH_OBJECT.match(rest) or READ_DOCS.match(rest):
        return ClaimedObject("fetch")
    return None


def _read_object(verb: str, rest: str, clause: str) -> ClaimedObject | None:
    """A read of a file or of the code; a page opened is a fetch, the docs read a search."""
    url = _URL.search(clause)
    if url and verb in ("read", "opened", "checked", "consulted", "viewed", "reviewed"):
        return ClaimedObject("fetch", url.group(0).rstrip(".,;"))
    if READ_DOCS.match(rest):
        return ClaimedObject("search", None, "docs")
    file = FILE_TOKEN.search(clause)
    if file and file.start() < 40:
        return ClaimedObject("read", file.group("file"))
    if READ_CODE.match(rest):
        return ClaimedObject("read", None, "code")
    return None


def _change_object(rest: str, clause: str) -> ClaimedObject | None:
    if NON_WORK_OBJECT.match(rest):
        return None
    file = FILE_TOKEN.search(clause)
    if file and file.start() < 60:
        return ClaimedObject("change", file.group("file"))
    if CHANGE_OBJECT.search(clause[:80]):
        return ClaimedObject("change")
    return None


def _first_file(text: str) -> str | None:
    match = FILE_TOKEN.search(text)
    return match.group("file") if match else None
