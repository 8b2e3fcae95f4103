"""Reading a call's result: pairing calls with results, exit codes, crashes and test outcomes."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from understudy.judges import commands as sh
from understudy.judges.ledger.models import LedgerCall
from understudy.judges.testoutput import TestOutcome, parse_test_output
from understudy.tools.adapters import edit_not_applied
from understudy.tools.adapters.facts import clip
from understudy.trajectory import Message, Provenance

_HARNESS_ERRORS = frozenset(
    {"UnknownToolError", "InvalidToolArgumentsError", "ToolUnavailableError"}
)
_NOT_FOUND = re.compile(
    r"^(?:\S+: )?(?:line \d+: )?(?:\d+: )?(\S+): (?:command )?not found\s*$", re.MULTILINE
)
_NO_MODULE = re.compile(r"No module named '?(?:pytest|tox|nox|nose2?)'?\s*$", re.MULTILINE)
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?::\s.*)?$")


def pair_results(messages: list[Message]) -> dict[tuple[int, str], int]:
    """(call message index, call id) -> result message index."""
    pending: list[tuple[int, str]] = []
    paired: dict[tuple[int, str], int] = {}
    for index, message in enumerate(messages):
        if message.role == "assistant":
            pending.extend((index, call.id) for call in message.tool_calls)
        elif message.role == "tool":
            match = None
            if message.tool_call_id is not None:
                match = next((p for p in pending if p[1] == message.tool_call_id), None)
            elif pending:
                match = pending[0]
            if match is not None:
                pending.remove(match)
                paired[match] = index
    return paired


def attach_result(call: LedgerCall, result: Message | None, result_index: int | None) -> None:
    """Put what the result of a call shows on it: where it came from, its exit code and
    duration, whether the call ran at all, and a test run's outcome (or a failure's last line)."""
    call.result_index = result_index
    if result is None or call.invalid:
        call.ran = False
    if result is None:
        return
    call.provenance = result.provenance
    call.is_error = result.is_error
    meta = result.meta or {}
    if result.provenance == Provenance.SIMULATED:
        call.simulated_by = str(meta.get("simulator") or "unknown")
        confidence = meta.get("confidence")
        if isinstance(confidence, int | float) and not isinstance(confidence, bool):
            call.confidence = float(confidence)
    text, codex_meta = _unwrap(result.content)
    call.exit_code = _exit_code(meta, codex_meta, result)
    duration = meta.get("duration_s", codex_meta.get("duration_seconds"))
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        call.duration_s = float(duration)
    if (
        result.provenance == Provenance.UNAVAILABLE
        or meta.get("error_type") in _HARNESS_ERRORS
        or call.exit_code in (126, 127)
    ):
        call.ran = False
    if call.command is None and {"edit", "write"} & set(call.kinds) and _refused(result, text):
        call.ran = False  # the edit was refused or failed
    if "test_run" in call.kinds and call.ran:
        call.outcome = _test_outcome(call, text)
        summarized = call.outcome is not None and call.outcome.source == "output"
        if not summarized and call.command is not None and _runner_missing(text):
            call.ran, call.outcome = False, None  # the runner itself was missing: no test ran
    failed = (call.exit_code not in (None, 0)) or result.is_error
    if failed and call.outcome is None:
        call.excerpt = _last_line(text)


_HARNESS_LINE = re.compile(r"^\[.*\]$|^\(.*\)$|^bash-\$")
"""A line a harness adds around the output (``[exit code 1]``, ``(timed out)``, a prompt)."""


def _last_line(text: str) -> str:
    """The last line of an output that is not blank nor the harness's, clipped ("" if none);
    read from the end, as a long output's first lines do not matter."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line and not _HARNESS_LINE.match(line):
            return clip(line, 120)
    return ""


def _refused(result: Message, text: str) -> bool:
    """Whether an edit's result says it was refused or not applied (asked of edits only: it
    reads the whole output several times)."""
    return result.is_error or "<tool_use_error>" in text or edit_not_applied(text)


_TEST_PROGRAMS = frozenset(
    {"pytest", "py.test", "tox", "nox", "npm", "yarn", "pnpm", "go", "cargo", "make", "jest"}
)


def result_text(message: Message) -> str:
    """A tool result's output without harness wrappers (Codex's JSON, mini-swe-agent's tags)."""
    return _unwrap(message.content)[0]


def _unwrap(content: str) -> tuple[str, dict[str, Any]]:
    stripped = content.strip()
    if stripped.startswith("{") and '"output"' in stripped:
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("output"), str):
            meta = data.get("metadata")
            return data["output"], meta if isinstance(meta, dict) else {}
    return content, {}


_EXIT_PATTERNS = (
    re.compile(r"<returncode>(-?\d+)</returncode>"),
    re.compile(r"\[Command finished with exit code (-?\d+)\]"),
    re.compile(r"\[The command completed with exit code (-?\d+)\.\]"),
    re.compile(r"\AExit code:? (\d+)\s*$", re.MULTILINE),
    re.compile(r"^Process exited with code (\d+)", re.MULTILINE),
)


def _exit_code(meta: dict[str, Any], codex: dict[str, Any], result: Message) -> int | None:
    for value in (meta.get("exit_code"), meta.get("returncode"), codex.get("exit_code")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
    content = result.content
    # The harnesses put these markers first (mini-swe-agent) or last (OpenHands, Claude Code).
    ends = content if len(content) <= 4000 else content[:1000] + "\n" + content[-3000:]
    if "xit" not in ends and "<returncode>" not in ends:
        return None  # no "exit code", "Exit code", "exited" nor "<returncode>": no marker
    for pattern in _EXIT_PATTERNS:
        match = pattern.search(ends)
        if match:
            return int(match.group(1))
    return None


def _crashed(text: str) -> bool:
    """Whether the output ends with a Python traceback (the runner died before a summary)."""
    tail = text[-6000:]
    if _TRACEBACK not in tail:
        return False
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    lines = [
        line for line in lines if not re.fullmatch(r"</?output>|<returncode>\d+</returncode>", line)
    ]
    return bool(lines) and _EXCEPTION_LINE.match(lines[-1]) is not None


def _runner_missing(text: str) -> bool:
    head = text[:600]
    missing = _NOT_FOUND.findall(head)
    if any(posixpath.basename(m) in _TEST_PROGRAMS for m in missing):
        return True
    return _NO_MODULE.search(head) is not None


def _test_outcome(call: LedgerCall, text: str) -> TestOutcome | None:
    if call.command is None:  # a test tool of its own: only its output can tell
        return parse_test_output(text)
    parsed = sh.parse_command(call.command)
    framework = None
    last_test = -1
    for position, segment in enumerate(parsed.segments):
        found = sh.framework_of(segment)
        if found is not None:
            framework = framework or found
            last_test = position
    outcome = parse_test_output(text, framework)
    if outcome is not None:
        if outcome.framework is None:
            outcome.framework = framework
        return outcome
    if _crashed(text):  # the runner died before reporting
        return TestOutcome(framework=framework, errors=1, ok=False, source="crash")
    if call.exit_code is None or last_test < 0 or framework == "script":
        return None
    tail = parsed.segments[last_test:]
    trustworthy = tail[0].operator in ("", "&&", "\n") and all(
        s.program in sh.INERT_PROGRAMS for s in tail[1:]
    )
    if tail[0].operator == "\n" and len(tail) > 1:
        trustworthy = False
    if not trustworthy:
        return None
    return TestOutcome(framework=framework, ok=call.exit_code == 0, source="exit_code")
