"""Normalization and comparison of tool outputs, the measure of environment fidelity.

Replaying a session re-executes its recorded tool calls and compares each live output with the
recorded one; the share reproduced is the rollout's ``env_fidelity``. Outputs legitimately differ
in incidental ways, so both sides go through :func:`normalize_output` first:

* a recorded output with placeholders of de-identified values is compared with the live one
  de-identified likewise (placeholders' numbers dropped on both sides); a live name that
  holds a placeholder may be quoted where the recorded one is not (GNU tools quote names
  with ``<`` in them, and the real name had none);
* line endings become ``\\n`` (CRLF and lone CR alike);
* trailing whitespace on each line and trailing blank lines are dropped;
* volatile tokens are masked by the ordered table :data:`MASKS`: temporary paths (``<TMP>``),
  UUIDs, addresses and hex ids (``<HEX>``), timestamps and dates (``<TIME>``), durations
  (``<DURATION>``) and process ids (``<PID>``).

The masks are narrow on purpose, so they do not hide real differences: plain numbers (counts,
line numbers, exit codes), words made of hex letters only (``cafe``, ``deadbeef``) and paths
outside temporary directories are kept. Known trade-offs: a whole temporary path is masked, so
two different files under ``/tmp`` compare equal; a word of 7+ hex letters with a digit
(``facade1``) counts as a hex id; ``process N`` is read as a process id even when N is a count.

Comparison works on line lists and stops at the first differing line, so it stays linear on
outputs of a megabyte; :class:`OutputMismatch` says where the two sides part.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, NamedTuple

from pydantic import BaseModel, ConfigDict, field_validator

from understudy.replay.redact import redact_text
from understudy.replay.redact.placeholders import has_placeholder, unnumbered
from understudy.tools.adapters.shell import codex_output
from understudy.trajectory import Message

MISMATCH_REASONS: tuple[str, ...] = (
    "output differs",
    "error flag differs",
    "exit code differs",
    "live call failed",
    "no live implementation",
)
"""The categories of :attr:`OutputMismatch.reason`, stable so that runs can tally them."""


class OutputMismatch(BaseModel):
    """Why a live tool result does not reproduce the recorded one."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    reason: str
    """A short, stable category for tallies, one of :data:`MISMATCH_REASONS`."""
    detail: str
    """Where the two sides differ, for a person to read (excerpts are repr-quoted)."""

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, reason: str) -> str:
        if reason not in MISMATCH_REASONS:
            raise ValueError(f"reason {reason!r} is not one of {MISMATCH_REASONS}")
        return reason


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH = "(?:" + "|".join(_MONTHS) + ")"
_WEEKDAY = "(?:" + "|".join(_WEEKDAYS) + ")"
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?"
_ZONE_NAME = r"(?:UTC|GMT|[A-Z]{1,3}[SD]?T)"
# Characters of a path token: everything but whitespace, quotes, separators and the angle
# brackets of placeholders.
_PATH_CHARS = r"""[^\s'"`:;,()\[\]{}<>|*?]"""
_HEX = "[0-9a-fA-F]"
_EXPONENT_NUMBER = re.compile(r"\d+[eE]\d+")


def _mask_hex_id(match: re.Match[str]) -> str:
    """``<HEX>`` for a run with a digit and a letter, all lower or all upper case, that is not
    an exponent number (``1e100000``); the run itself otherwise (``1234567``)."""
    run = match.group()
    has_digit = not run.isalpha()
    has_letter_of_one_case = run.islower() or run.isupper()
    if has_digit and has_letter_of_one_case and not _EXPONENT_NUMBER.fullmatch(run):
        return "<HEX>"
    return run


class Mask(NamedTuple):
    """One kind of volatile token and what replaces it."""

    pattern: re.Pattern[str]
    """What a token looks like."""
    replacement: str | Callable[[re.Match[str]], str]
    """The placeholder, or a ``re.sub`` template or function producing it."""
    triggers: tuple[str, ...] = ()
    """Substrings every token contains one of: a text holding none of them skips the pattern
    (a substring scan costs far less than a regex scan). Empty means always scan."""


# Several patterns start with a character and check the boundary before it with a lookbehind
# (``\d(?<!\w\d)`` rather than ``\b\d``): re then jumps between candidate characters instead of
# trying the pattern at every position, several times faster on large outputs.
MASKS: Final[tuple[Mask, ...]] = (
    # Temporary paths, whole: /tmp/x, /var/tmp/x, /private/tmp/x, and macOS per-user temp
    # dirs /var/folders/.. and /private/var/folders/..; not foo/tmp/x or ~/tmp/x.
    Mask(
        re.compile(rf"(?<![\w.~/-])(?:/private)?(?:/var/tmp|/tmp|/var/folders)/{_PATH_CHARS}+"),
        "<TMP>",
        ("/tmp/", "/var/folders/"),
    ),
    # pytest's base temp dirs when printed without their root: pytest-of-root/pytest-3.
    Mask(re.compile(r"\bpytest-of-[\w.-]+/pytest-\d+"), "<TMP>", ("pytest-of-",)),
    # Python tempfile names (tmp + 8 of [a-z0-9_], at least one digit or underscore):
    # tmpab12cd_x; and mktemp(1) names: tmp.AbC123xYz0.
    Mask(
        re.compile(
            r"(?<![\w.-])(?:tmp(?=[a-z]{0,7}[0-9_])[a-z0-9_]{8}|tmp\.[A-Za-z0-9]{10})(?!\w)"
        ),
        "<TMP>",
        ("tmp",),
    ),
    # UUIDs, either case.
    Mask(
        re.compile(
            rf"{_HEX}(?<!\w{_HEX}){_HEX}{{7}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b"
        ),
        "<HEX>",
        ("-",),
    ),
    # Memory addresses and other long hex literals: 0x7f3a2c1d (short constants like 0xff stay).
    Mask(re.compile(rf"\b0x{_HEX}{{6,}}\b"), "<HEX>", ("0x",)),
    # ISO 8601 dates and date-times: 2024-05-01, 2024-05-01T12:03:04.123+02:00,
    # 2024-05-01 12:03:04,123 (logging), 2024-05-01 12:03:04 +0000 (git), ... UTC.
    Mask(
        re.compile(
            rf"\d(?<!\w\d)\d{{3}}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
            rf"(?:[T ]{_CLOCK}(?:Z|[ ]?[+-](?:[01]\d|2[0-3]):?[0-5]\d|[ ]{_ZONE_NAME})?)?(?![\w:])"
        ),
        "<TIME>",
        ("-",),
    ),
    # Dates with day and month names: date(1) Mon Nov 22 12:03:04 UTC 2026, git and ctime
    # Mon Nov 22 12:03:04 2026 +0000, RFC 2822 Mon, 22 Nov 2026 12:03:04 GMT.
    Mask(
        re.compile(
            rf"\b{_WEEKDAY},?[ ]+(?:{_MONTH}[ ]+\d{{1,2}}|\d{{1,2}}[ ]+{_MONTH})(?:[ ]+\d{{4}})?"
            rf"[ ]+{_CLOCK}(?:[ ]+{_ZONE_NAME})?(?:[ ]+\d{{4}})?(?:[ ]+[+-]\d{{4}})?\b"
        ),
        "<TIME>",
        _WEEKDAYS,
    ),
    # Month-day stamps: ls -l "Nov 22 12:03" and "Nov 22  2023", syslog "Nov 22 12:03:04".
    Mask(
        re.compile(rf"\b{_MONTH}[ ]+\d{{1,2}}[ ]+(?:{_CLOCK}|\d{{4}})(?![\w:])"), "<TIME>", _MONTHS
    ),
    # Bare clock times with seconds: 12:03:04, 0:00:01.25; not a.py:12:03 (no seconds).
    Mask(
        re.compile(r"(?<![\d:.])(?:[01]?\d|2[0-3]):[0-5]\d:[0-5]\d(?:[.,]\d+)?(?![\d:])"),
        "<TIME>",
        (":",),
    ),
    # Compound durations: time(1) "real 0m0.003s", Go "1h2m3.5s", "1m30s".
    Mask(re.compile(r"\d(?<!\w\d)\d*[hm](?:\d+m)?\d+(?:\.\d+)?s\b"), "<DURATION>"),
    # A number with a time unit: 0.12s, 12ms, 1.5 seconds, pytest "passed in 0.05s", 3 mins.
    Mask(
        re.compile(
            r"\d(?<!\w\d)\d*(?:\.\d+)?[ ]?"
            r"(?:ns|us|µs|ms|s|secs?|seconds?|mins?|minutes?|hrs?|hours?)\b"
        ),
        "<DURATION>",
    ),
    # Hex ids: runs of 7+ hex characters with at least one digit and one letter, of one case
    # (see _mask_hex_id): git shas (also after git describe's "-g"), sha256 digests, docker
    # ids. Not words without a digit (deadbeef, added), not exponent numbers (1e100000).
    Mask(
        re.compile(rf"{_HEX}(?:(?<!\w{_HEX})|(?<=-g{_HEX})){_HEX}{{6,}}\b"),
        _mask_hex_id,
    ),
    # Labelled process ids, the label kept: pid 1234, PID: 1234, pid=1234, "pid": 1234.
    Mask(
        re.compile(r"""\b((?:pid|PID|Pid)["']?[ \t]*[:=]?[ \t]*)\d+\b"""),
        r"\g<1><PID>",
        ("pid", "PID", "Pid"),
    ),
    # "process 1234" as in "Killed process 1234 (python)".
    Mask(
        re.compile(r"\b((?:process|Process|PROCESS)[ \t]+)\d+\b"),
        r"\g<1><PID>",
        ("process", "Process", "PROCESS"),
    ),
    # Shell job notices on a line of their own: "[1] 1234".
    Mask(re.compile(r"(?m)^(\[\d+\][ \t]+)\d+$"), r"\g<1><PID>", ("[",)),
)
"""Volatile-token masks in the order applied."""

# Masking a token can change what its neighbour sees at its edge (a digit becomes ">"), which
# can expose a token an earlier mask of the table skipped; masking repeats until nothing
# changes, which on real outputs is one extra pass at most. The bound only guards the loop.
_MAX_MASK_PASSES = 8
_EXCERPT_CHARS = 120
"""Longest excerpt of a line shown in a mismatch detail."""
_CONTEXT_BEFORE = 40
"""How much of a long line to show before the first differing character."""


def normalize_output(text: str) -> str:
    """``text`` with LF line endings, no trailing whitespace or blank lines, volatile tokens
    masked (see :data:`MASKS`). Idempotent."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Per line rather than one regex: a regex for "spaces before a line end" is quadratic on a
    # long run of spaces that is not at a line end.
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _mask_volatile_tokens(text)
    return text.rstrip("\n")


def _mask_volatile_tokens(text: str) -> str:
    for _ in range(_MAX_MASK_PASSES):
        before = text
        for mask in MASKS:
            if mask.triggers and not any(trigger in text for trigger in mask.triggers):
                continue
            text = mask.pattern.sub(mask.replacement, text)
        if text == before:
            break
    return text


def compare_outputs(recorded: str, live: str) -> OutputMismatch | None:
    """None when the two outputs are equal after normalization, else where they first differ.

    A recorded output that was de-identified at import (``<EMAIL_1>``) is compared with the live
    output de-identified the same way, placeholders' numbers aside: the live side shows the
    real values the log had before it was redacted.
    """
    if recorded == live:
        return None
    if has_placeholder(recorded):
        recorded, live = unnumbered(recorded), unnumbered(redact_text(live)[0])
    recorded_text = normalize_output(recorded)
    live_text = normalize_output(live)
    if recorded_text == live_text:
        return None
    if "'" in live_text and recorded_text == _QUOTED_PLACEHOLDER.sub(r"\1", live_text):
        return None
    return OutputMismatch(
        reason="output differs", detail=_describe_difference(recorded_text, live_text)
    )


def compare_tool_results(recorded: Message, live: Message) -> OutputMismatch | None:
    """None when the live tool result reproduces the recorded one, else the first difference.

    Checked in order: exit codes (when both results' ``meta`` carry one), the error flag, then
    the content through :func:`compare_outputs`.
    """
    recorded_code = recorded.meta.get("exit_code")
    live_code = live.meta.get("exit_code")
    if recorded_code is not None and live_code is not None and recorded_code != live_code:
        return OutputMismatch(
            reason="exit code differs",
            detail=f"recorded exit code {recorded_code!r}, live exit code {live_code!r}",
        )
    if recorded.is_error != live.is_error:
        return OutputMismatch(
            reason="error flag differs",
            detail=f"recorded is_error={recorded.is_error}, live is_error={live.is_error}",
        )
    return compare_outputs(recorded.content, _as_recorded(recorded, live.content))


_QUOTED_PLACEHOLDER = re.compile(r"'([^'\n]*<[A-Z_]+>[^'\n]*)'")
"""A name holding a placeholder, quoted: GNU tools quote names with shell metacharacters in
their messages (``cat: '/Users/<USER>/x': No such file``), which ``<`` is and the real name was
not."""


def _as_recorded(recorded: Message, live: str) -> str:
    """The live text as the importer kept the recorded one: a Codex ``{"output", "metadata"}``
    result was recorded as its ``output`` (``meta["output_format"] == "json"``)."""
    if recorded.meta.get("output_format") != "json":
        return live
    unwrapped = codex_output(live.lstrip())
    return live if unwrapped == live.lstrip() else unwrapped


def _describe_difference(recorded: str, live: str) -> str:
    recorded_lines = recorded.split("\n") if recorded else []
    live_lines = live.split("\n") if live else []
    index = _first_differing_line(recorded_lines, live_lines)
    recorded_line = recorded_lines[index] if index < len(recorded_lines) else None
    live_line = live_lines[index] if index < len(live_lines) else None
    column = _common_prefix_length(recorded_line or "", live_line or "")
    where = (
        f"recorded {_shown(recorded_line, column, index)} / live {_shown(live_line, column, index)}"
    )
    if len(recorded_lines) == len(live_lines):
        return f"line {index + 1}: {where}"
    return (
        f"recorded has {_count_lines(len(recorded_lines))}, live has {len(live_lines)}; "
        f"first difference at line {index + 1}: {where}"
    )


def _first_differing_line(recorded: list[str], live: list[str]) -> int:
    for index, (recorded_line, live_line) in enumerate(zip(recorded, live, strict=False)):
        if recorded_line != live_line:
            return index
    return min(len(recorded), len(live))


def _common_prefix_length(first: str, second: str) -> int:
    # Binary search over slice comparisons: C-speed even for a line of a megabyte.
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _shown(line: str | None, column: int, index: int) -> str:
    if line is None:
        return f"(no line {index + 1})"
    return repr(_excerpt(line, column))


def _excerpt(line: str, column: int) -> str:
    """At most ``_EXCERPT_CHARS`` of ``line``, around ``column`` when the line is longer."""
    if len(line) <= _EXCERPT_CHARS:
        return line
    start = max(0, min(column - _CONTEXT_BEFORE, len(line) - _EXCERPT_CHARS))
    end = start + _EXCERPT_CHARS
    head = "..." if start > 0 else ""
    tail = "..." if end < len(line) else ""
    return head + line[start + len(head) : end - len(tail)] + tail


def _count_lines(count: int) -> str:
    return "1 line" if count == 1 else f"{count} lines"
