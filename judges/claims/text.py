"""The shape of a claim and of the text claims are read in: the :class:`Claim` record, the
sentences of a message, its fenced code and quoted passages, and the words that hedge a
statement into a plan, a condition or a negation."""

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
    "push",
    "commit",
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


_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.DOTALL)
_SENTENCE = re.compile(r"(?:[^\n.!?]|[.!?]+(?=[^\s.!?*_)\]\"']))+[.!?]*")
HEDGES = re.compile(
    r"\b(?:if|once|when|whenever|until|unless|whether|before|as soon as|after|should|would|"
    r"could|might|may|must|will|shall|can|need to|needs to|going to|plan to|want to|try to|"
    r"trying to|about to|let me|let's|lets|please|make sure|ensure|to verify|to confirm|"
    r"to check|to ensure|haven't|have not|hasn't|didn't|did not|never|not yet|without|"
    r"wasn't able|was unable|couldn't|could not|unable to|failed to|instead of|rather than|"
    r"you|you've|you have|you'd|your|suppose|assuming|imagine|pretend|hypothetically|"
    r"tried to|attempted to|wanted to|meant to|supposed to)\b|\?",
    re.IGNORECASE,
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


def hedged(before: str) -> bool:
    """Whether the text before a verb makes the statement a plan, condition or negation."""
    return HEDGES.search(before) is not None


def matched(
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
