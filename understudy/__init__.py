"""understudy: replay logged agentic coding sessions against a candidate model and judge them."""

from understudy.protocols import Sandbox

__version__ = "0.1.0"

__all__ = ["Sandbox", "__version__"]
