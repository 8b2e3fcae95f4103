"""structlog set-up: human-readable lines on stderr, and optionally JSON events in a file.

Log calls pass values as key-value pairs, never formatted into the message, and never log
payloads (prompts, tool outputs) unless a caller asks for them explicitly.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import structlog

_json_handle: Any = None
_console_level = "WARNING"


def configure_logging(
    level: str | None = None,
    events_file: Path | None = None,
    events_sink: Callable[[str], None] | None = None,
) -> None:
    """Send warnings (or ``level``) to stderr; with ``events_file``, every event as JSON lines;
    with ``events_sink``, every event's JSON line to that function as well (a worker of another
    executor hands its events to the process that writes the run directory).

    Without ``level``, the level of the previous call is kept (so a command can add an events
    file to what the command line set up).
    """
    global _json_handle, _console_level
    level = _console_level = level or _console_level
    if _json_handle is not None:
        _json_handle.close()
        _json_handle = None
    if events_file is None and events_sink is None and "structlog" not in sys.modules:
        return  # nothing has logged yet: the first get_logger configures this level
    import structlog  # loaded when something logs: a command that does not starts without it

    levels = logging.getLevelNamesMapping()  # a new dict at each call: taken once, not per event
    threshold = levels.get(level.upper(), logging.WARNING)
    console = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    def drop_below_threshold(_: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if levels.get(method.upper(), logging.INFO) < threshold:
            raise structlog.DropEvent
        return event

    # Without JSON events, an event below the console's level is dropped before anything is
    # done with it: the hot paths log at debug level.
    early_drop = [drop_below_threshold] if events_file is None and events_sink is None else []
    processors: list[Any] = [
        *early_drop,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if events_file is not None or events_sink is not None:
        if events_file is not None:
            _json_handle = events_file.open("a", encoding="utf-8")
        json_renderer = structlog.processors.JSONRenderer()

        def tee_json(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
            rendered = json_renderer(None, "", dict(event))
            text = rendered.decode() if isinstance(rendered, bytes) else rendered
            if events_sink is not None:
                events_sink(text)
            if _json_handle is not None:
                _json_handle.write(text + "\n")
                _json_handle.flush()
            return event

        processors.append(tee_json)

    if not early_drop:
        processors.append(drop_below_threshold)
    processors.append(console)
    structlog.configure(
        processors=processors,
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def write_event_lines(lines: Iterable[str]) -> None:
    """Append events rendered elsewhere (JSON lines from a worker's ``events_sink``) to the
    events file, if one is configured."""
    if _json_handle is None:
        return
    for line in lines:
        _json_handle.write(line + "\n")
    _json_handle.flush()


def _stderr_logger(*_: Any) -> structlog.PrintLogger:
    import structlog

    # sys.stderr is looked up at each call rather than bound once: it may be swapped (pytest's
    # capture, click's CliRunner) and the old stream closed, which broke every later log call.
    return structlog.PrintLogger(file=sys.stderr)


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name (warnings only, until configured)."""
    import structlog

    if not structlog.is_configured():
        configure_logging()
    return structlog.get_logger(component=name)
