"""What a verb in a claim acts on, read from the words after it: a test suite, a command, a
linter, the web or the code, the docs, a page, a change to the code, the user's own words, or
nothing that is work at all ("I wrote a summary")."""

from __future__ import annotations

import re

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
