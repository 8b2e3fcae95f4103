"""Recorded tool results, served VCR-style.

Every recorded call of a session is paired with its recorded result (by ``tool_call_id``). A
call matches a recording when the tool name and the *canonical* arguments are equal: keys
sorted, whitespace inside strings collapsed. Each recording plays once, in recorded order. A call
that matches nothing gets the closest recordings of the same tool reported as near misses, for
diagnostics only: a near miss is never served.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict, deque
from typing import Any

from pydantic import BaseModel

from understudy.trajectory import Message

NEAR_MISS_THRESHOLD = 0.6
"""Similarity (0-1) of canonical arguments above which a recording counts as a near miss."""


def canonical_arguments(value: Any) -> Any:
    """Arguments with whitespace inside strings collapsed, for matching."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {str(key): canonical_arguments(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_arguments(item) for item in value]
    return value


def replay_key(name: str, arguments: dict[str, Any]) -> str:
    """The matching key of a call: tool name plus canonical arguments, keys sorted."""
    return json.dumps([name, canonical_arguments(arguments)], sort_keys=True, ensure_ascii=False)


def _arguments_text(arguments: dict[str, Any]) -> str:
    return json.dumps(canonical_arguments(arguments), sort_keys=True, ensure_ascii=False)


class Recording(BaseModel):
    """One recorded call with its recorded result."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    result: Message


class NearMiss(BaseModel):
    """A recording of the same tool whose arguments were close but not equal."""

    call_id: str
    similarity: float
    recorded_arguments: dict[str, Any]


class ReplayStore:
    """The recordings of one session; each plays at most once."""

    def __init__(self, messages: list[Message]) -> None:
        results = {
            message.tool_call_id: message
            for message in messages
            if message.role == "tool" and message.tool_call_id
        }
        self._queues: dict[str, deque[Recording]] = defaultdict(deque)
        self._by_tool: dict[str, list[Recording]] = defaultdict(list)
        for message in messages:
            for call in message.tool_calls:
                if call.id not in results or call.raw_arguments is not None:
                    continue  # no recorded result, or arguments that cannot be matched
                result = results[call.id]
                recording = Recording(
                    call_id=call.id, name=call.name, arguments=call.arguments, result=result
                )
                self._queues[replay_key(call.name, call.arguments)].append(recording)
                self._by_tool[call.name].append(recording)
        self._played: set[str] = set()

    def __len__(self) -> int:
        return sum(len(recordings) for recordings in self._by_tool.values())

    @property
    def remaining(self) -> int:
        """Recordings not played yet."""
        return len(self) - len(self._played)

    def take(self, name: str, arguments: dict[str, Any]) -> Recording | None:
        """The first unplayed recording with exactly this key, marked as played."""
        queue = self._queues.get(replay_key(name, arguments))
        if not queue:
            return None
        recording = queue.popleft()
        self._played.add(recording.call_id)
        return recording

    def near_misses(self, name: str, arguments: dict[str, Any], limit: int = 3) -> list[NearMiss]:
        """Unplayed recordings of the same tool with similar arguments, closest first."""
        wanted = _arguments_text(arguments)
        misses = []
        for recording in self._by_tool.get(name, []):
            if recording.call_id in self._played:
                continue
            candidate = _arguments_text(recording.arguments)
            similarity = difflib.SequenceMatcher(None, wanted, candidate).ratio()
            if similarity >= NEAR_MISS_THRESHOLD:
                misses.append(
                    NearMiss(
                        call_id=recording.call_id,
                        similarity=round(similarity, 3),
                        recorded_arguments=recording.arguments,
                    )
                )
        misses.sort(key=lambda miss: miss.similarity, reverse=True)
        return misses[:limit]
