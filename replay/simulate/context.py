"""What a simulating model is told besides the call: earlier results and the container's state.

A simulated result has to agree with what the conversation already showed (the file read two
turns ago, the test run that failed) and with the container the rollout runs in, when it has
one. Two sources, each bounded:

- :func:`related_results`: earlier calls of the conversation that touch the same files, or run
  the same command, with their results (most recent first, each cut with a visible marker).
  Files are the paths the call's adapter names (:class:`~understudy.tools.adapters.CallFacts`)
  plus the path-like words of its script; commands are the first words of the script's
  commands, less the ones that say nothing about a tool (``cd``, ``echo``, ...).
- :func:`container_facts`: read from the live sandbox: the working directory, a short listing,
  ``git status`` when it is a repository, and the head of the files the call names. Each fact
  is one read-only command bounded by :data:`FACT_TIMEOUT_S`; a fact that fails or times out is
  left out, so gathering facts never raises. Nothing is written (``git`` is told not to take
  its optional index lock), and commands run fresh in the call's directory rather than in the
  agent's persistent shell, whose state they must not touch.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from understudy.errors import SandboxError
from understudy.protocols import Sandbox
from understudy.tools.adapters import describe_call
from understudy.trajectory import Message, ToolCall

__all__ = [
    "FACT_TIMEOUT_S",
    "FILE_CHARS",
    "RESULT_CHARS",
    "EarlierResult",
    "call_commands",
    "call_files",
    "container_facts",
    "cut_text",
    "related_results",
]

RESULT_CHARS = 2000
"""Characters of an earlier result kept."""
FILE_CHARS = 4000
"""Characters of a file's content kept."""
FACT_TIMEOUT_S = 3.0
"""Seconds one container fact may take."""
MAX_FILES = 3
"""Files of a call whose content is read."""

_QUIET_COMMANDS = frozenset(
    {"cd", "echo", "printf", "true", "false", "export", "set", "source", ".", "sleep", "sudo"}
)
"""First words that tell nothing about which tool ran (or only wrap the real one)."""
_SEPARATORS = re.compile(r"&&|\|\||[;|\n]")
_NOT_IN_A_PATH = set(" \t\n;|&<>$`(){}*?\"'=,")


def cut_text(text: str, limit: int) -> str:
    """``text`` held to about ``limit`` characters: its head and tail around a marker saying
    how much was cut."""
    if len(text) <= limit:
        return text
    head = max(limit * 2 // 3, 1)
    tail = max(limit - head, 0)
    marker = f"\n[... {len(text) - head - tail} characters cut ...]\n"
    return text[:head] + marker + (text[-tail:] if tail else "")


# -- what a call touches -----------------------------------------------------------------------


def _script_words(script: str) -> list[str]:
    try:
        return shlex.split(script, comments=True)
    except ValueError:  # an unclosed quote: words as whitespace separates them
        return script.split()


def _looks_like_path(word: str) -> bool:
    if len(word) < 3 or word.startswith("-") or any(c in _NOT_IN_A_PATH for c in word):
        return False
    return "/" in word or "." in word.strip(".")


def _normalized(path: str) -> str:
    return path.removeprefix("./").rstrip("/")


def call_files(call: ToolCall, agent: str | None) -> list[str]:
    """The files ``call`` names: its adapter's paths, then the path-like words of its script."""
    facts = describe_call(call.name, call.arguments, agent)
    if facts is None:
        return []
    named = list(facts.paths)
    if facts.script:
        named += [word for word in _script_words(facts.script) if _looks_like_path(word)]
    return list(dict.fromkeys(_normalized(path) for path in named if path))


def call_commands(call: ToolCall, agent: str | None) -> set[str]:
    """The commands ``call``'s script runs (first words, less the quiet ones)."""
    facts = describe_call(call.name, call.arguments, agent)
    if facts is None or not facts.script:
        return set()
    commands = set()
    for part in _SEPARATORS.split(facts.script):
        words = [word for word in _script_words(part) if "=" not in word.split("/")[0]]
        if words and words[0] not in _QUIET_COMMANDS:
            commands.add(words[0].rsplit("/", 1)[-1])
    return commands


def _same_file(first: str, second: str) -> bool:
    """Whether two names of files can be the same file (one relative to where the other is)."""
    if first == second:
        return True
    longer, shorter = (first, second) if len(first) > len(second) else (second, first)
    return longer.endswith("/" + shorter)


# -- earlier results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlierResult:
    """An earlier call of the conversation and the result it got (cut)."""

    call: ToolCall
    result: str
    is_error: bool


def related_results(
    conversation: Sequence[Message], call: ToolCall, agent: str | None, limit: int = 4
) -> list[EarlierResult]:
    """Up to ``limit`` earlier calls that touch a file ``call`` names or run a command it
    runs, with their results, most recent first."""
    files = call_files(call, agent)
    commands = call_commands(call, agent)
    if limit <= 0 or not (files or commands):
        return []
    answers = {
        message.tool_call_id: message
        for message in conversation
        if message.role == "tool" and message.tool_call_id
    }
    found: list[EarlierResult] = []
    for message in reversed(conversation):
        for earlier in reversed(message.tool_calls if message.role == "assistant" else []):
            answer = answers.get(earlier.id)
            if answer is None or earlier.id == call.id:
                continue
            if _related(earlier, agent, files, commands):
                result = cut_text(answer.content, RESULT_CHARS)
                found.append(EarlierResult(earlier, result, answer.is_error))
                if len(found) == limit:
                    return found
    return found


def _related(earlier: ToolCall, agent: str | None, files: list[str], commands: set[str]) -> bool:
    if commands & call_commands(earlier, agent):
        return True
    theirs = call_files(earlier, agent)
    return any(_same_file(mine, other) for mine in files for other in theirs)


# -- the container -----------------------------------------------------------------------------


async def _fact(sandbox: Sandbox, command: str, workdir: str | None) -> str | None:
    """The output of a read-only ``command``, or None when it failed, timed out or the
    sandbox could not run it."""
    try:
        result = await asyncio.wait_for(
            sandbox.exec(command, timeout=FACT_TIMEOUT_S, workdir=workdir),
            timeout=FACT_TIMEOUT_S + 2,
        )
    except (SandboxError, TimeoutError, OSError):
        return None
    if result.exit_code != 0 or result.timed_out:
        return None
    return result.output


async def _file_content(sandbox: Sandbox, path: str, workdir: str | None) -> str | None:
    """The head of a regular file (marked when cut), or None when there is none to read."""
    quoted = shlex.quote(path)
    command = f"test -f {quoted} && wc -c < {quoted} && head -c {FILE_CHARS} -- {quoted}"
    output = await _fact(sandbox, command, workdir)
    if output is None:
        return None
    size_line, _, content = output.partition("\n")
    if "\x00" in content:  # a binary file says nothing useful as text
        return None
    size = int(size_line.strip()) if size_line.strip().isdigit() else len(content)
    if size > FILE_CHARS:
        content += f"\n[... file cut: {size} bytes in all ...]"
    return content


async def container_facts(sandbox: Sandbox, call: ToolCall, agent: str | None) -> dict[str, str]:
    """What the live container shows now, by name: ``cwd``, ``listing``, ``git_status`` (in a
    repository) and ``file <path>`` for each existing file the call names (its head)."""
    facts = describe_call(call.name, call.arguments, agent)
    workdir = facts.workdir if facts is not None else None
    commands = {
        "cwd": "pwd",
        "listing": "ls -A | head -50",
        "git_status": "git rev-parse --is-inside-work-tree >/dev/null 2>&1 && "
        "git --no-optional-locks status --short | head -50",
    }
    found: dict[str, str] = {}
    for name, command in commands.items():
        output = await _fact(sandbox, command, workdir)
        if output is not None:
            found[name] = output.rstrip("\n")
    for path in call_files(call, agent)[:MAX_FILES]:
        content = await _file_content(sandbox, path, workdir)
        if content is not None:
            found[f"file {path}"] = content
    return found
