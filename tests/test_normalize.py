"""Output normalization: what each mask hides, what it must keep, and how mismatches are told."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from understudy.replay.normalize import (
    MASKS,
    MISMATCH_REASONS,
    Mask,
    OutputMismatch,
    compare_outputs,
    compare_tool_results,
    normalize_output,
)
from understudy.trajectory import Message

SHA1 = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


MASKED_CASES = [
    # Temporary paths
    ("rootdir: /tmp/pytest-of-root/pytest-3/test_x0", "rootdir: <TMP>"),
    ("/tmp/tmpab12cd_x/a.py:12: AssertionError", "<TMP>:12: AssertionError"),
    ("wrote /var/tmp/build.log", "wrote <TMP>"),
    ("cd '/private/var/folders/x1/abc_d/T/tmpq'", "cd '<TMP>'"),
    ("at /var/folders/x1/abc_d/T/f.txt", "at <TMP>"),
    ("basetemp pytest-of-runner/pytest-12/t0", "basetemp <TMP>/t0"),
    ("Created tmpab12cd_x.py", "Created <TMP>.py"),
    ("mktemp gave tmp.AbC123xYz0", "mktemp gave <TMP>"),
    # Timestamps and dates
    ("at 2024-05-01T12:03:04Z", "at <TIME>"),
    ("at 2024-05-01T12:03:04.123456+02:00 ok", "at <TIME> ok"),
    ("2024-05-01 12:03:04,123 INFO start", "<TIME> INFO start"),
    ("Date: 2024-05-01 12:03:04 +0000", "Date: <TIME>"),
    ("released 2024-05-01", "released <TIME>"),
    ("Mon Nov 22 12:03:04 UTC 2026", "<TIME>"),
    ("Date:   Mon Nov 22 12:03:04 2026 +0000", "Date:   <TIME>"),
    ("Last-Modified: Mon, 22 Nov 2026 12:03:04 GMT", "Last-Modified: <TIME>"),
    ("-rw-r--r-- 1 root root 12 Nov 22 12:03 a.txt", "-rw-r--r-- 1 root root 12 <TIME> a.txt"),
    ("-rw-r--r-- 1 root root 12 Nov 22  2023 a.txt", "-rw-r--r-- 1 root root 12 <TIME> a.txt"),
    ("Nov 22 12:03:04 host sshd", "<TIME> host sshd"),
    ("started 12:03:04", "started <TIME>"),
    ("[12:03:04.250] tick", "[<TIME>] tick"),
    # Durations
    ("took 0.12s", "took <DURATION>"),
    ("waited 1.5 seconds", "waited <DURATION>"),
    ("done in 12ms", "done in <DURATION>"),
    ("Ran 3 tests in 3.21s", "Ran 3 tests in <DURATION>"),
    ("===== 3 passed in 0.05s =====", "===== 3 passed in <DURATION> ====="),
    ("real\t0m0.003s", "real\t<DURATION>"),
    ("elapsed 1h2m3.5s", "elapsed <DURATION>"),
    # Hex ids
    (f"commit {SHA1}", "commit <HEX>"),
    ("HEAD is now at 1a2b3c4 fix", "HEAD is now at <HEX> fix"),
    (f"sha256:{SHA256}", "sha256:<HEX>"),
    ("container 4f3a2b1c9d8e started", "container <HEX> started"),
    ("id 123e4567-e89b-12d3-a456-426614174000", "id <HEX>"),
    ("<Foo object at 0x7f3a2c1d9e80>", "<Foo object at <HEX>>"),
    ("v1.0-3-g1a2b3c4", "v1.0-3-g<HEX>"),
    ("DIGEST 9F86D081884C", "DIGEST <HEX>"),
    # Process ids
    ("started pid 1234", "started pid <PID>"),
    ("PID: 1234", "PID: <PID>"),
    ('{"pid": 4321}', '{"pid": <PID>}'),
    ("worker pid=77 up", "worker pid=<PID> up"),
    ("Killed process 1234 (python)", "Killed process <PID> (python)"),
    ("$ sleep 10 &\n[1] 12345", "$ sleep 10 &\n[1] <PID>"),
]


@pytest.mark.parametrize(("text", "expected"), MASKED_CASES)
def test_volatile_tokens_are_masked(text: str, expected: str) -> None:
    assert normalize_output(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Ordinary paths and paths that only contain "tmp"
        "/home/user/project/tmp/out.txt",
        "foo/tmp/x ~/tmp/y ./tmp/z",
        "/folders/x and /tmpfiles/y",
        "tmpfilename tmp_dir tmpl",
        # Numbers that are not times
        "src/a.py:12:03: E501 line too long",
        "3 passed, 1 failed, 2 skipped",
        "exit code 1; line 1234; 1234567 bytes",
        "version 1.2.3 on port 8080",
        "ratio 12:34 and 99:99:99",
        # Words that happen to be hex, short hex, exponents
        "cafe added deadbeef facade bead",
        "mask 0xff and 0x1f2",
        "abc123 is short",
        "1e100000 is a number",
        "build_1a2b3c4d5e is an identifier",
        # Numbers next to words that are not time units
        "12 items in 3 secrets",
        "pids 12 and rapid 3",
        "[1]+  Done    sleep 10",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert normalize_output(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\r\nb\r\n", "a\nb"),
        ("a\rb", "a\nb"),
        ("a  \nb\t\n", "a\nb"),
        ("a\n\n  \n\t\n", "a"),
        ("\n\na", "\n\na"),
        ("  indented  ", "  indented"),
        ("", ""),
    ],
)
def test_line_endings_and_trailing_space(text: str, expected: str) -> None:
    assert normalize_output(text) == expected


RECORDED_PYTEST = """\
============================= test session starts ==============================
platform linux -- Python 3.11.9, pytest-8.2.0, pluggy-1.5.0
rootdir: /tmp/pytest-of-root/pytest-3/test_add0
collected 3 items

test_add.py ..F                                                          [100%]

=================================== FAILURES ===================================
___________________________________ test_neg ___________________________________
/tmp/pytest-of-root/pytest-3/test_add0/test_add.py:9: AssertionError
=========================== short test summary info ============================
FAILED test_add.py::test_neg - assert -1 == 1
========================= 1 failed, 2 passed in 0.05s ==========================
"""

LIVE_PYTEST = (
    RECORDED_PYTEST.replace("pytest-3", "pytest-11")
    .replace("in 0.05s", "in 0.31s")
    .replace("\n", "\r\n")
)


def test_realistic_pytest_runs_compare_equal() -> None:
    assert compare_outputs(RECORDED_PYTEST, LIVE_PYTEST) is None


def test_pytest_result_change_is_reported() -> None:
    live = RECORDED_PYTEST.replace("1 failed, 2 passed", "3 passed")
    mismatch = compare_outputs(RECORDED_PYTEST, live)
    assert mismatch is not None
    assert mismatch.reason == "output differs"
    assert mismatch.detail.startswith("line 13: ")
    assert "1 failed, 2 passed in <DURATION>" in mismatch.detail
    assert "3 passed in <DURATION>" in mismatch.detail


@pytest.mark.parametrize(
    ("recorded", "live"),
    [
        ("built at 2024-05-01T12:03:04Z", "built at 2026-11-22T08:00:59.5+01:00"),
        ("ok in 0.12s", "ok in 13.5s"),
        ("wrote /tmp/tmpab12cd_x/out", "wrote /tmp/tmpzz99yy_q/out"),
        (f"[main {SHA1[:7]}] msg", "[main 9e8d7c6] msg"),
        ("server pid 1234 ready", "server pid 98 ready"),
        ("Mon Nov 22 12:03:04 UTC 2026\n", "Tue Dec  1 00:00:00 UTC 2026"),
    ],
)
def test_outputs_differing_only_in_volatile_tokens_are_equal(recorded: str, live: str) -> None:
    assert compare_outputs(recorded, live) is None


def test_first_differing_line_is_named() -> None:
    mismatch = compare_outputs("a\nb\n3 passed\nd", "a\nb\n2 passed, 1 failed\nd")
    assert mismatch == OutputMismatch(
        reason="output differs",
        detail="line 3: recorded '3 passed' / live '2 passed, 1 failed'",
    )


def test_missing_lines_are_reported_with_both_lengths() -> None:
    mismatch = compare_outputs("a\nb\nc", "a\nb")
    assert mismatch is not None
    assert mismatch.detail == (
        "recorded has 3 lines, live has 2; first difference at line 3: "
        "recorded 'c' / live (no line 3)"
    )


def test_extra_lines_are_reported_with_both_lengths() -> None:
    mismatch = compare_outputs("", "surprise")
    assert mismatch is not None
    assert mismatch.detail == (
        "recorded has 0 lines, live has 1; first difference at line 1: "
        "recorded (no line 1) / live 'surprise'"
    )


def test_long_lines_are_excerpted_around_the_difference() -> None:
    recorded = "x" * 5000 + "RECORDED" + "y" * 5000
    live = "x" * 5000 + "LIVE" + "y" * 5000
    mismatch = compare_outputs(recorded, live)
    assert mismatch is not None
    excerpts = mismatch.detail.removeprefix("line 1: recorded ").split(" / live ")
    assert len(excerpts) == 2
    for excerpt, marker in zip(excerpts, ["RECORDED", "LIVE"], strict=True):
        assert marker in excerpt
        assert len(ast.literal_eval(excerpt)) <= 120


def test_a_difference_on_the_last_line_of_a_megabyte_is_found() -> None:
    line = f"2024-05-01T12:03:04Z commit {SHA1} took 0.5s in /tmp/tmpab12cd_x ok"
    recorded = "\n".join(f"{line} {n}" for n in range(15_000))
    live = recorded[:-1] + "X"
    mismatch = compare_outputs(recorded, live)
    assert mismatch is not None
    assert mismatch.detail.startswith("line 15000: ")


def _tool_result(content: str, *, is_error: bool = False, exit_code: int | None = None) -> Message:
    meta = {} if exit_code is None else {"exit_code": exit_code}
    return Message(role="tool", content=content, is_error=is_error, meta=meta, tool_call_id="c1")


def test_tool_results_with_different_exit_codes() -> None:
    mismatch = compare_tool_results(
        _tool_result("same", is_error=True, exit_code=1),
        _tool_result("same", is_error=False, exit_code=0),
    )
    assert mismatch == OutputMismatch(
        reason="exit code differs", detail="recorded exit code 1, live exit code 0"
    )


def test_exit_code_known_on_one_side_only_is_not_compared() -> None:
    assert compare_tool_results(_tool_result("ok", exit_code=0), _tool_result("ok")) is None


def test_tool_results_with_different_error_flags() -> None:
    mismatch = compare_tool_results(
        _tool_result("boom", is_error=True, exit_code=2),
        _tool_result("boom", is_error=False, exit_code=2),
    )
    assert mismatch is not None
    assert mismatch.reason == "error flag differs"
    assert mismatch.detail == "recorded is_error=True, live is_error=False"


def test_tool_results_compare_content_last() -> None:
    recorded = _tool_result("done in 0.1s\n", exit_code=0)
    assert compare_tool_results(recorded, _tool_result("done in 2s", exit_code=0)) is None
    mismatch = compare_tool_results(recorded, _tool_result("failed", exit_code=0))
    assert mismatch is not None
    assert mismatch.reason == "output differs"
    assert mismatch.detail == "line 1: recorded 'done in <DURATION>' / live 'failed'"


def test_mismatch_reasons_are_checked_and_the_model_is_frozen() -> None:
    for reason in MISMATCH_REASONS:
        assert OutputMismatch(reason=reason, detail="d").reason == reason
    with pytest.raises(ValidationError, match="not one of"):
        OutputMismatch(reason="something else", detail="d")
    mismatch = OutputMismatch(reason="live call failed", detail="d")
    with pytest.raises(ValidationError):
        mismatch.detail = "changed"


# Text built from volatile tokens, the characters at their edges and ordinary words, so that
# tokens touch each other in every order.
_TOKENS = st.sampled_from(
    [
        "/tmp/x",
        "tmpab12cd_x",
        SHA1[:9],
        "0x7f3a2c1d",
        "2024-05-01",
        "T12:03:04Z",
        "12:03:04",
        "Nov 22 ",
        "0.5s",
        "12",
        "ms",
        "pid ",
        "process ",
        "[1] ",
        "-g",
        "cafe",
        "Mon ",
        " ",
        "\n",
        "\r",
        ":",
        "/",
        ".",
        "-",
        "<",
        ">",
        "\t",
    ]
)
_TOKEN_TEXT = st.lists(_TOKENS, max_size=30).map("".join)


@given(st.one_of(st.text(), _TOKEN_TEXT))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_output(text)
    assert normalize_output(once) == once


@given(st.one_of(st.text(), _TOKEN_TEXT))
def test_output_equals_itself(text: str) -> None:
    assert compare_outputs(text, text) is None
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    assert compare_outputs(text, unified.replace("\n", "\r\n") + "  \n\n") is None


@given(st.lists(st.sampled_from(["3 passed", "2 failed", "ok", "x"]), min_size=1), st.data())
def test_a_changed_line_is_always_found(lines: list[str], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    changed = [*lines]
    changed[index] = lines[index] + " !"
    mismatch = compare_outputs("\n".join(lines), "\n".join(changed))
    assert mismatch is not None
    assert mismatch.detail.startswith(f"line {index + 1}: ")


@pytest.mark.parametrize(
    "mask", [mask for mask in MASKS if mask.triggers], ids=lambda mask: mask.triggers[0]
)
def test_every_masked_token_holds_a_trigger_of_its_mask(mask: Mask) -> None:
    # A mask is skipped on texts without its triggers, so a token lacking one would go unmasked.
    texts = [text for text, _ in MASKED_CASES]
    matched = [m.group() for text in texts for m in mask.pattern.finditer(text)]
    assert matched, "no case exercises this mask"
    for token in matched:
        assert any(trigger in token for trigger in mask.triggers), token


def test_deidentified_recordings_compare_with_the_live_output_deidentified_alike() -> None:
    recorded = 'author="Steven Loria",\nauthor_email="<EMAIL_3>",'
    live = 'author="Steven Loria",\nauthor_email="sloria1@gmail.com",'
    assert compare_outputs(recorded, live) is None
    other = 'author="Steven Loria",\nauthor_email="nobody",'
    mismatch = compare_outputs(recorded, other)
    assert mismatch is not None and "line 2" in mismatch.detail
