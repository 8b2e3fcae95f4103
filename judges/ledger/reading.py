"""Reading one call: what the vocabulary of logged tools says it does (or, for a tool it does not
know, what its name suggests), with the shell script it ran read on top."""

from __future__ import annotations

import json
from typing import Any

from understudy.judges.ledger.models import Classification, LedgerCall
from understudy.judges.ledger.shell import guess_call, guessed_script, ordered_kinds, read_script
from understudy.tools.adapters import describe_call
from understudy.tools.adapters.facts import CallFacts, CallKind, clip, one_line
from understudy.trajectory import ToolCall

_CLASSIFICATION: dict[CallKind, Classification] = {
    "read": "read",
    "write": "write",
    "edit": "edit",
    "search": "search",
    "fetch": "fetch",
    "run": "shell",
    "other": "other",
}
"""The ledger's class of each kind of call (a script's own class comes from reading it)."""


class CallReader:
    """Reads the tool calls of one trajectory, in order.

    In order, because SWE-agent's viewer keeps a file open between calls: ``open`` and
    ``create`` open one, and the windowed calls that name no file act on it.
    """

    def __init__(self, agent: str | None = None) -> None:
        self.agent = agent
        """The agent that logged the calls: picks its reading of a shared tool name."""
        self.open_file: str | None = None
        """The file open in SWE-agent's viewer."""

    def read(self, index: int, tool_call: ToolCall) -> LedgerCall:
        """The ledger's account of ``tool_call``, made by the message at ``index`` (its result
        is attached later)."""
        name = tool_call.name
        arguments = tool_call.arguments if isinstance(tool_call.arguments, dict) else {}
        call = LedgerCall(index=index, call_id=tool_call.id, tool=name)
        unparsed = not arguments and bool(tool_call.raw_arguments)
        if unparsed:
            call.args = clip(one_line(tool_call.raw_arguments or ""), 200)
        facts = self._facts(name, arguments)
        if facts is None:
            guess_call(call, name, arguments)
        elif facts.unreadable:
            _refuse(call, facts, unparsed)
        else:
            _apply(call, facts)
            if facts.opens_file and call.paths:
                self.open_file = call.paths[0]
        if not call.args:
            call.args = _summarize_arguments(arguments)
        call.kinds = ordered_kinds(call.kinds or [call.classification])
        call.classification = call.kinds[0]
        return call

    def _facts(self, name: str, arguments: dict[str, Any]) -> CallFacts | None:
        """What the vocabulary says a call does (on the viewer's open file, if it acts on
        that); else, for an unknown tool that looks like a shell, the script it runs; None when
        only the tool's name can be guessed from."""
        facts = describe_call(name, arguments, self.agent)
        if facts is not None:
            facts = facts.with_open_file(self.open_file)
        return facts if facts is not None else guessed_script(name, arguments)


def _apply(call: LedgerCall, facts: CallFacts) -> None:
    """Put what a call does on its ledger entry, reading the script it runs, if any."""
    call.canonical = facts.canonical
    call.args = facts.summary or call.args
    call.delegated = facts.delegated
    if facts.script is not None:
        read_script(call, facts.script, facts.background)
        return
    call.kinds = [_CLASSIFICATION[kind] for kind in facts.kinds]
    call.mutating = facts.changes_state
    call.paths = list(facts.paths)
    call.edits = list(facts.edits)
    call.query, call.scope, call.url = facts.query, facts.scope, facts.url


def _refuse(call: LedgerCall, facts: CallFacts, unparsed: bool) -> None:
    """A call whose arguments could not be read: nothing is known of what it did, unless its
    harness refused it (it checks arguments, or they were not even JSON): then it did nothing."""
    call.canonical, call.scope = facts.canonical, facts.scope
    call.kinds, call.mutating = ["other"], None
    if facts.unreadable == "refused" or unparsed:
        call.invalid, call.mutating = True, False


def _summarize_arguments(arguments: dict[str, Any]) -> str:
    try:
        text = json.dumps(arguments, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(arguments)
    return clip(one_line(text), 200)
