"""Which strings of a session the redaction rules could change, found for all of them at once.

Running every rule on every string costs a dozen substring tests and regex calls per string,
while nearly all strings of a log hold nothing to redact. A rule only runs on a string holding
one of its *triggers* (:attr:`~understudy.replay.redact.rules.Rule.triggers`, literals), and
each rule has *gates* (:attr:`~understudy.replay.redact.rules.Rule.gates`): regexes of which
one is certain to match in any string where the rule would replace something (the start of its
own pattern, or a literal its matches hold). So a string may change under a rule only when it
holds one of the rule's triggers and one of its gates matches. A string no rule may change is
known to come out unchanged, and for the others the Redactor runs only those rules
(:meth:`~understudy.replay.redact.placeholders.Redactor.text`). A gate may hit a string that
holds nothing (it then costs the full check), but must never miss one.

The strings are joined with newlines and searched all at once, at C speed:

* the triggers of every rule (but those of one character) in one pass of an Aho-Corasick
  automaton (:mod:`ahocorasick_rs`) over the text's UTF-8 bytes -- one pass instead of one
  regex scan per gate, which made the gates most of an import's time on logs not seen before;
  the gates of those rules are then searched only in the strings that hold a trigger;
* the gates of the rules whose triggers are single characters (``@``, ``.``, ``:``, present in
  most strings) over the whole text, one regex scan each.

No trigger or gate matches a newline, so no hit spans two strings. What the gates found in a
string is remembered across sessions (up to a bound): logs of one agent repeat their prompts
and tool descriptions.
User names learned from home directories are not a gate's business: the Redactor looks for the
names it knows in every string itself.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import NamedTuple

import ahocorasick_rs

from understudy.replay.redact.patterns import lower_each
from understudy.replay.redact.rules import RULES

__all__ = ["SHORTEST", "may_change", "note_unchanged", "rules_for", "was_unchanged"]

SHORTEST = 7
"""No gated rule matches a string shorter than this (only a learned user name fits one)."""


class _RuleGates(NamedTuple):
    """The gates of one rule, compiled: searched as written, and in the lower-cased text."""

    rule: int
    gates: tuple[re.Pattern[str], ...]
    lower_gates: tuple[re.Pattern[str], ...]


def _rule_gates(index: int) -> _RuleGates:
    """A rule's gates; a rule with triggers but no gates is gated by its triggers alone."""
    rule = RULES[index]
    return _RuleGates(
        index,
        tuple(map(re.compile, rule.gates)),
        tuple(map(re.compile, rule.lower_gates)),
    )


class _Trigger(NamedTuple):
    """What a match of one pattern of the automaton gates: the rules of every trigger it holds
    (its own first), and the triggers of other rules that may start inside it and end after
    it -- ``(offset, trigger, its rule's gates)`` -- which the search, as it does not report
    overlapping matches, passes over."""

    gates: tuple[_RuleGates, ...]
    overlapping: tuple[tuple[int, bytes, _RuleGates], ...]


def _by_triggers() -> tuple[ahocorasick_rs.BytesAhoCorasick, list[_Trigger]]:
    """The automaton of the triggers of every rule with triggers of more than one character,
    and for each of its patterns, what a match of it gates.

    The automaton reports the leftmost-longest matches, which do not overlap: a search for
    those uses a fast prefilter (about twice as fast as one for overlapping matches). A
    trigger that starts inside a reported match either ends within it (``gates``) or after
    it (``overlapping``, checked where the match is); one that starts after it is reported.
    """
    triggers = [
        (trigger.encode(), index)
        for index, rule in enumerate(RULES)
        if rule.triggers and min(map(len, rule.triggers)) > 1
        for trigger in rule.triggers
    ]
    gates = {index: _rule_gates(index) for _, index in triggers}
    table: list[_Trigger] = []
    for trigger, index in triggers:
        inside = dict.fromkeys([index, *(i for other, i in triggers if other in trigger)])
        overlapping = tuple(
            (offset, other, gates[i])
            for offset in range(1, len(trigger))
            for other, i in triggers
            if i not in inside
            and len(other) > len(trigger) - offset
            and other.startswith(trigger[offset:])
        )
        table.append(_Trigger(tuple(gates[i] for i in inside), overlapping))
    automaton = ahocorasick_rs.BytesAhoCorasick(
        [trigger for trigger, _ in triggers], matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_LONGEST
    )
    return automaton, table


_AUTOMATON, _TRIGGERS = _by_triggers()
_SCANNED = tuple(
    (re.compile(gate), index)
    for index, rule in enumerate(RULES)
    if rule.triggers and min(map(len, rule.triggers)) == 1
    for gate in rule.gates or map(re.escape, rule.triggers)
)
"""``(gate, index of its rule)`` of the rules with a trigger of one character: searched over
the whole text (such a trigger is in most strings; their gates are what is rare). None of
these rules ignores case (a test holds them to it): they have no lower-case gates."""

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
    of the rules that may (each holds one of their triggers); the rest certainly stay as they
    are (learned user names aside).

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
    """For each string some rule may change (by index), the rules that may.

    The strings all in ASCII are searched apart from the others: joined with one string that
    is not, they would all be widened to two or four bytes a character, and every search and
    the encoding made several times slower.
    """
    if all(text.isascii() for text in strings):  # (a flag of each string: no scan)
        return _hits_of(strings)
    hits: dict[int, set[int]] = {}
    for wide in (False, True):
        indexes = [index for index, text in enumerate(strings) if text.isascii() != wide]
        if not indexes:
            continue
        found = _hits_of([strings[index] for index in indexes])
        hits.update((indexes[position], rules) for position, rules in found.items())
    return hits


def _hits_of(strings: list[str]) -> dict[int, set[int]]:
    """:func:`_hits` of strings searched together."""
    hits: dict[int, set[int]] = {}
    text = "\n".join(strings)
    starts = [0, *accumulate(len(s) + 1 for s in strings)]  # where each string begins
    for gate, rule in _SCANNED:
        match = gate.search(text)
        while match is not None:
            index = bisect_right(starts, match.start()) - 1
            hits.setdefault(index, set()).add(rule)
            match = gate.search(text, starts[index + 1])  # on to the next string
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate (from JSON) is kept
    if len(data) != len(text):  # not all ASCII: where each string begins in the bytes
        sizes = (
            len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass")) for s in strings
        )
        starts = [0, *accumulate(size + 1 for size in sizes)]
    lowered: dict[int, str] = {}
    checked: set[tuple[int, int]] = set()
    for pattern, start, _ in _AUTOMATON.find_matches_as_indexes(data):
        index = bisect_right(starts, start) - 1
        trigger = _TRIGGERS[pattern]
        found = list(trigger.gates)
        for offset, other, gates in trigger.overlapping:  # (no trigger holds a newline)
            if data.startswith(other, start + offset):
                found.append(gates)
        for gates in found:
            if (index, gates.rule) in checked:
                continue
            checked.add((index, gates.rule))
            if _gate_matches(strings[index], gates, lowered, index):
                hits.setdefault(index, set()).add(gates.rule)
    return hits


def _gate_matches(text: str, gates: _RuleGates, lowered: dict[int, str], index: int) -> bool:
    """Whether one of the gates matches ``text`` (string ``index``, which holds a trigger of
    the rule): in the text as written, or lower-cased (once per string, in ``lowered``)."""
    if not gates.gates and not gates.lower_gates:
        return True
    if any(gate.search(text) for gate in gates.gates):
        return True
    if not gates.lower_gates:
        return False
    lower = lowered.get(index)
    if lower is None:
        lower = lowered[index] = lower_each(text)
    return any(gate.search(lower) for gate in gates.lower_gates)
