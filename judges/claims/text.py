"""The shape of a claim and of the text claims are read in: the :class:`Claim` record, the
sentences of a message, its fenced code and quoted passages, and the words that hedge a
statement into a plan, a condition or a negation."""

from __future__ import annotations

import re
from collections.abc import Callable
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
    "clean_run",
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
_SENTENCE = re.compile(r"(?:[^\n.!?]+|[.!?]+(?=[^\s.!?*_)\]\"']))+[.!?]*")
"""A sentence or line: runs of text and of stops followed by more of the sentence ("3.5",
"e.g"), then its closing stops. (Each run is taken whole, as one step of the loop rather than
one step per character: the same match, found several times faster.)"""
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
    if "```" not in text and "~~~" not in text:
        return text  # most messages: no need to scan for one
    return _CODE_FENCE.sub(_blanked, text)


def _blanked(match: re.Match[str]) -> str:
    """A matched span with every character but newlines made a space."""
    return "\n".join(" " * len(line) for line in match.group(0).split("\n"))


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


_FOLD_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
"""The characters besides A-Z that ``re.IGNORECASE`` matches to an ASCII letter and that
``str.lower`` does not turn into that letter alone: capital dotted I (lowered to two
characters), dotless i and long s. (The Kelvin sign lowers to "k".)"""


def folded(text: str) -> str:
    """``text`` lowercased, and with the letters of :data:`_FOLD_TO_ASCII` made ASCII: an ASCII
    word that an ``re.IGNORECASE`` pattern matches in ``text`` is a substring of it."""
    if not text.isascii() and ("\u0130" in text or "\u0131" in text or "\u017f" in text):
        text = text.translate(_FOLD_TO_ASCII)
    return text.lower()


@dataclass(frozen=True)
class SentenceReader:
    """A reader of one kind of claim in one sentence (``read(sentence, offset, index)``), and
    words one of which is in every claim it finds.

    Most sentences claim nothing, and testing a text for a few words costs far less than
    searching it for a pattern: a reader is only run on a sentence (and a message) that holds
    one of its words (in the text as :func:`folded`, for the readers whose patterns ignore
    case; as written for the others).
    """

    read: Callable[[str, int, int], list[Claim]]
    words: tuple[str, ...]
    """Empty for a reader run on every sentence."""
    folded: bool = True

    def words_in(self, text: str, folded_text: str) -> tuple[str, ...] | None:
        """The words that ``text`` (``folded_text`` once folded) holds: those a sentence of it
        can hold, and the only ones to look for there. None when it holds none (nor can any
        of its sentences); ``()`` for a reader with no words."""
        if not self.words:
            return ()
        haystack = folded_text if self.folded else text
        found = tuple(filter(haystack.__contains__, self.words))  # (a loop in C)
        return found or None

    def holds(self, words: tuple[str, ...], sentence: str, folded_sentence: str) -> bool:
        """Whether ``sentence`` (``folded_sentence`` once folded) holds one of ``words`` (the
        :meth:`words_in` its message): whether to read it."""
        haystack = folded_sentence if self.folded else sentence
        return any(map(haystack.__contains__, words))


_HEDGES_IN_FOLDED = re.compile(HEDGES.pattern)
""":data:`HEDGES` as written, for :func:`folded` text: the same matches (its words are ASCII,
and folding maps each character to one character, word characters to word characters),
found four times faster (a case-sensitive alternation skips the words that do not start
with the character at hand)."""


def hedged(before: str) -> bool:
    """Whether the text before a verb makes the statement a plan, condition or negation."""
    return _HEDGES_IN_FOLDED.search(folded(before)) is not None


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
