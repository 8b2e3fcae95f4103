"""The cheap tests that let the claim readers and the ledger skip text, held to what they stand
in for: a skipped sentence, message or segment must be one the full reading finds nothing in.

- :func:`~understudy.judges.claims.text.folded` text holds every ASCII word that a
  case-insensitive pattern matches in the original, and keeps positions and word characters;
- each sentence reader's words are in every claim it finds (its gate never hides one);
- the sentence and code-block patterns rewritten for speed match as the originals did;
- the test-runner check that returns early for most programs still knows every runner.
"""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest

from understudy.judges import commands as sh
from understudy.judges.claims import find_claims, mask_code, sentences
from understudy.judges.claims.find import SENTENCE_READERS, quoted_spans
from understudy.judges.claims.text import HEDGES, folded, hedged

LABELLED = Path(__file__).parent / "data" / "judges" / "labelled.jsonl"

_OLD_SENTENCE = re.compile(r"(?:[^\n.!?]|[.!?]+(?=[^\s.!?*_)\]\"']))+[.!?]*")
"""The sentence pattern as first written (one character per step of its loop)."""


def _labelled_texts() -> list[str]:
    texts = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        for part in (case["session"], case["rollout"]):
            for message in (part or {}).get("messages", []):
                if message.get("content"):
                    texts.append(message["content"])
    return texts


def _generated_sentences(count: int) -> list[str]:
    rng = random.Random(11)
    subjects = [
        "I",
        "We",
        "I've",
        "I have also",
        "we",
        "",
        "- ",
        "* **",
        "1. ",
        "\u2705 ",
        "I\u2019ve",
    ]
    verbs = [
        "ran", "re-ran", "tested", "searched", "looked up", "read", "checked that", "verified",
        "fetched", "updated", "made the necessary changes", "pushed", "committed", "started",
        "Ran", "UPDATED", "analysed", "did a quick web search",
    ]  # fmt: skip
    objects = [
        "the tests", "pytest -q", "`src/app.py`", "foo.py", "the docs", "the codebase",
        "https://example.com/a", "the linter", "the script", "and updated `bar.py`",
    ]  # fmt: skip
    tails = [
        ".", "", " and all tests pass.", " The tests now pass.", " I'll keep monitoring it.",
        " It is running in the background.", " The bug is fixed.", " Done!",
        " foo.py has been updated.", " The tests have been run.", " All green.",
        " I committed and pushed the fix.", " Give me a few minutes.",
    ]  # fmt: skip
    return [
        " ".join(x for x in (rng.choice(subjects), rng.choice(verbs), rng.choice(objects)) if x)
        + rng.choice(tails)
        for _ in range(count)
    ]


TEXTS = _labelled_texts() + _generated_sentences(3000)


def test_folding_keeps_the_letters_case_insensitive_patterns_match() -> None:
    letters = re.compile("[a-z]", re.IGNORECASE)
    word = re.compile(r"\w")
    for code in range(0x110000):
        char = chr(code)
        fold = folded(char)
        if letters.fullmatch(char):  # A-Z, and the few others the pattern takes for them
            letter = next(x for x in string.ascii_lowercase if re.fullmatch(x, char, re.I))
            assert fold == letter, hex(code)
        elif fold != char:
            assert len(fold) == 1, hex(code)  # one character for one: positions hold
            assert bool(word.fullmatch(char)) == bool(word.fullmatch(fold)), hex(code)
            assert char.isspace() == fold.isspace(), hex(code)
            assert fold not in string.ascii_lowercase, hex(code)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I ran it",
        "IF I RAN IT",
        "Once I ran it",
        "\u0130f I ran it",  # capital dotted I
        "\u0131f I ran it",  # dotless i
        "Let'\u017f see",  # long s
        "should?",
        "you\u2019ve",
        "Shouldn't",
        "As soon as",
        "as  soon as",
        "WITHOUT",
        "nevertheless",
    ],
)
def test_hedged_agrees_with_the_case_insensitive_pattern(text: str) -> None:
    assert hedged(text) == (HEDGES.search(text) is not None)


def test_hedged_agrees_on_every_prefix_of_the_sample_texts() -> None:
    for text in TEXTS[:400]:
        for end in range(0, len(text), 7):
            assert hedged(text[:end]) == (HEDGES.search(text[:end]) is not None)


def test_every_claim_a_reader_finds_holds_one_of_its_words() -> None:
    checked = 0
    for text in TEXTS:
        for start, end in sentences(text):
            sentence = text[start:end]
            for reader in SENTENCE_READERS:
                if not reader.words:
                    continue
                found = reader.read(sentence, start, 0)
                if found:
                    haystack = folded(sentence) if reader.folded else sentence
                    assert any(w in haystack for w in reader.words), (reader.read, sentence)
                    checked += 1
    assert checked > 1000


def test_gated_readers_find_what_reading_every_sentence_finds() -> None:
    found = 0
    for text in TEXTS:
        ungated = []
        for start, end in sentences(text):
            sentence = text[start:end]
            if sentence.rstrip().endswith("?"):
                continue
            for reader in SENTENCE_READERS:
                ungated.extend(reader.read(sentence, start, 0))
        quoted = quoted_spans(text)
        made = [c for c in ungated if not any(s < c.start < e for s, e in quoted)]
        assert find_claims(text, 0) == made
        found += len(made)
    assert found > 1000


def test_the_sentence_pattern_matches_as_first_written() -> None:
    rng = random.Random(5)
    alphabet = "ab .!?\n\t*_)]\"'x3"
    samples = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(5000)
    ]
    for text in samples + TEXTS[:500]:
        old = [m.span() for m in _OLD_SENTENCE.finditer(mask_code(text))]
        new = [
            m.span()
            for m in re.finditer(
                r"(?:[^\n.!?]+|[.!?]+(?=[^\s.!?*_)\]\"']))+[.!?]*", mask_code(text)
            )
        ]
        assert old == new


@pytest.mark.parametrize(
    "text",
    [
        "no code",
        "a ```b\nc``` d",
        "```\nx\r\ny\n```\nafter",
        "~~~\nopen to the end",
        "```a``````b```",
    ],
)
def test_code_is_blanked_character_for_character(text: str) -> None:
    fence = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.DOTALL)
    expected = fence.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    assert mask_code(text) == expected


@pytest.mark.parametrize(
    ("command", "framework"),
    [
        ("pytest -q", "pytest"),
        ("py.test", "pytest"),
        ("pytest-3 tests", "pytest"),
        ("python -m pytest", "pytest"),
        ("python3.11 -m unittest discover", "unittest"),
        ("pypy3 -m pytest", "pytest"),
        ("py -m pytest", "pytest"),
        ("python runtests.py", "script"),
        ("tox -e py311", "tox"),
        ("nox", "nox"),
        ("npm test", "npm"),
        ("yarn test", "npm"),
        ("pnpm exec vitest", "vitest"),
        ("bun test", "bun"),
        ("jest", "jest"),
        ("vitest run", "vitest"),
        ("mocha", "mocha"),
        ("ava", "ava"),
        ("go test ./...", "go"),
        ("cargo test", "cargo"),
        ("make test", "make"),
        ("gmake check", "make"),
        ("rspec", "rspec"),
        ("phpunit", "phpunit"),
        ("ctest", "ctest"),
        ("mvn test", "mvn"),
        ("./mvnw verify", "mvn"),
        ("gradle test", "gradle"),
        ("./gradlew check", "gradlew"),
        ("dotnet test", "dotnet"),
        ("deno test", "deno"),
        ("swift test", "swift"),
        ("mix test", "mix"),
        ("rake test", "rake"),
        ("ls -la", None),
        ("", None),
    ],
)
def test_every_test_runner_is_still_recognised(command: str, framework: str | None) -> None:
    segments = sh.parse_command(command).segments
    found = sh.framework_of(segments[0]) if segments else None
    assert found == framework
