"""Test doubles shipped with understudy (used by its tests, ``understudy demo`` and
``understudy serve-scripted``).

:class:`ScriptedServer` is a real HTTP server on 127.0.0.1 that speaks the OpenAI
chat-completions wire format and answers from a script, so the real ``openai`` client can be
driven through turns, tool calls, faults and broken replies without an API key or a network.
Scripts can also be written as files (:func:`load_script`), and :mod:`understudy.testing.policies`
holds small ready-made policies.
"""

from understudy.testing.completion import count_tokens
from understudy.testing.malformed import MALFORMED_REPLIES
from understudy.testing.request import ChatRequest
from understudy.testing.script import Fault, Policy, RawReply, ScriptedTurn, ScriptItem
from understudy.testing.script_file import load_script
from understudy.testing.server import ScriptedServer

__all__ = [
    "MALFORMED_REPLIES",
    "ChatRequest",
    "Fault",
    "Policy",
    "RawReply",
    "ScriptItem",
    "ScriptedServer",
    "ScriptedTurn",
    "count_tokens",
    "load_script",
]
