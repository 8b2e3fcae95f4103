"""How the process ends on SIGTERM: as a normal exit, so that its atexit clean-ups run (the
sandboxes of :mod:`understudy.sandbox.tracking` are removed so). Only the standard library, so
that the command line installs it at every start at no cost."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def exit_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit so that the atexit clean-up runs (main thread only)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
