"""Process-wide record of live sandboxes, so none outlives the process that started it.

Sandboxes are closed explicitly in normal operation; this is the safety net for an unhandled
exception, Ctrl-C or SIGTERM: at interpreter exit every sandbox still recorded is removed.
A SIGKILLed process cannot clean up; ``understudy sandbox gc`` removes what it left.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable

# Re-exported: SIGTERM as a normal exit is what lets the clean-up below run.
from understudy.shutdown import exit_on_sigterm as exit_on_sigterm

_live: dict[str, Callable[[], None]] = {}
_lock = threading.Lock()


def track(sandbox_id: str, remove: Callable[[], None]) -> None:
    """Record a live sandbox and the blocking function that removes it."""
    with _lock:
        _live[sandbox_id] = remove


def forget(sandbox_id: str) -> None:
    """The sandbox was closed normally."""
    with _lock:
        _live.pop(sandbox_id, None)


def live_sandboxes() -> list[str]:
    """Ids of sandboxes this process has started and not closed."""
    with _lock:
        return list(_live)


def remove_all() -> None:
    """Remove every recorded sandbox now (blocking); errors are ignored, it is a last resort."""
    with _lock:
        pending = list(_live.items())
        _live.clear()
    for _, remove in pending:
        # Best effort: one failure must not keep the others from being removed.
        with contextlib.suppress(Exception):
            remove()


atexit.register(remove_all)
