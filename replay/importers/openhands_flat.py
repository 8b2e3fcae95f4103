"""OpenHands' flat events of 2024, as its resolver still writes them in ``output.jsonl``.

Each event is one object whose fields sit beside its kind, without ``id``, ``source``, ``cause``
or ``timestamp``: ``{"action": "run", "command": "ls", "thought": "...", "is_confirmed": ...}``
and ``{"observation": "run", "content": "...", "command": "ls", "exit_code": 0}``.
:func:`nested_events` turns them into the events the importer reads everywhere else:
``{id, source, action, args}`` and ``{id, cause, observation, content, extras}``.

What the flat form leaves out is restored from the order of the events:

* ids are the events' positions;
* an observation answers the last action before it that no observation answered yet;
* a message action is the user's when it comes first (the task), or when it answers an agent's
  message that waited for a response (``wait_for_response``; OpenHands' stand-in user answers
  that way); any other message is the agent's.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_flat", "nested_events"]

_ACTION_KEYS = frozenset({"action", "action_risk"})
"""Fields of a flat action that are not its arguments (``action_risk``: always null)."""
_OBSERVATION_KEYS = frozenset({"observation", "content"})


def is_flat(events: list[Any]) -> bool:
    """Whether ``events`` are flat: none has the ``args``, ``extras``, ``id`` or ``source`` that
    every event of the nested form has."""
    kinds = [event for event in events if isinstance(event, dict)]
    return bool(kinds) and not any(
        "args" in event or "extras" in event or "id" in event or "source" in event
        for event in kinds
    )


def nested_events(events: list[Any]) -> list[Any]:
    """The flat ``events`` as nested ones (anything that is no object is left as it is, for the
    importer to warn about)."""
    nested: list[Any] = []
    unanswered: list[int] = []
    waiting = False  # the agent's last message waited for a response
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            nested.append(event)
        elif "action" in event:
            source = _source(event, first=not nested, waiting=waiting)
            args = {key: value for key, value in event.items() if key not in _ACTION_KEYS}
            if "images_urls" in args:  # renamed since
                args["image_urls"] = args.pop("images_urls")
            nested.append(
                {"id": position, "source": source, "action": event["action"], "args": args}
            )
            if event["action"] == "message":
                waiting = source == "agent" and event.get("wait_for_response") is True
            elif source == "agent":
                unanswered.append(position)
        elif "observation" in event:
            extras = {key: value for key, value in event.items() if key not in _OBSERVATION_KEYS}
            observed = {"id": position, "observation": event["observation"]}
            if unanswered:
                observed["cause"] = unanswered.pop()
            nested.append({**observed, "content": event.get("content"), "extras": extras})
        else:
            nested.append(event)
    return nested


def _source(event: dict[str, Any], first: bool, waiting: bool) -> str:
    if event["action"] != "message":
        return "agent"
    return "user" if first or waiting else "agent"
