"""What the adapters share: a base class, argument readers, rendering helpers."""

from __future__ import annotations

import re
from typing import Any

from understudy.errors import InvalidToolArgumentsError
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.base import CanonicalCall, ToolOutcome

NUMBERED_LINE = re.compile(r"^( *\d+)\t", re.MULTILINE)
"""A ``cat -n`` style line as the canonical tools number them (6-wide number, tab)."""


class BaseAdapter:
    """Default behaviour: render passes the canonical outcome through unchanged.

    Subclasses set ``names`` and ``stateful_shell`` (the :class:`~understudy.tools.base.Adapter`
    protocol) and ``canonical``, and implement ``translate``.

    ``render`` may also be handed an *error* outcome: ``is_error=True``, the ToolCallError's text
    as content and ``meta["error_type"]`` naming its class (the router builds such outcomes).
    Adapters whose harness worded errors differently reword them; the rest pass them through.

    ``describe`` says what a logged call does (its :class:`CallFacts`), for the judges.

    ``read_only`` says whether a logged call can never change the sandbox, for the tools whose
    canonical translation cannot tell (a search that runs as a shell script). Rebuilding the
    state at a cut skips such calls. The default is False: only calls known to leave the
    sandbox as it was may say True, and an arbitrary shell command never does.
    """

    names: tuple[str, ...] = ()
    stateful_shell: bool = False
    canonical: str = ""
    """The canonical tool this adapter translates to."""

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        raise NotImplementedError

    def render(self, name: str, arguments: dict[str, Any], outcome: ToolOutcome) -> ToolOutcome:
        return outcome

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        """Whether this logged call can never change the sandbox."""
        return False

    def unwrap(self, name: str, arguments: dict[str, Any], shown: str) -> str | None:
        """What the tool printed inside the result its harness showed: by default, all of it."""
        return shown

    def comparable(self, name: str, shown: str) -> str:
        """A result as compared with another run's: by default, as shown."""
        return shown

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        """What the call does: by default, only that it maps onto the canonical tool."""
        return CallFacts(canonical=self.canonical or None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.names)})"


def call(tool: str, **arguments: Any) -> CanonicalCall:
    """A canonical call; arguments given as None are left out."""
    return CanonicalCall(
        tool=tool, arguments={key: value for key, value in arguments.items() if value is not None}
    )


def get_str(arguments: dict[str, Any], key: str, tool: str, required: bool = True) -> str | None:
    """A string argument (None when absent and not required)."""
    value = arguments.get(key)
    if value is None:
        if required:
            raise InvalidToolArgumentsError(f"{tool}: the argument {key!r} is required")
        return None
    if not isinstance(value, str):
        raise InvalidToolArgumentsError(
            f"{tool}: the argument {key!r} must be a string, not {type(value).__name__}"
        )
    return value


def get_number(arguments: dict[str, Any], key: str, tool: str) -> float | None:
    """A numeric argument (numbers given as strings are accepted); None when absent."""
    value = arguments.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidToolArgumentsError(f"{tool}: the argument {key!r} must be a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidToolArgumentsError(
                f"{tool}: the argument {key!r} must be a number, not {value!r}"
            ) from None
    if not isinstance(value, int | float):
        raise InvalidToolArgumentsError(f"{tool}: the argument {key!r} must be a number")
    return float(value)


def get_int(arguments: dict[str, Any], key: str, tool: str) -> int | None:
    """A whole-number argument (``"5"`` and ``5.0`` are accepted); None when absent."""
    number = get_number(arguments, key, tool)
    if number is None:
        return None
    if not number.is_integer():
        raise InvalidToolArgumentsError(f"{tool}: the argument {key!r} must be a whole number")
    return int(number)


def get_bool(arguments: dict[str, Any], key: str) -> bool:
    """A flag; ``"true"``/``"false"`` strings are read as models sometimes send them."""
    value = arguments.get(key)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def renumber(text: str, separator: str) -> str:
    """Canonical ``cat -n`` numbering with ``separator`` in place of the tab."""
    return NUMBERED_LINE.sub(lambda match: match.group(1) + separator, text)


def numbered_lines(text: str) -> list[str]:
    """The numbered lines of a canonical editor output (headers and footers left out)."""
    return [line for line in text.split("\n") if NUMBERED_LINE.match(line)]


SUBMITTED = "submitted"
"""Meta key of a tool result with which a harness ended its run by what the command printed (a
mini-swe-agent command whose output starts with its submission line)."""


def with_meta(outcome: ToolOutcome, content: str, is_error: bool | None = None) -> ToolOutcome:
    """``outcome`` with new content (and error flag), keeping its meta."""
    return ToolOutcome(
        content=content,
        is_error=outcome.is_error if is_error is None else is_error,
        meta=dict(outcome.meta),
    )
