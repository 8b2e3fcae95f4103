"""The gates that spare most strings the redaction rules: they must never keep a rule from a
string it would change, and a session must come out exactly as when every rule sees every
string (the Redactor without candidates)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from understudy.replay.importers import import_paths, iter_log_files
from understudy.replay.redact import redact_session
from understudy.replay.redact.gate import SHORTEST, may_change, rules_for
from understudy.replay.redact.patterns import SECRET_WORDS, lower_each
from understudy.replay.redact.placeholders import Redactor
from understudy.replay.redact.rules import RULES
from understudy.replay.redact.walk import transform_model, walk
from understudy.trajectory import Message, Session, SourceInfo

TESTS = Path(__file__).parent
SAMPLES = TESTS / "data" / "trajectories"


def _literals() -> list[str]:
    """Every string written in the redaction tests: secrets, addresses, names and near misses."""
    found: list[str] = []
    for path in sorted(TESTS.glob("test_redact*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
    return found


LITERALS = _literals()

# Pieces that rules look for, and pieces that come close; random texts are built from them.
_PIECES = [
    *("sk-", "ghp_", "github_pat_", "xoxb-", "AKIA", "AIza", "sk_live_", "hf_", "glpat-", "npm_"),
    *("eyJ", "PRIVATE KEY", "-----BEGIN ", "Bearer ", "Authorization: token ", "://", "@"),
    *("/home/", "/Users/", "C:\\Users\\", "C:/USERS/", " > ", ":", "::", ".", "=", ": ", '"', "'"),
    *("password", "PASSWORD", "Secret_Key", "token", "TOKEN", "api-key", "ApiKey", "passwd"),
    *("secret access key", "aws_secret_access_key", "\n", " ", "\t", "<", ">", "_", "-", "/"),
    *("alice", "Alice", "bob", "example.com", "corp.io", "10", "192", "168", "0", "1", "255"),
    *("fe80", "abcd", "x1Y2z3AbCd", "A1b2C3d4E5", "\u212a", "\u0130", "\u017f", "\u00e9"),
]


def _rule_changes(index: int, text: str) -> bool:
    """Whether rule ``index`` on its own finds something to replace in ``text``."""
    return any(True for _ in RULES[index].find(Redactor(), text))


def _check_gates(text: str) -> None:
    """No rule that runs on ``text`` (one of its triggers is there) and could change it is
    left out (a rule never runs on a text without one of its triggers)."""
    gated = rules_for(text)
    for index, rule in enumerate(RULES):
        runs = any(map(text.__contains__, rule.triggers))
        if runs and index not in gated:
            assert not _rule_changes(index, text), (rule.kind, text)
        # The Redactor runs a gated rule without looking for its triggers again.
        assert runs or index not in gated, (rule.kind, text)


def test_no_gate_misses_a_string_its_rule_changes() -> None:
    texts = LITERALS + ["\n".join(LITERALS[i : i + 5]) for i in range(0, len(LITERALS), 5)]
    for text in texts:
        _check_gates(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_no_gate_misses_random_texts(pieces: list[str]) -> None:
    _check_gates("".join(pieces))


def test_strings_no_gate_hits_are_left_alone() -> None:
    found = may_change(LITERALS)
    for text in LITERALS:
        if text not in found and len(text) >= SHORTEST:
            assert Redactor().text(text) == text


def test_rules_found_by_a_one_character_trigger_do_not_ignore_case() -> None:
    # Their gates are searched over the text as written only (see gate._SCANNED).
    for rule in RULES:
        if rule.triggers and min(map(len, rule.triggers)) == 1:
            assert not rule.lower_gates, rule.kind


def test_every_secret_word_has_a_gate() -> None:
    secret = next(rule for rule in RULES if rule.kind == "secret")
    for word in SECRET_WORDS:
        assert rules_for(f"{word.upper()}=abc12345def") >= {RULES.index(secret)}, word


def _reference(session: Session) -> tuple[Session, Counter[str]]:
    """What redact_session does with every rule on every string (no gates)."""
    redactor = Redactor()
    redacted = transform_model(session, redactor.text)
    renumber = redactor.saw_placeholders and bool(redactor.counts)
    if redactor.stale or renumber:
        redactor = Redactor(redactor.users)
        if renumber:
            walk(session, redactor.reserve)
        redacted = transform_model(session, redactor.text)
    return redacted, redactor.counts


def _same(session: Session) -> None:
    redacted, counts = redact_session(session)
    expected, expected_counts = _reference(session)
    assert redacted.model_dump_json() == expected.model_dump_json()
    assert +counts == +expected_counts


@pytest.mark.parametrize(
    "path",
    [path for path, _ in iter_log_files([SAMPLES]) if path.suffix != ".md"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_sample_sessions_come_out_as_without_gates(path: Path) -> None:
    for _, session in import_paths([path], redact=False):
        _same(session)


def test_sessions_of_the_redaction_tests_come_out_as_without_gates() -> None:
    # Late home directories (a second pass), placeholders already there, repeated values.
    texts = [*LITERALS, "user <EMAIL_3> wrote", "see /home/zoltan/x", "zoltan@corp.io"]
    for start in range(0, len(texts), 7):
        chunk = texts[start : start + 7]
        session = Session(
            id="s",
            source=SourceInfo(format="native"),
            task=chunk[0],
            messages=[Message(role="user", content=text, meta={"x": [text]}) for text in chunk],
            meta={"late": "/Users/marguerite/work and marguerite"},
        )
        _same(session)


def test_a_string_found_clean_before_still_gets_a_name_learned_later() -> None:
    # The first session notes the string as holding nothing; in the second, "bobbington" is a
    # learned user name, before and after the string.
    text = "std::vector at 12:34:56 by bobbington"
    first = Session(
        id="a", source=SourceInfo(format="native"), messages=[Message(role="user", content=text)]
    )
    _same(first)
    for order in ([text, "cd /home/bobbington"], ["cd /home/bobbington", text, text]):
        messages = [Message(role="user", content=content) for content in order]
        _same(Session(id="b", source=SourceInfo(format="native"), messages=messages))
        redacted, _ = redact_session(
            Session(id="b", source=SourceInfo(format="native"), messages=messages)
        )
        assert "bobbington" not in redacted.model_dump_json()


def test_strings_after_non_ascii_ones_are_gated_as_themselves() -> None:
    # The triggers are found in the text's UTF-8 bytes: each hit must fall in its own string
    # whatever the multi-byte characters (and a lone surrogate, which JSON can hold) before it.
    before = [
        "h\u00e9llo w\u00f6rld \u2713\u2713\u2713 \U0001f600",
        "lone " + chr(0xD800) + " surrogate!",
        "plain text",
    ]
    secret = next(index for index, rule in enumerate(RULES) if rule.kind == "secret")
    api_key = next(index for index, rule in enumerate(RULES) if rule.kind == "api_key")
    assigned = "TOKEN=abc12345def"
    key = "sk-proj-" + "a1" * 12
    wide = "caf\u00e9 \u2713 PASSWORD=abc12345def"  # searched with the other non-ASCII ones
    found = may_change([*before, assigned, "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", wide, key])
    assert found.keys() == {assigned, wide, key}
    assert secret in found[assigned] and secret in found[wide] and api_key in found[key]


def test_overlapping_triggers_each_gate_their_rule() -> None:
    # "ecret_access_key" (an AWS secret's name), "ecret" and "_key" (secret words) overlap.
    text = 'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1"'
    api_key = next(index for index, rule in enumerate(RULES) if rule.kind == "api_key")
    secret = next(index for index, rule in enumerate(RULES) if rule.kind == "secret")
    assert {api_key, secret} <= rules_for(text)
    assert Redactor().text(text) == 'aws_secret_access_key = "<SECRET_1>"'
    _same(Session(id="s", source=SourceInfo(format="native"), task=text))


def _gated_rules(text: str) -> set[int]:
    """The rules ``rules_for`` should name for ``text``: those with a trigger in it and a gate
    that matches (each searched on its own: no automaton)."""
    found = set()
    for index, rule in enumerate(RULES):
        if not rule.triggers or not any(map(text.__contains__, rule.triggers)):
            continue
        gates = [re.compile(gate).search(text) for gate in rule.gates]
        lower_gates = [re.compile(gate).search(lower_each(text)) for gate in rule.lower_gates]
        if any(gates) or any(lower_gates) or not (rule.gates or rule.lower_gates):
            found.add(index)
    return found


def _overlaps() -> list[str]:
    """Texts where one trigger starts inside another and ends within or after it (the
    automaton reports only one match there), for every pair of triggers that can."""
    triggers = {trigger for rule in RULES for trigger in rule.triggers if len(trigger) > 1}
    texts = []
    for first in sorted(triggers):
        for second in sorted(triggers - {first}):
            for offset in range(1, len(first)):
                rest = first[offset:]
                if second.startswith(rest) or rest.startswith(second):
                    joined = first[:offset] + max(rest, second, key=len)
                    texts += [joined, f"x {joined}alice/x = 'abc12345def'", f"{joined} > a.b:"]
    return texts


def test_a_trigger_starting_inside_another_gates_its_rule() -> None:
    # file:///home/alice: "://" and "/home/" share a slash; aws_secret_access_key holds
    # "ecret" and "_key"; "sk-" and "-key" share a hyphen; AKIASSWORD ...
    texts = _overlaps()
    assert len(texts) > 100
    for text in [*texts, "file:///home/alice/x", "AKIASSW=abc12345def"]:
        assert rules_for(text) == _gated_rules(text), text
        _check_gates(text)


def test_a_rule_without_its_triggers_leaves_the_text_as_it_would_without_gates() -> None:
    # A gate of a rule that ignores case matches "bEaReR ...", but none of the rule's
    # triggers (bearer, Bearer, BEARER) is there: the rule does not run, gates or not.
    texts = ["Authorization: bEaReR abcdefgh12345678", "to\u212aen = 'abc12345def'"]
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[Message(role="user", content=text) for text in texts],
    )
    _same(session)


_TEXTS = st.lists(
    st.sampled_from([*_PIECES, "\u00e9t\u00e9 ", "\u2713 ", "\U0001f600"]), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds("".join, _TEXTS), min_size=1, max_size=8))
def test_random_sessions_come_out_as_without_gates(texts: list[str]) -> None:
    # Strings in ASCII and not, searched apart and mapped back to their messages, with
    # triggers anywhere in them: the same session as every rule on every string gives.
    session = Session(
        id="s",
        source=SourceInfo(format="native"),
        messages=[Message(role="user", content=text) for text in texts],
    )
    _same(session)
