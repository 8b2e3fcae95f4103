"""Turning a retrieved real pair into the answer to the call at hand, and how far to trust it.

A pair retrieved for a call answered a *similar* call in another session. Two things make its
result fit the call at hand:

- **Harness**: a pair of the same logged tool carries the result exactly as that harness
  showed it; a pair of another tool (or another harness's flavour of the same canonical tool)
  carries the tool's own output, which the call's adapter wraps as the call's harness would
  (SWE-agent's "Your command ran successfully and did not produce any output.", Codex's exit
  code header, ...). Releases of one harness wrapped differently (Codex's JSON envelope came
  and went), so when the session itself shows this tool's output bare, it is given bare.
- **Names**: where the two calls differ only in a path, file or URL (``cat src/a.py`` against
  ``cat lib/b.py``), the other session's name is replaced by the current one wherever the
  result shows it. Anything else of the other session (its outputs' numbers, other files) is
  kept as it is: rewriting more would be guessing.

:func:`pair_confidence` scores the match between the call and a pair's call: 1 for the same
text of the same tool, falling with the distance between their texts, and low for another
tool's pair. It is a ranking signal that simcheck measures against reality, not a probability.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Iterator, Sequence
from typing import Any

from understudy.replay.pairs.query import Neighbour, neighbour_text, tool_and_text
from understudy.tools.adapters import find_adapter, logged_output
from understudy.tools.base import ToolOutcome
from understudy.trajectory import Message, ToolCall

SAME_TOOL_FLOOR = 0.3
"""Confidence of a same-tool pair whose call shares nothing else with the call."""
SAME_TEXT_CEILING = 0.9
"""Confidence of a pair whose call is the very same text: it ran on another machine."""
OTHER_TOOL_CEILING = 0.2
"""Most confidence a pair of another tool can have."""
COMPARED_CHARS = 2000
"""Characters of each call's text compared (a heredoc can be a whole file)."""


def text_similarity(first: str, second: str) -> float:
    """Similarity of two texts in [0, 1] (difflib's ratio of their first characters)."""
    if first == second:
        return 1.0
    matcher = difflib.SequenceMatcher(None, first[:COMPARED_CHARS], second[:COMPARED_CHARS])
    return matcher.ratio()


def pair_confidence(call_text: str, neighbour: Neighbour) -> float:
    """How closely ``neighbour``'s call matches a call whose text is ``call_text``, in [0, 1]."""
    similarity = text_similarity(call_text, neighbour_text(neighbour))
    if not neighbour.same_tool:
        return round(OTHER_TOOL_CEILING * similarity, 3)
    return round(SAME_TOOL_FLOOR + (SAME_TEXT_CEILING - SAME_TOOL_FLOOR) * similarity, 3)


def adapted_result(
    call: ToolCall, agent: str | None, neighbour: Neighbour, plain: bool = False
) -> ToolOutcome:
    """``neighbour``'s result as the answer to ``call``: in the call's harness's wrapping (none
    when ``plain``: the session shows this tool's output as it is), with the names the two
    calls differ by put back to the call's own."""
    plain_output = plain and neighbour.output is not None
    content = neighbour.output if plain_output else _in_harness_wrapping(call, agent, neighbour)
    assert content is not None
    for theirs, ours in renamings(call_words(call, agent), _pair_words(neighbour)):
        content = content.replace(theirs, ours)
    meta: dict[str, Any] = {}
    if neighbour.exit_code is not None:
        meta["exit_code"] = neighbour.exit_code
    return ToolOutcome(content=content, is_error=neighbour.is_error, meta=meta)


def _in_harness_wrapping(call: ToolCall, agent: str | None, neighbour: Neighbour) -> str:
    if neighbour.tool == call.name or neighbour.output is None:
        return neighbour.result
    adapter = find_adapter(call.name, agent)
    if adapter is None:
        return neighbour.output
    meta = {"exit_code": neighbour.exit_code} if neighbour.exit_code is not None else {}
    canonical = ToolOutcome(content=neighbour.output, is_error=neighbour.is_error, meta=meta)
    try:
        return adapter.render(call.name, call.arguments, canonical).content
    except (KeyError, TypeError, ValueError):  # arguments the renderer does not expect
        return neighbour.output


def call_words(call: ToolCall, agent: str | None) -> list[str]:
    """The words of a call's text (its script split as the shell would, else its arguments)."""
    return _split(tool_and_text(call, agent)[1])


def _pair_words(neighbour: Neighbour) -> list[str]:
    return _split(neighbour_text(neighbour))


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unclosed quote: words as whitespace separates them
        return text.split()


def renamings(ours: list[str], theirs: list[str]) -> Iterator[tuple[str, str]]:
    """``(their name, our name)`` for each position where two calls of the same shape differ
    only by a name (a path, a file, a URL); nothing when their shapes differ."""
    if len(ours) != len(theirs) or ours == theirs:
        return
    differing = [(mine, other) for mine, other in zip(ours, theirs, strict=True) if mine != other]
    if not all(_is_name(mine) and _is_name(other) for mine, other in differing):
        return
    # Longest first, so that a name is not replaced inside a longer one already put back.
    for mine, other in sorted(differing, key=lambda pair: -len(pair[1])):
        yield other, mine


def _is_name(word: str) -> bool:
    """Whether a word reads as the name of a file, directory or URL (not an option or code)."""
    if not word or word.startswith("-") or len(word) < 3:
        return False
    if any(char in word for char in " \n\t;|&<>$`(){}"):
        return False
    return "/" in word or "." in word.strip(".")


def shows_bare_output(conversation: Sequence[Message], call: ToolCall, agent: str | None) -> bool:
    """Whether the latest earlier result of ``call``'s tool in the conversation is its tool's
    output without any wrapping (so a simulated one should be too)."""
    results = {m.tool_call_id: m for m in conversation if m.role == "tool" and m.tool_call_id}
    for message in reversed(conversation):
        for earlier in message.tool_calls:
            answer = results.get(earlier.id)
            if earlier.name != call.name or earlier.id == call.id or answer is None:
                continue
            output = logged_output(earlier.name, earlier.arguments, answer.content, agent)
            return output is not None and output == answer.content.replace("\r\n", "\n")
    return False
