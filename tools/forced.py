"""Forced tool results: answers fixed in advance for the calls that match a rule.

A regression scenario sets a trap by deciding what a tool answers (the test run fails, the push
is rejected, the search finds nothing) whatever the sandbox would have said. A
:class:`ForcedResult` names the calls it answers (by tool name, and by a regular expression on
the shell script the call runs, else on its arguments as JSON) and the result. The router asks
the forced results before the policy chain; a call no rule matches is served as usual.

A shell result is given as the command's own output and exit code and shown through the
logged harness's adapter, as a live result would be (an OpenHands call gets its ``[Command
finished with exit code 1]``, a SWE-agent call its footer, a timeout the harness's timeout
message); ``verbatim`` shows the text exactly as given instead, which is how every other
tool's result is shown. A forced result's provenance is ``simulated`` with
``meta["simulator"] = "forced"``: no tool ran, and judges know it.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from understudy.errors import ToolCallError
from understudy.tools.adapters import describe_call, find_adapter
from understudy.tools.base import Adapter, ToolOutcome
from understudy.tools.shell import timeout_note
from understudy.trajectory import ToolCall

FORCED_BY = "forced"
"""``meta["simulator"]`` of a forced result."""


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a regular expression; a ValueError (a validation error in a model)
    saying why not."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"not a regular expression: {error}") from None
    return pattern


class ForcedResult(BaseModel):
    """What a tool answers to the calls that match, instead of running them."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    tool: str | None = None
    """The tool answered: the name the model calls (``bash``, ``Bash``, ``web_search``) or a
    canonical tool (``shell``, ``editor``, ``browser``); None: any tool."""
    match: str | None = None
    """A regular expression searched in the shell script the call runs, else in the call's
    arguments as JSON; None: every call of ``tool``."""
    output: str = ""
    """The result: a shell command's output (shown as the harness shows it), or the text the
    tool answers."""
    exit_code: int | None = None
    """A shell command's exit code (None: 0 unless ``timed_out``)."""
    timed_out: bool = False
    """The shell command ran into its time limit (shown with the harness's timeout message)."""
    timeout_s: float = 120.0
    """The time limit a timed-out command is said to have run into."""
    is_error: bool = False
    """The tool reports a failure (a refused edit, an unavailable search), as opposed to a
    command that ran and failed."""
    verbatim: bool = False
    """Show ``output`` exactly as given, even for a shell call (no harness wrapping)."""
    times: int | None = Field(default=None, gt=0)
    """How many matching calls it answers, in order (None: all of them); later calls go to the
    next matching rule, or are served as usual."""

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return check_pattern(value) if value is not None else None

    def matches(self, call: ToolCall, canonical: str | None, script: str | None) -> bool:
        """Whether the rule answers ``call`` (whose canonical tool and shell script are given)."""
        if self.tool is not None and self.tool not in (call.name, canonical):
            return False
        if self.match is None:
            return True
        haystack = script if script is not None else json.dumps(call.arguments, sort_keys=True)
        return re.search(self.match, haystack) is not None


class ForcedResults:
    """The forced results of one rollout, with what each rule has answered so far."""

    def __init__(self, rules: Sequence[ForcedResult], agent: str | None = None) -> None:
        self._rules = list(rules)
        self._agent = agent
        self._used = [0] * len(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def answer(
        self, call: ToolCall, cwd: str | None = None, open_file: str | None = None
    ) -> ToolOutcome | None:
        """The forced outcome of ``call`` (rendered for its harness), or None; ``cwd`` is the
        shell's working directory and ``open_file`` the file open in SWE-agent's viewer, which
        harnesses show beside a command's output."""
        if not self._rules:
            return None
        facts = describe_call(call.name, call.arguments, self._agent)
        canonical = facts.canonical if facts is not None else None
        script = facts.script if facts is not None else None
        for index, rule in enumerate(self._rules):
            if rule.times is not None and self._used[index] >= rule.times:
                continue
            if rule.matches(call, canonical, script):
                self._used[index] += 1
                adapter = find_adapter(call.name, self._agent)
                shell = script is not None or _runs_in_shell(adapter, call)
                if facts is not None and facts.opens_file and facts.paths:
                    open_file = posixpath.join(cwd or "/", facts.paths[0])  # open, create
                outcome = _outcome(rule, call, adapter, shell, cwd, open_file)
                outcome.meta.update({"simulator": FORCED_BY, "forced_rule": index})
                return outcome
        return None


def _runs_in_shell(adapter: Adapter | None, call: ToolCall) -> bool:
    """Whether the logged harness ran ``call`` as a shell command and showed its output as one
    (SWE-agent's viewer and search tools: with the state footer), though the call's facts name
    no script."""
    if adapter is None:
        return False
    try:
        return adapter.translate(call.name, call.arguments).tool == "shell"
    except ToolCallError:
        return False  # an ill-formed call: its forced result is shown as given


def _outcome(
    rule: ForcedResult,
    call: ToolCall,
    adapter: Adapter | None,
    shell: bool,
    cwd: str | None,
    open_file: str | None,
) -> ToolOutcome:
    """``rule``'s result for ``call``: as given, or (a shell command's output) shown through
    the call's adapter, as a live result would be."""
    if rule.verbatim or not shell:
        said = {} if rule.exit_code is None else {"exit_code": rule.exit_code}
        return ToolOutcome(content=rule.output, is_error=rule.is_error, meta=said)
    exit_code = rule.exit_code if rule.exit_code is not None else (124 if rule.timed_out else 0)
    meta: dict[str, Any] = {
        "exit_code": exit_code,
        "timed_out": rule.timed_out,
        "truncated": False,
        "duration_s": rule.timeout_s if rule.timed_out else 0.0,
    }
    if cwd is not None:
        meta["cwd"] = cwd
    if open_file is not None:
        meta["open_file"] = posixpath.normpath(open_file)
    content = rule.output
    if adapter is not None:
        # An output written as the harness shows it (with SWE-agent's footer, say) is what
        # the command printed once the wrapper is taken off: shown once, not wrapped twice.
        printed = adapter.unwrap(call.name, call.arguments, content)
        content = printed if printed is not None else content
    if rule.timed_out:  # as the shell tool words it; adapters reword it their own way
        meta["timeout_s"] = rule.timeout_s
        separator = "" if not content or content.endswith("\n") else "\n"
        content = f"{content}{separator}{timeout_note(rule.timeout_s)}"
    outcome = ToolOutcome(content=content, is_error=rule.is_error or rule.timed_out, meta=meta)
    return adapter.render(call.name, call.arguments, outcome) if adapter else outcome
