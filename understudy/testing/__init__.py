"""Test doubles shipped with understudy (used by its tests and by ``understudy demo``).

:class:`ScriptedServer` is a real HTTP server on 127.0.0.1 that speaks the OpenAI
chat-completions wire format and answers from a script, so the real ``openai`` client can be
driven through turns, tool calls and faults without an API key or a network.
"""

from understudy.testing.script import ChatRequest, Fault, Policy, ScriptedTurn, ScriptItem
from understudy.testing.server import ScriptedServer
from understudy.testing.wire import count_tokens

__all__ = [
    "ChatRequest",
    "Fault",
    "Policy",
    "ScriptItem",
    "ScriptedServer",
    "ScriptedTurn",
    "count_tokens",
]
