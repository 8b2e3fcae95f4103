"""Which strings of a session the redaction rules could change, found for all of them at once.

Running every rule on every string costs a dozen substring tests and regex calls per string,
while nearly all strings of a log hold nothing to redact. So each rule has *gates*
(:attr:`~understudy.replay.redact.rules.Rule.gates`): regexes of which one is certain to match
in any string where the rule would replace something (the start of its own pattern, or a
literal its matches hold). The strings are joined with newlines and each gate is searched over
the whole text, at C speed; a string no gate hits is known to come out unchanged, and for the
others the Redactor runs only the rules whose gates hit (:meth:`~understudy.replay.redact
.placeholders.Redactor.text`). A gate may hit a string that holds nothing (it then costs the
full check), but must never miss one.

Gates never match a newline, so no hit spans two strings. What the gates found in a string is
remembered across sessions (up to a bound): logs of one agent repeat their prompts and tool
descriptions.
User names learned from home directories are not a gate's business: the Redactor looks for the
names it knows in every string itself.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate

from understudy.replay.redact.patterns import lower_each
from understudy.replay.redact.rules import RULES

__all__ = ["SHORTEST", "may_change", "note_unchanged", "rules_for", "was_unchanged"]

SHORTEST = 7
"""No gated rule matches a string shorter than this (only a learned user name fits one)."""


def _gates(lower: bool) -> tuple[tuple[re.Pattern[str], int], ...]:
    """``(gate, index of its rule in RULES)``; a rule with triggers but no gates is gated by
    its triggers (the learned user names have none, and are left to the Redactor)."""
    gates = []
    for index, rule in enumerate(RULES):
        patterns = rule.lower_gates if lower else rule.gates
        if not lower and not rule.gates and not rule.lower_gates:
            patterns = tuple(map(re.escape, rule.triggers))
        gates += [(re.compile(pattern), index) for pattern in patterns]
    return tuple(gates)


_GATES = _gates(lower=False)
_LOWER_GATES = _gates(lower=True)
# All gates in one regex: slower per character than one gate (whose literal start makes the
# search fast), but one call instead of dozens for a short text, which usually hits none.
_ANY = re.compile("|".join(f"(?:{gate.pattern})" for gate, _ in _GATES))
_ANY_LOWER = re.compile("|".join(f"(?:{gate.pattern})" for gate, _ in _LOWER_GATES))
_SHORT_TEXT = 2000

_KNOWN_MAX_BYTES = 8_000_000
"""About how much memory the strings whose gates are known may take before they are forgotten
(a string is counted with its object's overhead)."""
_STRING_OVERHEAD = 100  # a str object and its entry in the set (and the dict, if gated)
_known: set[str] = set()
_known_bytes = 0
_gated: dict[str, frozenset[int]] = {}
"""The strings of ``_known`` some gate hit, with the rules of those gates."""
_unchanged: set[str] = set()
"""Strings some gate hit but that every rule left as they were (learned user names aside)."""
_rules_of: dict[str, frozenset[int]] = {}
"""What :func:`rules_for` found in a text."""


def may_change(strings: Iterable[str]) -> dict[str, frozenset[int]]:
    """The strings of ``strings`` that some rule may change, each with the indexes (in RULES)
    of the rules that may; the rest certainly stay as they are (learned user names aside).

    Strings found unchanged before (:func:`note_unchanged`) are left out: a session whose
    gated strings all are -- timestamps that look like IPv6 addresses, say -- is done at once.
    """
    unique = dict.fromkeys(strings).keys()
    # Set operations, in C: most strings of a session are short or were seen before.
    fresh = [text for text in unique - _known if len(text) >= SHORTEST]
    found = {text: _gated[text] for text in (unique & _gated.keys()) - _unchanged}
    if not fresh:
        return found
    hits = _hits(fresh)
    _charge(sum(map(len, fresh)) + _STRING_OVERHEAD * len(fresh))
    _known.update(fresh)
    for index, rules in hits.items():
        found[fresh[index]] = _gated[fresh[index]] = frozenset(rules)
    return found


def note_unchanged(text: str) -> None:
    """Remember that no rule changes ``text`` (but the learned user names, which the Redactor
    checks for itself): a gate hit it, and it turned out to hold nothing."""
    _charge(len(text) + _STRING_OVERHEAD)
    _unchanged.add(text)


def was_unchanged(text: str) -> bool:
    """Whether :func:`note_unchanged` noted ``text`` (and has not forgotten it)."""
    return text in _unchanged


def _charge(size: int) -> None:
    """Count ``size`` more bytes of remembered strings, forgetting them all first when that
    would pass the bound."""
    global _known_bytes
    if _known_bytes + size > _KNOWN_MAX_BYTES:
        _forget()
        _known_bytes = 0
    _known_bytes += size


def _forget() -> None:
    _known.clear()
    _gated.clear()
    _unchanged.clear()
    _rules_of.clear()


def rules_for(text: str) -> frozenset[int]:
    """The indexes (in RULES) of the rules that may change ``text``, whatever its length (but
    the learned user names).

    Asked of a text some rule has just changed (``/home/<USER_1>/...``): remembered like the
    gates of :func:`may_change`, since such texts repeat from session to session too.
    """
    found = _rules_of.get(text)
    if found is None:
        rules = _hits([text]).get(0)
        found = frozenset() if rules is None else frozenset(rules)
        _charge(len(text) + _STRING_OVERHEAD)
        _rules_of[text] = found
    return found


def _hits(strings: list[str]) -> dict[int, set[int]]:
    """For each string some gate matches in (by index), the rules of those gates."""
    text = "\n".join(strings)
    starts = [0, *accumulate(len(s) + 1 for s in strings)]  # where each string begins
    hits: dict[int, set[int]] = {}
    lowered = text.lower()
    if len(lowered) != len(text):
        # A few characters lengthen when lower-cased; the rules lower each string on its own.
        lowered = "\n".join(map(lower_each, strings))
    if len(text) < _SHORT_TEXT and not _ANY.search(text) and not _ANY_LOWER.search(lowered):
        return hits
    for gates, searched in ((_GATES, text), (_LOWER_GATES, lowered)):
        for gate, rule in gates:
            match = gate.search(searched)
            while match is not None:
                index = bisect_right(starts, match.start()) - 1
                hits.setdefault(index, set()).add(rule)
                match = gate.search(searched, starts[index + 1])  # on to the next string
    return hits
