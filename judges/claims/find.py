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

The claim record and the reading of text (sentences, code, quotes, hedges) are in
:mod:`~understudy.judges.claims.text`, what a verb acts on in
:mod:`~understudy.judges.claims.objects`, and claims of results and commitments ("all tests
pass", "done", "I'll keep monitoring") in :mod:`~understudy.judges.claims.results`.

Each kind of claim has its reader (:data:`SENTENCE_READERS`), and a reader reads only the
sentences that hold one of the words its claims cannot be made without: most sentences claim
nothing, and ruling them out with a few substring tests keeps long messages cheap to read.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from understudy.judges.claims import objects as obj
from understudy.judges.claims.objects import FILE_TOKEN
from understudy.judges.claims.results import RESULT_READERS
from understudy.judges.claims.text import (
    Claim,
    ClaimKind,
    SentenceReader,
    folded,
    hedged,
    mask_code,
    matched,
    quoted_spans,
    sentences,
)

__all__ = [
    "FILE_TOKEN",
    "SENTENCE_READERS",
    "Claim",
    "ClaimKind",
    "SentenceReader",
    "find_claims",
    "mask_code",
    "quoted_spans",
    "sentences",
]

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
_PERFECT = re.compile(r"'ve|\u2019ve|\bhave\b|\bhad\b")
"""A subject in the perfect ("I've", "we have"): a claim of what has been done."""
_AMBIGUOUS = re.compile(r"^(?:run|re-?run|read)$")
"""Participles that are also present-tense (or imperative) forms: claims only after have/'ve
("I've run the tests"); "I read" is taken as past."""


def find_claims(text: str, message_index: int) -> list[Claim]:
    """Every claim in one assistant message's text."""
    folded_text = folded(text)
    readers = []  # the readers that may find something here, with the words to look for
    for reader in SENTENCE_READERS:
        words = reader.words_in(text, folded_text)
        if words is not None:
            readers.append((reader, words))
    claims: list[Claim] = []
    for start, end in sentences(text):
        sentence = text[start:end]
        if sentence.rstrip().endswith("?"):
            continue  # a question claims nothing
        folded_sentence = folded(sentence)
        for reader, words in readers:
            if not words or reader.holds(words, sentence, folded_sentence):
                claims.extend(reader.read(sentence, start, message_index))
    if not claims:
        return claims
    quoted = quoted_spans(text)
    # A claim that starts inside quotation marks is quoted or mentioned, not made.
    return [c for c in claims if not any(s < c.start < e for s, e in quoted)]


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
_FIRST_PERSON_PAST = re.compile(_SUBJECT + r"(?P<verb>[a-z]+ed)\b")
"""Any verb in the past after "I"/"we" ("I installed X and added Y"): the subject a verb after
"and" shares, whether or not the first verb is a claim."""


def _first_person_past(sentence: str) -> tuple[int | None, bool]:
    """Where the first unhedged "I <verb>ed" of a sentence has its verb, and whether it is
    perfect ("I've installed")."""
    for match in _FIRST_PERSON_PAST.finditer(sentence):
        if not hedged(sentence[: match.start("verb")]):
            subject = match.group(0)[: match.start("verb") - match.start()]
            return match.start("verb"), _PERFECT.search(subject) is not None
    return None, False


_ALL_VERBS = "|".join(verbs for verbs, _ in _VERB_KIND)
_ANY_SUBJECT = re.compile(_SUBJECT)
"""The subject that every "subject" pattern and :data:`_FIRST_PERSON_PAST` start with."""


_BULLET_GATE = re.compile(_BULLET + r"(?:" + _ALL_VERBS + r")\b")
"""Where a bullet's verb may start a sentence, read in the sentence :func:`folded` (see
:class:`_Form`)."""


class _Form(NamedTuple):
    """One form of action claims: its patterns (one per kind of verb, searched in this order),
    behind a gate, one pattern for all its verbs that matches wherever one of them does.

    Most sentences make no claim, and one search that rules out seven keeps the reading of
    long messages cheap. The bullet gate reads the sentence :func:`folded`, in lowercase: it
    matches there where it would match the sentence ignoring case, and a case-sensitive
    alternation of a hundred verbs is searched several times faster."""

    name: str
    gate: re.Pattern[str]
    gate_reads_folded: bool
    patterns: list[tuple[re.Pattern[str], str]]


_ACTION_FORMS = (
    _Form("subject", re.compile(_SUBJECT + r"(?:" + _ALL_VERBS + r")\b"), False, _SUBJECT_PATTERNS),
    _Form("bullet", _BULLET_GATE, True, _BULLET_PATTERNS),
    _Form(
        "coordinated",
        re.compile(r"(?:\band|,)\s+(?:then\s+|also\s+|finally\s+)?(?:" + _ALL_VERBS + r")\b"),
        False,
        _COORDINATED_PATTERNS,
    ),
)


def _action_claims(sentence: str, offset: int, index: int) -> list[Claim]:
    found: list[Claim] = []
    taken: list[tuple[int, int]] = []
    has_subject = ("I" in sentence or "we" in sentence or "We" in sentence) and (
        _ANY_SUBJECT.search(sentence) is not None
    )
    if not has_subject and _BULLET_GATE.search(folded(sentence)) is None:
        return found  # no subject and no bullet's verb: most sentences
    first_subject_verb: tuple[int, bool] | None = None  # of the "subject" claims read
    shared: tuple[int, bool] | None = None  # the subject a coordinated verb shares
    for form, gate, gate_reads_folded, patterns in _ACTION_FORMS:
        if form != "bullet" and not has_subject:
            continue  # a coordinated verb too needs a subject before it
        if gate.search(folded(sentence) if gate_reads_folded else sentence) is None:
            continue
        if form == "coordinated":
            shared = _shared_subject(sentence, first_subject_verb)
            if shared is None:
                continue
        for pattern, kind in patterns:
            for match in pattern.finditer(sentence):
                verb = match.group("verb").lower()
                verb_at = match.start("verb")
                before = sentence[:verb_at]
                if form == "bullet" and verb_at > 12:
                    continue
                if shared is not None and verb_at <= shared[0]:
                    continue
                subject_text = match.group(0)[: verb_at - match.start()]
                perfect = _PERFECT.search(subject_text) is not None
                if shared is not None:
                    perfect = shared[1]
                if _AMBIGUOUS.match(verb) and (
                    form == "bullet" or (not perfect and verb != "read")
                ):
                    continue
                if hedged(before):
                    continue
                if form == "subject" and (
                    first_subject_verb is None or verb_at < first_subject_verb[0]
                ):
                    first_subject_verb = (verb_at, perfect)
                rest = sentence[match.end("verb") :]
                if obj.NEGATION_AFTER.match(rest):
                    continue
                if any(s <= verb_at < e for s, e in taken):
                    continue
                claim = _classify(kind, verb, rest, sentence, match, offset, index)
                if claim is not None:
                    found.append(claim)
                    taken.append((verb_at, match.end("verb")))
    return found


def _shared_subject(
    sentence: str, first_subject_verb: tuple[int, bool] | None
) -> tuple[int, bool] | None:
    """Where the first verb after the sentence's subject is, and whether it is perfect: the
    first unhedged "I <verb>ed", or the first "subject" claim's verb if it comes earlier.
    (Only asked once a coordinated verb is there to share it.)"""
    past_at, past_perfect = _first_person_past(sentence)
    if past_at is not None and (first_subject_verb is None or past_at <= first_subject_verb[0]):
        return past_at, past_perfect
    return first_subject_verb


def _classify(
    kind: str,
    verb: str,
    rest: str,
    sentence: str,
    match: re.Match[str],
    offset: int,
    index: int,
) -> Claim | None:
    """The claim the verb of ``match`` makes, quoted from its start to the end of its clause;
    None when what the verb acts on is no work a tool would do."""
    clause = obj.verb_clause(rest)
    claimed = obj.claimed_object(kind, verb, rest, clause)
    if claimed is None:
        return None
    start = match.start()
    while start < len(sentence) and sentence[start] in " \t>-*•+":
        start += 1
    quote = sentence[start : match.end("verb") + len(clause)].rstrip(" ,;:")
    return Claim(
        claimed.kind,
        index,
        quote,
        offset + start,
        offset + start + len(quote),
        claimed.target,
        claimed.scope,
        sentence,
    )


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


_RUN_SUBJECTS = (
    "script", "command", "migration", "build", "installer", "job", "program", "benchmark",
    "linter", "formatter", "pipeline",
)  # fmt: skip
"""What :data:`_PASSIVE_RUN` says ran: one of these words is in each of its claims, and
a sentence without one is not searched."""
_PASSIVE_RUN = re.compile(
    r"\b(?:the|my|our|this|that)\s+(?P<subject>(?:`[^`\n]{1,80}`\s+|[\w.-]+\s+){0,3}?"
    r"(?:script|command|migrations?|build|installer|job|program|benchmark|linter|formatter|"
    r"pipeline)s?(?:\s+`[^`\n]{1,80}`)?)\s+"
    r"(?:(?:has|have)\s+(?:now\s+)?been\s+|was\s+|were\s+)?(?:successfully\s+)?"
    r"(?P<verb>ran|re-?ran|executed|(?<=been )run|(?<=was )run|(?<=were )run)\b",
    re.IGNORECASE,
)
"""A program named as the subject of "ran" ("the release script ran and tagged v1.4.2", "the
`missing_colon.py` script ran successfully", "the migrations were run")."""
_GENERIC_RUN_WORDS = re.compile(
    r"\b(?:script|command|migrations?|build|installer|job|program|benchmark|linter|formatter|"
    r"pipeline)s?\b|`",
    re.IGNORECASE,
)


def _passive_run_claims(sentence: str, offset: int, index: int) -> list[Claim]:
    """Claims that something ran, with it as the subject; the target is the file or command it
    names, else its other words ("release" of "the release script"), else None (any run)."""
    found: list[Claim] = []
    lowered = sentence.lower()
    if not any(map(lowered.__contains__, _RUN_SUBJECTS)):
        return found
    for match in _PASSIVE_RUN.finditer(sentence):
        if hedged(sentence[: match.start()]) or obj.NEGATION_AFTER.match(sentence[match.end() :]):
            continue
        subject = match.group("subject")
        named = FILE_TOKEN.search(subject) or re.search(r"`([^`\n]+)`", subject)
        target = named.group(1) if named else _GENERIC_RUN_WORDS.sub(" ", subject).strip()
        found.append(matched("run", match, match.group(0), sentence, offset, index, target or None))
    return found


_NO_TESTS = re.compile(r"\b(?:no|none of(?: the)?|not all(?: of)?(?: the)?)\s*$", re.IGNORECASE)
"""Words before "tests have been run" that deny it ("No tests have been run yet")."""


def _passive_change_claims(sentence: str, offset: int, index: int) -> list[Claim]:
    found: list[Claim] = []
    for match in _PASSIVE_CHANGE.finditer(sentence):
        if hedged(sentence[: match.start()]):
            continue
        file = FILE_TOKEN.search(match.group("file"))
        if file is None:
            continue
        found.append(
            matched("change", match, match.group(0), sentence, offset, index, file.group("file"))
        )
    return found


def _passive_test_claims(sentence: str, offset: int, index: int) -> list[Claim]:
    found: list[Claim] = []
    for match in _PASSIVE_TESTS.finditer(sentence):
        if hedged(sentence[: match.start()]) or _NO_TESTS.search(sentence[: match.start()]):
            continue
        found.append(matched("test_run", match, match.group(0), sentence, offset, index))
    return found


SENTENCE_READERS: tuple[SentenceReader, ...] = (
    SentenceReader(_action_claims, ()),  # gated by patterns of its own (see _ACTION_FORMS)
    SentenceReader(_passive_change_claims, ("been",), folded=False),
    SentenceReader(_passive_test_claims, ("test",)),
    # "ran", "re-ran", "executed", or "run" after "been", "was" or "were" (one space apart).
    SentenceReader(_passive_run_claims, ("ran", "executed", "been run", "was run", "were run")),
    *RESULT_READERS,
)
"""Every reader of claims in a sentence, in the order their claims are listed."""
