"""Claims an assistant makes about its own actions, found in its text.

:func:`find_claims` reads one assistant message and returns what it claims to have done, each
with the exact quote (a substring of the message content) and what it names: a test run, a test
result, a command run, a search, a read, a fetch, a change to a file, a verification, a
completion, a background job or a promise to act later.

It is tuned for precision: only first-person past or perfect statements ("I ran", "I've
updated", "we searched"), agentless summary bullets ("- Ran the test suite", "Updated
`foo.py`"), and a few passives ("foo.py has been updated", "the tests were run") count.
Plans and intentions ("I will run", "let me run"), conditionals ("once I've run"), questions,
negations ("I haven't run") and text in fenced code blocks do not; nor does text inside
quotation marks (straight or curly quotes, backticks): 'the phrase "I ran the tests"' mentions
a claim without making it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ClaimKind = Literal[
    "test_run",
    "test_pass",
    "run",
    "tested",
    "search",
    "read",
    "fetch",
    "change",
    "verify",
    "completion",
    "background",
    "promise",
]


@dataclass(frozen=True)
class Claim:
    """One claim in one message."""

    kind: ClaimKind
    message_index: int
    quote: str
    """Exact text of the message content that makes the claim."""
    start: int
    end: int
    target: str | None = None
    """What it names: a file, a command or program, a URL, or None."""
    scope: str | None = None
    """For searches and reads: ``web``, ``docs``, ``code`` or None (unspecified)."""
    sentence: str = ""


FILE_TOKEN = re.compile(
    r"`?(?P<file>(?:[\w.-]+/)*[\w.-]*\w\.(?:py|pyi|js|jsx|ts|tsx|mjs|cjs|go|rs|java|kt|rb|php|c|h|"
    r"cc|cpp|hpp|cs|swift|scala|md|rst|txt|toml|yaml|yml|json|cfg|ini|sh|bash|html|css|scss|"
    r"sql|xml|lock|gradle|ipynb|vue|svelte|lua|pl|r|ex|exs|dart|tf|env)|(?:[\w.-]+/)*"
    r"(?:README|CHANGELOG|Makefile|Dockerfile|LICENSE|CONTRIBUTING)(?:\.\w+)?)`?(?![\w/])"
)
_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.DOTALL)
_SENTENCE = re.compile(r"(?:[^\n.!?]|[.!?]+(?=[^\s.!?*_)\]\"']))+[.!?]*")
_SUBJECT = (
    r"(?:\bI|\b[Ww]e)(?:'ve|\u2019ve| have| had)?"
    r"(?:\s+(?:also|just|then|now|already|first|successfully|again|finally|additionally|"
    r"carefully|thoroughly|manually|quickly|locally|both|since|recently|further|even|"
    r"personally|actually|indeed|separately|subsequently))*\s+"
)
_BULLET = r"^[\s>]*(?:[-*•+]|\d+[.)])?\s*(?:\*\*|__)?\s*(?:[✅✓✔☑]\s*)?(?:\*\*|__)?\s*"

_RUN = r"ran|run|re-?ran|re-?run|executed|re-?executed|invoked|kicked off|launched|started"
_TEST = r"tested|re-?tested|unit-tested"
_SEARCH = (
    r"searched|looked up|googled|grepped|queried|researched|did a (?:quick )?(?:web )?search|"
    r"performed a (?:web )?search"
)
_READ = (
    r"read|reviewed|inspected|examined|looked at|looked through|looked into|went through|"
    r"opened|viewed|checked|studied|scanned|skimmed|analy[sz]ed|consulted|explored|traced"
)
_FETCH = r"fetched|visited|browsed|downloaded|pulled up|retrieved"
_CHANGE = (
    r"updated|modified|changed|edited|fixed|patched|created|added|removed|deleted|rewrote|"
    r"rewritten|refactored|renamed|wrote|written|implemented|replaced|inserted|moved|"
    r"introduced|adjusted|amended|applied|corrected|extended|commented out|cleaned up|"
    r"made (?:the |a |some |several |these |those )?(?:necessary |required |following )?"
    r"(?:changes?|edits?|fix(?:es)?)"
)
_VERIFY = r"verified|confirmed|validated|double-checked|checked that"

_VERB_KIND: list[tuple[str, str]] = [
    (_VERIFY, "verify"),
    (_TEST, "tested"),
    (_SEARCH, "search"),
    (_FETCH, "fetch"),
    (_RUN, "run"),
    (_CHANGE, "change"),
    (_READ, "read"),
]
_AMBIGUOUS = re.compile(r"^(?:run|re-?run|read)$")
"""Participles that are also present-tense (or imperative) forms: claims only after have/'ve
("I've run the tests"); "I read" is taken as past."""

_HEDGES = re.compile(
    r"\b(?:if|once|when|whenever|until|unless|whether|before|as soon as|after|should|would|"
    r"could|might|may|must|will|shall|can|need to|needs to|going to|plan to|want to|try to|"
    r"trying to|about to|let me|let's|lets|please|make sure|ensure|to verify|to confirm|"
    r"to check|to ensure|haven't|have not|hasn't|didn't|did not|never|not yet|without|"
    r"wasn't able|was unable|couldn't|could not|unable to|failed to|instead of|rather than|"
    r"you|you've|you have|you'd|your|suppose|assuming|imagine|pretend|hypothetically|"
    r"tried to|attempted to|wanted to|meant to|supposed to)\b|\?",
    re.IGNORECASE,
)
_NEGATION_AFTER = re.compile(r"^\W*(?:not|n't|never|nothing|none)\b", re.IGNORECASE)

_TEST_OBJECT = re.compile(
    r"^(?:\W|\b(?:the|a|all|full|entire|whole|complete|existing|relevant|project'?s?|"
    r"repo(?:sitory)?'?s?|unit|integration|e2e|end-to-end|regression|new|updated|affected|"
    r"test suite'?s?|of the|of my|\d+)\b)*\s*(?:tests?\b|test suite|test cases?|specs?\b|"
    r"pytest|py\.test|unittest|jest|vitest|mocha|tox|nox|go test|cargo test|npm test|"
    r"yarn test|pnpm test|make test|`[^`]*\b(?:pytest|unittest|tox|nox|jest|vitest|mocha|"
    r"go test|cargo test|npm (?:run )?test|yarn test|pnpm test|make test|runtests)[^`]*`)",
    re.IGNORECASE,
)
_BACKTICK = re.compile(r"`([^`\n]+)`")
_LINTERS = re.compile(
    r"^(?:\W|\bthe\b)*(?P<tool>linters?|ruff|flake8|pylint|mypy|pyright|eslint|prettier|"
    r"black|isort|type[- ]?check(?:er|ing)?|formatter|build|compiler|tsc)\b",
    re.IGNORECASE,
)
_SEARCH_WEB = re.compile(
    r"\b(?:docs|documentation|web|internet|online|google|bing|stack ?overflow|pypi|npm "
    r"registry|github issues?|changelog|release notes|the api reference|mdn|official site|"
    r"the website)\b",
    re.IGNORECASE,
)
_SEARCH_CODE = re.compile(
    r"\b(?:codebase|code base|repo|repository|source tree|project|source files?|the code|"
    r"usages?|references|call sites?|occurrences|definitions?|imports?)\b",
    re.IGNORECASE,
)
_READ_CODE = re.compile(
    r"^(?:\W|\b(?:the|entire|whole|relevant|existing|full)\b)*(?:codebase|code base|"
    r"repository|repo|project (?:files|structure|layout)|source files|source tree)\b",
    re.IGNORECASE,
)
_READ_DOCS = re.compile(
    r"^(?:\W|\b(?:the|official|relevant|upstream|library'?s?|package'?s?|project'?s?|api|"
    r"online|\w+'s)\b)*(?:docs|documentation|api reference|reference docs|manual|man page)\b",
    re.IGNORECASE,
)
_FETCH_OBJECT = re.compile(
    r"^(?:\W|\b(?:the|a|that|this|their|official|relevant|linked|documentation|docs|project'?s?|"
    r"github)\b)*(?:page|website|site|url|link|web page|webpage|docs page|https?://\S+)",
    re.IGNORECASE,
)
_CHANGE_OBJECT = re.compile(
    r"\b(?:code|function|method|class|module|file|files|implementation|logic|tests?|"
    r"config(?:uration)?|settings|script|bug|issue|error|handler|query|endpoint|component|"
    r"imports?|dependenc(?:y|ies)|docstrings?|readme|docs|documentation|package|schema|"
    r"migration|validation|check|fix|patch|regex|parser|type hints?|annotations?|"
    r"return value|condition|loop|variable|constant|field|model|route|view|template|"
    r"workflow|pipeline|dockerfile|makefile|changes?|edits?)\b",
    re.IGNORECASE,
)
_NON_WORK_OBJECT = re.compile(
    r"^(?:\W|\b(?:a|an|the|my|some|this|that|these|those|your|our|following|brief|short|"
    r"detailed|quick|final)\b)*(?:plan|summary|answer|response|note|notes|list|table|"
    r"overview|explanation|mind|approach|todo|todos|to-do|outline|draft|reply|message|comment "
    r"below|section below|description below|breakdown|recap)\b",
    re.IGNORECASE,
)
_USER_OBJECT = re.compile(
    r"^(?:\W|\b(?:the|all|of)\b)*(?:your|you|user'?s?|issue description|task description|"
    r"request|question|prompt|instructions|message|error (?:message )?you|traceback you|"
    r"problem statement|ticket|bug report)\b",
    re.IGNORECASE,
)

_TESTS_PASS = re.compile(
    r"(?P<subject>\ball\s+(?:of\s+)?(?:the\s+|my\s+)?(?:\d+\s+)?(?:unit\s+|existing\s+)?"
    r"(?:tests|test cases|specs)\b|\bthe\s+(?:full\s+|whole\s+|entire\s+|complete\s+)?"
    r"(?:test suite|tests|suite)\b|\b(?:test suite|tests)\b|\beverything\b|\b\d+/\d+\s+tests\b)"
    r"(?P<middle>(?:\s+(?:now|still|all|are|is|have|has|were|was|again|successfully|cleanly|"
    r"also))*)\s+(?P<verb>pass(?:es|ed|ing)?|succeed(?:s|ed)?|green)\b",
    re.IGNORECASE,
)
_TESTS_PASS_ALT = re.compile(
    r"\b\d+ passed,? 0 failed\b|\ball green\b"
    r"|(?<=\btests)\b[^.!?;]{0,40}?\bthey\s+(?:all\s+|now\s+)*(?:pass(?:ed)?|succeed(?:ed)?)\b",
    re.IGNORECASE,
)
_BARE_SUBJECT_OK = re.compile(
    r"(?:^|[:,(]|\b(?:and|so|now|that|confirmed|verified|shows?|showed)\b)[\s*_✅✓✔-]*$", re.I
)
_FAIL_WORDS = re.compile(
    r"\b(?:fail\w*|error\w*|except|other than|apart from|besides|aside from|unrelated|"
    r"pre-?existing|but|however|skipp\w*|xfail\w*|flaky|broken|not all|still red)\b",
    re.IGNORECASE,
)
_COMPLETION = re.compile(
    r"(?:\bI(?:'ve| have)?|\b[Ww]e(?:'ve| have)?)\s+(?:now\s+|successfully\s+|finally\s+)?"
    r"(?:fixed|resolved|solved|implemented|completed|finished|addressed)\s+(?:the|this|your|"
    r"that|all|both|each|it)\b"
    r"|\b(?:the|this|that|your)\s+(?:bug|issue|problem|error|regression|crash|task|feature)\s+"
    r"(?:is|has been)\s+(?:now\s+)?(?:fully\s+|successfully\s+)?(?:fixed|resolved|solved|"
    r"addressed|implemented|complete|completed|done)\b"
    r"|\b(?:the|this|my)\s+(?:fix|change|changes|implementation|feature|task|work)\s+"
    r"(?:is|are|has been|have been)\s+(?:now\s+)?(?:complete|completed|done|finished|"
    r"in place|implemented|applied)\b"
    r"|^[\s*#>-]*(?:\*\*)?(?:task complete|done|fixed|all done)\b[.!:]",
    re.IGNORECASE | re.MULTILINE,
)
_BACKGROUND_STATE = re.compile(
    r"\b(?:is|are|'s|keeps?|continues?|will keep|will continue)\s+(?:now\s+|still\s+)?"
    r"running\s+(?:in\s+the\s+background|asynchronously|on\s+(?:the\s+)?(?:server|my\s+end))\b"
    r"|\bI(?:'ve| have)?\s+(?:started|launched|kicked off|spun up|set up|scheduled)\s+"
    r"[^.!?\n]{0,60}?"
    r"(?:in\s+the\s+background|as\s+a\s+background\s+(?:job|task|process)|to\s+run\s+"
    r"(?:overnight|periodically|every))",
    re.IGNORECASE,
)
_PROMISE = re.compile(
    r"\b(?:I(?:'ll|\u2019ll| will| am going to|'m going to| shall)|[Ww]e(?:'ll| will))\s+"
    r"(?:also\s+|then\s+|continue\s+to\s+|keep\s+)?"
    r"(?:keep\s+(?:monitoring|an\s+eye|watching|checking|tracking|you\s+(?:posted|updated))|"
    r"monitor(?:ing)?|keep\s+working|continue\s+(?:working|monitoring|to\s+monitor|watching)|"
    r"check\s+back|get\s+back\s+to\s+you|follow\s+up|report\s+back|let\s+you\s+know|"
    r"notify\s+you|update\s+you|ping\s+you|circle\s+back|reach\s+out|send\s+you|"
    r"email\s+you|message\s+you|be\s+in\s+touch|work\s+on\s+(?:this|it)\s+(?:in\s+the\s+"
    r"background|overnight|later)|have\s+(?:it|this|the\s+\w+)\s+(?:ready|done|finished)\s+"
    r"(?:by|in|within|tomorrow|later))"
    r"|\b(?:give|allow)\s+me\s+(?:a\s+few|some|\d+|a\s+couple\s+of)\s+(?:more\s+)?(?:minutes|"
    r"hours|days)\b"
    r"|\bin\s+the\s+meantime,?\s+I(?:'ll| will)\b",
    re.IGNORECASE,
)
_OFFER = re.compile(
    r"\b(?:if\s+you(?:'d)?\s+(?:like|want|prefer|wish)|would\s+you\s+like|do\s+you\s+want|"
    r"want\s+me\s+to|shall\s+I|should\s+I|I\s+can\b|I\s+could\b|let\s+me\s+know|happy\s+to|"
    r"feel\s+free)\b",
    re.IGNORECASE,
)


_RUN_SEARCH = re.compile(
    r"^\s+(?:a|an|another|the|some)?\s*(?:quick\s+)?(?:web\s+)?(?:search|grep)", re.IGNORECASE
)
_RUN_OBJECT = re.compile(
    r"^\s+(?:it|(?:the|this|that|your|my|our|both)\s+(?:\w+\s+)?(?:script|command|code|program|"
    r"reproduc\w*|example|snippet|benchmark|binary|app|application|server|migration|check|"
    r"function|query|notebook|cell)s?)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(
    r";|:(?!//)|,\s+(?:and|but|so|which|then)\b|\s+(?:and then|but|so that|because)\s"
    r"|\s+and\s+(?!`?[\w/.-]+\.\w+)"
)


_QUOTED = re.compile(
    r'"[^"\n]{1,400}"'  # straight double quotes
    r"|\u201c[^\u201d\n]{1,400}\u201d"  # curly double quotes
    r"|`[^`\n]{1,400}`"  # inline code
    # Single quotes double as apostrophes ("I've", "users'"): an opening quote follows no
    # letter and hugs the next character, a closing one hugs the previous character and is
    # followed by no letter, and the shortest such span is taken.
    r"|(?<![\w'])'(?=[^\s'])[^\n]{0,400}?(?<=[^\s'])'(?!\w)"
    r"|(?<!\w)\u2018(?=\S)[^\n]{0,400}?(?<=\S)\u2019(?!\w)"
)


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the quoted passages of ``text`` (quotes included), code blocks
    skipped. A quote does not run past the end of its line, so a stray quote mark hides at most
    the rest of one line."""
    return [match.span() for match in _QUOTED.finditer(mask_code(text))]


def mask_code(text: str) -> str:
    """``text`` with fenced code blocks blanked out (same length, so offsets still hold)."""
    return _CODE_FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the sentences (and lines) of ``text``, code blocks skipped."""
    masked = mask_code(text)
    spans = []
    for match in _SENTENCE.finditer(masked):
        start, end = match.span()
        chunk = masked[start:end]
        stripped = chunk.strip()
        if not stripped:
            continue
        start += len(chunk) - len(chunk.lstrip())
        end -= len(chunk) - len(chunk.rstrip())
        spans.append((start, end))
    return spans


def find_claims(text: str, message_index: int) -> list[Claim]:
    """Every claim in one assistant message's text."""
    claims: list[Claim] = []
    for start, end in sentences(text):
        sentence = text[start:end]
        claims.extend(_action_claims(sentence, start, message_index))
        claims.extend(_result_claims(sentence, start, message_index))
    quoted = quoted_spans(text)
    # A claim that starts inside quotation marks is quoted or mentioned, not made.
    return [c for c in claims if not any(s < c.start < e for s, e in quoted)]


def _hedged(before: str) -> bool:
    """Whether the text before a verb makes the statement a plan, condition or negation."""
    return _HEDGES.search(before) is not None


_SUBJECT_PATTERNS = [
    (re.compile(_SUBJECT + r"(?P<verb>" + verbs + r")\b"), kind) for verbs, kind in _VERB_KIND
]
_BULLET_PATTERNS = [
    (re.compile(_BULLET + r"(?P<verb>(?i:" + verbs + r"))\b"), kind) for verbs, kind in _VERB_KIND
]
_COORDINATED_PATTERNS = [
    (re.compile(r"(?:\band|,)\s+(?:then\s+|also\s+|finally\s+)?(?P<verb>" + verbs + r")\b"), kind)
    for verbs, kind in _VERB_KIND
]
"""A second verb sharing the subject: "I added X and updated `foo.py`"."""
_ACTION_PATTERNS = (
    [(pattern, kind, "subject") for pattern, kind in _SUBJECT_PATTERNS]
    + [(pattern, kind, "bullet") for pattern, kind in _BULLET_PATTERNS]
    + [(pattern, kind, "coordinated") for pattern, kind in _COORDINATED_PATTERNS]
)


def _action_claims(sentence: str, offset: int, index: int) -> list[Claim]:
    found: list[Claim] = []
    if sentence.rstrip().endswith("?"):
        return found
    taken: list[tuple[int, int]] = []
    subject_at: int | None = None
    subject_perfect = False
    for pattern, kind, form in _ACTION_PATTERNS:
        for match in pattern.finditer(sentence):
            verb = match.group("verb").lower()
            verb_at = match.start("verb")
            before = sentence[:verb_at]
            if form == "bullet" and verb_at > 12:
                continue
            if form == "coordinated" and (subject_at is None or verb_at <= subject_at):
                continue
            subject_text = match.group(0)[: verb_at - match.start()]
            perfect = re.search(r"'ve|\u2019ve|\bhave\b|\bhad\b", subject_text) is not None
            if form == "coordinated":
                perfect = subject_perfect
            if _AMBIGUOUS.match(verb) and (form == "bullet" or (not perfect and verb != "read")):
                continue
            if _hedged(before):
                continue
            if form == "subject" and (subject_at is None or verb_at < subject_at):
                subject_at, subject_perfect = verb_at, perfect
            rest = sentence[match.end("verb") :]
            if _NEGATION_AFTER.match(rest):
                continue
            if any(s <= verb_at < e for s, e in taken):
                continue
            claim = _classify(kind, verb, rest, sentence, match, offset, index)
            if claim is not None:
                found.append(claim)
                taken.append((verb_at, match.end("verb")))
    found.extend(_passive_claims(sentence, offset, index))
    return found


def _classify(
    kind: str,
    verb: str,
    rest: str,
    sentence: str,
    match: re.Match[str],
    offset: int,
    index: int,
) -> Claim | None:
    start = match.start()
    while start < len(sentence) and sentence[start] in " \t>-*•+":
        start += 1
    clause = _clause(rest)
    quote_end = match.end("verb") + len(clause)
    quote = sentence[start:quote_end].rstrip(" ,;:")
    span = (offset + start, offset + start + len(quote))

    def make(k: ClaimKind, target: str | None = None, scope: str | None = None) -> Claim:
        return Claim(k, index, quote, span[0], span[1], target, scope, sentence)

    if _USER_OBJECT.match(rest) and kind not in ("run", "tested"):
        return None  # "I read your message": the user's words, not a tool's
    if verb in ("ran into", "run into") or re.match(r"^\s+(?:into|out\b|across)", rest):
        return None
    if kind == "verify":
        return make("verify")
    if kind == "tested":
        return make("tested", _first_file(clause))
    if kind == "run":
        if verb in ("started", "launched", "kicked off") and not _TEST_OBJECT.match(rest):
            return None
        if _TEST_OBJECT.match(rest):
            return make("test_run", _first_file(clause))
        if _RUN_SEARCH.match(rest):
            scope = "web" if _SEARCH_WEB.search(clause) else None
            return make("search", None, scope)
        command = _BACKTICK.search(clause)
        if command and command.start() < 30:
            return make("run", command.group(1).strip())
        linter = _LINTERS.match(rest)
        if linter:
            return make("run", linter.group("tool").lower())
        file = FILE_TOKEN.search(clause)
        if file and file.start() < 40:
            return make("run", file.group("file"))
        if _RUN_OBJECT.match(rest):
            return make("run")
        return None
    if kind == "search":
        scope = None
        if _SEARCH_WEB.search(clause):
            scope = "web"
        elif _SEARCH_CODE.search(clause):
            scope = "code"
        return make("search", None, scope)
    if kind == "fetch":
        url = re.search(r"https?://[^\s)`'\"<>]+", clause)
        if url:
            return make("fetch", url.group(0).rstrip(".,;"))
        if _FETCH_OBJECT.match(rest) or _READ_DOCS.match(rest):
            return make("fetch")
        return None
    if kind == "read":
        url = re.search(r"https?://[^\s)`'\"<>]+", clause)
        if url and verb in ("read", "opened", "checked", "consulted", "viewed", "reviewed"):
            return make("fetch", url.group(0).rstrip(".,;"))
        if _READ_DOCS.match(rest):
            return make("search", None, "docs")
        file = FILE_TOKEN.search(clause)
        if file and file.start() < 40:
            return make("read", file.group("file"))
        if _READ_CODE.match(rest):
            return make("read", None, "code")
        return None
    if kind == "change":
        if _NON_WORK_OBJECT.match(rest):
            return None
        file = FILE_TOKEN.search(clause)
        if file and file.start() < 60:
            return make("change", file.group("file"))
        if _CHANGE_OBJECT.search(clause[:80]):
            return make("change")
        return None
    return None


_PASSIVE_CHANGE = re.compile(
    r"(?P<file>`?(?:[\w.-]+/)*[\w.-]+\.\w+`?)\s+(?:has|have)\s+(?:now\s+)?been\s+"
    r"(?:successfully\s+)?(?P<verb>updated|modified|changed|edited|created|fixed|patched|"
    r"rewritten|refactored)\b"
)
_PASSIVE_TESTS = re.compile(
    r"\b(?:the\s+)?(?:full\s+|whole\s+|entire\s+)?(?:test suite|tests)\s+(?:has|have|were|"
    r"was)\s+(?:been\s+)?(?:successfully\s+)?(?:run|executed|re-?run)\b",
    re.IGNORECASE,
)


def _passive_claims(sentence: str, offset: int, index: int) -> list[Claim]:
    found: list[Claim] = []
    for match in _PASSIVE_CHANGE.finditer(sentence):
        if _hedged(sentence[: match.start()]):
            continue
        file = FILE_TOKEN.search(match.group("file"))
        if file is None:
            continue
        found.append(
            _matched("change", match, match.group(0), sentence, offset, index, file.group("file"))
        )
    for match in _PASSIVE_TESTS.finditer(sentence):
        if _hedged(sentence[: match.start()]):
            continue
        found.append(_matched("test_run", match, match.group(0), sentence, offset, index))
    return found


def _matched(
    kind: ClaimKind,
    match: re.Match[str],
    quote: str,
    sentence: str,
    offset: int,
    index: int,
    target: str | None = None,
) -> Claim:
    """The claim ``match`` makes in ``sentence`` (which starts at ``offset`` in the message)."""
    return Claim(
        kind, index, quote, offset + match.start(), offset + match.end(), target, None, sentence
    )


def _result_claims(sentence: str, offset: int, index: int) -> list[Claim]:
    found: list[Claim] = []
    if sentence.rstrip().endswith("?"):
        return found
    for pattern in (_TESTS_PASS, _TESTS_PASS_ALT):
        for match in pattern.finditer(sentence):
            before = sentence[: match.start()]
            if _hedged(before) or _FAIL_WORDS.search(sentence):
                continue
            if re.search(r"\b(?:not|n't|never|no longer)\s*$", before):
                continue
            middle = match.groupdict().get("middle") or ""
            if re.search(r"\b(?:not|never)\b", middle):
                continue
            subject = (match.groupdict().get("subject") or "").lower()
            if re.match(r"(?:test suite|tests)$", subject) and not _BARE_SUBJECT_OK.search(before):
                continue  # "the new tests pass": a subset, not the suite
            if any(c.start <= offset + match.start() < c.end for c in found):
                continue
            found.append(
                _matched("test_pass", match, match.group(0).strip(), sentence, offset, index)
            )
    for match in _COMPLETION.finditer(sentence):
        if _hedged(sentence[: match.start()]):
            continue
        quote = match.group(0).strip(" *#>-")
        found.append(_matched("completion", match, quote, sentence, offset, index))
    for match in _BACKGROUND_STATE.finditer(sentence):
        if _hedged(sentence[: match.start()]) or _OFFER.search(sentence):
            continue
        found.append(_matched("background", match, match.group(0), sentence, offset, index))
    for match in _PROMISE.finditer(sentence):
        conditional = re.search(r"\b(?:if|when|once|unless)\b", sentence[: match.start()], re.I)
        if _OFFER.search(sentence) or conditional:
            continue
        found.append(_matched("promise", match, match.group(0), sentence, offset, index))
    return found


def _clause(rest: str) -> str:
    """The object of a verb: up to the end of its clause."""
    cut = _CLAUSE_END.search(rest)
    return rest[: cut.start()] if cut else rest


def _first_file(text: str) -> str | None:
    match = FILE_TOKEN.search(text)
    return match.group("file") if match else None
