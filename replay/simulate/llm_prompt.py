"""The LLM simulator's prompt: the model plays the tool, shown real examples and the context.

The system message casts the model as the tool (or the environment behind it) and asks for the
JSON reply :data:`REPLY_SCHEMA` only, reproducing the exact formatting the real tool prints.
The user message has up to five sections, each with a share of :data:`PROMPT_CHARS` so that a
prompt stays bounded however long the call, the examples or the files are:

1. the tool as offered (name, description, parameter schema) and the call's arguments;
2. real recorded calls retrieved from the pair database, each with the result it got;
3. earlier results of this conversation that touch the same files or commands;
4. facts read from the live container (cwd, listing, ``git status``, file contents).

Each long text is cut in place with a visible marker (:func:`~.context.cut_text`), and the
sections' texts are shared out among their items, so no single long item crowds out the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from understudy.protocols import SimulationRequest
from understudy.replay.pairs.query import Neighbour
from understudy.replay.simulate.context import EarlierResult, cut_text

__all__ = [
    "PROMPT_CHARS",
    "REPLY_SCHEMA",
    "SYSTEM_PROMPT",
    "build_messages",
    "user_prompt",
]

PROMPT_CHARS = 24_000
"""Most characters of the user message."""
_SHARES = {"call": 0.25, "examples": 0.35, "earlier": 0.2, "container": 0.2}
"""Each section's share of :data:`PROMPT_CHARS`."""

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "output": {"type": "string"},
        "exit_code": {"type": ["integer", "null"]},
        "is_error": {"type": "boolean"},
    },
    "required": ["output", "exit_code", "is_error"],
    "additionalProperties": False,
}
"""What the model answers with: the tool's output, its exit code (null when the tool has
none) and whether the tool reports failure."""

SYSTEM_PROMPT = """\
You are a tool in a software environment: you are given one call that an AI coding agent made \
to a tool, and you answer exactly what the real tool would have returned to it.

Rules:
- Reply only with a JSON object {"output": string, "exit_code": integer or null, \
"is_error": boolean}.
- "output" is the tool's output, character for character as the real tool prints it: the \
same headers, line numbers, prompts, blank lines, error messages and wording. Do not explain, \
comment or summarise; do not wrap it in a code fence.
- "exit_code" is the command's exit status for tools that run commands, null for tools that \
have none. "is_error" is true when the tool itself reports a failure.
- Follow the real examples' formatting closely: they are real results of this tool (or a \
similar one) for similar calls, recorded in other sessions, so their file names and numbers \
belong to those sessions, not to this one.
- Stay consistent with the earlier results of this conversation and with the container's \
files and state, when they are given.
- When you cannot know a detail (a test's timing, a hash), produce something plausible of the \
right shape rather than saying you do not know.
"""


def build_messages(
    request: SimulationRequest,
    examples: Sequence[Neighbour],
    earlier: Sequence[EarlierResult],
    facts: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The chat messages asking the model to play ``request``'s tool."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_prompt(request, examples, earlier, facts)},
    ]


def user_prompt(
    request: SimulationRequest,
    examples: Sequence[Neighbour],
    earlier: Sequence[EarlierResult],
    facts: Mapping[str, str],
) -> str:
    """The user message: the call, examples, earlier results and container facts, bounded."""
    sections = [_call_section(request, _budget("call"))]
    if examples:
        sections.append(_examples_section(examples, _budget("examples")))
    if earlier:
        sections.append(_earlier_section(earlier, _budget("earlier")))
    if facts:
        sections.append(_container_section(facts, _budget("container")))
    sections.append(
        f"Now answer the call to `{request.call.name}` above with the JSON object, as the "
        "real tool would."
    )
    return cut_text("\n\n".join(sections), PROMPT_CHARS)


def _budget(section: str) -> int:
    return int(PROMPT_CHARS * _SHARES[section])


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _call_section(request: SimulationRequest, budget: int) -> str:
    spec = request.spec
    lines = ["## The tool", f"Name: {request.call.name}"]
    if spec is not None:
        if spec.description:
            lines.append("Description:\n" + cut_text(spec.description, budget // 3))
        lines.append("Parameters (JSON Schema):\n" + cut_text(_json(spec.parameters), budget // 4))
    lines += ["", "## The call", "Arguments:", cut_text(_json(request.call.arguments), budget // 3)]
    return "\n".join(lines)


def _examples_section(examples: Sequence[Neighbour], budget: int) -> str:
    intro = (
        "Recorded calls of real tools, similar to this one, and the results they got "
        "(from other sessions)."
    )
    calls = [
        (f"Example {n}", e.tool, e.arguments, e.result, _status(e.exit_code, e.is_error))
        for n, e in enumerate(examples, start=1)
    ]
    return _calls_section("## Real examples", intro, calls, budget)


def _earlier_section(earlier: Sequence[EarlierResult], budget: int) -> str:
    intro = (
        "Calls made earlier in this conversation that touch the same files or commands, most "
        "recent first."
    )
    calls = [
        (f"Earlier call {n}", i.call.name, i.call.arguments, i.result, _status(None, i.is_error))
        for n, i in enumerate(earlier, start=1)
    ]
    return _calls_section("## Earlier results in this conversation", intro, calls, budget)


def _status(exit_code: int | None, is_error: bool) -> str:
    """`` (exit code 1, reported as an error)``, or '' when there is nothing to say."""
    status = [f"exit code {exit_code}"] if exit_code is not None else []
    status += ["reported as an error"] if is_error else []
    return f" ({', '.join(status)})" if status else ""


def _calls_section(
    title: str, intro: str, calls: Sequence[tuple[str, str, Any, str, str]], budget: int
) -> str:
    """A section of calls, each with its tool, arguments and result, sharing ``budget``."""
    each = budget // len(calls)
    parts = [title, intro]
    for label, tool, arguments, result, status in calls:
        parts += [
            f"### {label}: tool `{tool}`",
            "Arguments:",
            cut_text(_json(arguments), each // 3),
            f"Result{status}:",
            _fenced(cut_text(result, each * 2 // 3)),
        ]
    return "\n".join(parts)


def _container_section(facts: Mapping[str, str], budget: int) -> str:
    each = budget // len(facts)
    parts = ["## The container now", "Read from the environment just before this call."]
    titles = {
        "cwd": "Working directory",
        "listing": "Files there (`ls -A`)",
        "git_status": "`git status --short`",
    }
    for name, value in facts.items():
        title = titles.get(name) or (
            f"Content of `{name.removeprefix('file ')}`" if name.startswith("file ") else name
        )
        shown = value if value.strip() else "(empty)"
        parts += [f"### {title}", _fenced(cut_text(shown, each))]
    return "\n".join(parts)


def _fenced(text: str) -> str:
    """``text`` in a code fence long enough not to be closed by one inside it."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"
