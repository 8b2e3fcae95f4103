"""The built-in scripted candidates of ``understudy suite selftest``: honest and dishonest.

Each plays a scenario's ``selftest`` script (:class:`~understudy.scenarios.model.Selftest`):
one step per turn, the step after the calls it has had answered, so it reacts to whatever the
harness served. The honest one's ``{report}`` becomes a faithful account of every result it
got: the call, then the last lines of what came back. Both are served by the scripted
OpenAI-compatible server of :mod:`understudy.testing` on 127.0.0.1, under one model name per
scenario (``scripted:honest/<scenario>``), so the real client and harness are exercised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from understudy.errors import ConfigError
from understudy.scenarios.model import Scenario, ScriptStep
from understudy.testing import ChatRequest, ScriptedServer, ScriptedTurn
from understudy.testing.script import Policy
from understudy.wire import content_text

__all__ = ["ROLES", "SCRIPTED_PREFIX", "Role", "ScriptedCandidates", "scripted_role"]

Role = Literal["honest", "dishonest"]
ROLES: tuple[Role, ...] = ("honest", "dishonest")
SCRIPTED_PREFIX = "scripted:"
"""``--model scripted:honest`` (or ``scripted:dishonest``) picks a built-in candidate."""

_SCRIPTED_CALL_ID = re.compile(r"^call_\d+_\d+$")
"""The ids the scripted server gives its tool calls (recorded calls of a prefix have others)."""
_REPORT_LINES = 12


def scripted_role(model: str) -> Role | None:
    """The built-in candidate ``model`` names, or None for a real model."""
    if not model.startswith(SCRIPTED_PREFIX):
        return None
    name = model.removeprefix(SCRIPTED_PREFIX)
    role = next((known for known in ROLES if known == name), None)
    if role is None:
        raise ConfigError(
            f"unknown scripted candidate {model!r}; valid: "
            + ", ".join(SCRIPTED_PREFIX + name for name in ROLES)
        )
    return role


def _scripted_exchanges(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(call, result) of every scripted tool call answered so far, in order."""
    calls: dict[str, str] = {}
    exchanges = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            call_id = str(call.get("id", ""))
            if _SCRIPTED_CALL_ID.match(call_id):
                calls[call_id] = _shown_call(call.get("function") or {})
        call_id = str(message.get("tool_call_id") or "")
        if message.get("role") == "tool" and call_id in calls:
            exchanges.append((calls[call_id], content_text(message.get("content"))))
    return exchanges


def _shown_call(function: Mapping[str, Any]) -> str:
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except json.JSONDecodeError:
        arguments = {}
    for key in ("command", "cmd", "query", "path", "file_path", "expression"):
        value = arguments.get(key) if isinstance(arguments, dict) else None
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value:
            return str(value[-1])
    return f"{function.get('name')} {json.dumps(arguments, sort_keys=True)}"


def faithful_report(exchanges: Sequence[tuple[str, str]]) -> str:
    """Every call and the last lines of its result, as they came back."""
    parts = []
    for call, result in exchanges:
        lines = result.rstrip("\n").splitlines()[-_REPORT_LINES:]
        shown = "\n".join(lines) if lines else "(no output)"
        parts.append(f"`{call}` returned:\n```\n{shown}\n```")
    return "\n\n".join(parts) or "I have not run anything."


def play(steps: Sequence[ScriptStep], request: ChatRequest) -> ScriptedTurn:
    """The turn of a script for this request: the step after the calls already answered."""
    exchanges = _scripted_exchanges(request.messages)
    step = steps[min(len(exchanges), len(steps) - 1)]
    content = step.say.replace("{report}", faithful_report(exchanges))
    calls: list[tuple[str, dict[str, Any] | str]] = (
        [(step.call.tool, step.call.arguments)] if step.call else []
    )
    return ScriptedTurn(content=content or None, tool_calls=calls)


class ScriptedCandidates:
    """A scripted server playing the ``role`` of every scenario given, one model per scenario."""

    def __init__(self, role: Role, scenarios: Sequence[Scenario]) -> None:
        self.role = role
        self._scripts = {
            self.model_for(scenario): getattr(scenario.selftest, role)
            for scenario in scenarios
            if scenario.selftest is not None
        }
        self._server = ScriptedServer(self._policy(), models=list(self._scripts) or ["none"])

    def model_for(self, scenario: Scenario) -> str:
        return f"{SCRIPTED_PREFIX}{self.role}/{scenario.name}"

    def scripted(self, scenario: Scenario) -> bool:
        """Whether the scenario has a script for this candidate."""
        return self.model_for(scenario) in self._scripts

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def _policy(self) -> Policy:
        def policy(request: ChatRequest) -> ScriptedTurn:
            steps = self._scripts.get(request.model)
            if steps is None:
                return ScriptedTurn(content=f"no script for model {request.model!r}")
            return play(steps, request)

        return policy

    @contextmanager
    def serving(self) -> Iterator[ScriptedCandidates]:
        with self._server:
            yield self
