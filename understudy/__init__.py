"""understudy: replay logged agentic coding sessions against a candidate model and judge them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from understudy.protocols import Sandbox

__version__ = "0.1.0"

__all__ = ["Sandbox", "__version__"]


def __getattr__(name: str) -> Any:
    # The protocols load pydantic models; importing the package for its version (the command
    # line does, at every start) should not.
    if name == "Sandbox":
        from understudy.protocols import Sandbox

        return Sandbox
    raise AttributeError(f"module 'understudy' has no attribute {name!r}")
