"""The exceptions understudy raises.

Every error derives from :class:`UnderstudyError` and, where one fits, from the builtin a caller
would expect (``CommandTimeoutError`` is a ``TimeoutError``, ``ImageNotFoundError`` a
``LookupError``), so code can catch either.
"""

from __future__ import annotations


class UnderstudyError(Exception):
    """Base class of every error understudy raises on purpose."""


class ConfigError(UnderstudyError, ValueError):
    """A setting, option or registry name is not valid."""


class SchemaError(UnderstudyError, ValueError):
    """A file read from a user does not match the trajectory schema.

    ``problems`` holds one line per problem, each naming the file, line and field.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(shown + more)


class EngineUnavailableError(UnderstudyError, ConnectionError):
    """No Docker engine answers."""


class SandboxError(UnderstudyError, RuntimeError):
    """A sandbox operation failed."""


class SandboxClosedError(SandboxError):
    """The sandbox was used after ``close()``."""


class SandboxCrashedError(SandboxError):
    """The sandbox's container stopped or vanished under a running operation."""


class SandboxFileNotFoundError(SandboxError, FileNotFoundError):
    """A path read from a sandbox does not exist there."""


class CommandTimeoutError(UnderstudyError, TimeoutError):
    """A command ran past its deadline where a timeout is fatal (setup commands, for instance)."""


class ImageNotFoundError(UnderstudyError, LookupError):
    """An image named by a spec or option is not present on the engine."""


class ImageBuildError(UnderstudyError, RuntimeError):
    """Building the base image failed."""


class EnvBuildError(UnderstudyError, RuntimeError):
    """Turning an EnvSpec into an image failed (repository, commit, patch or setup command)."""
