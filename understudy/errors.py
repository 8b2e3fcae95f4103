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


class ShellUnavailableError(SandboxError):
    """The sandbox cannot run a persistent shell (its image has no bash)."""


class CommandTimeoutError(UnderstudyError, TimeoutError):
    """A command ran past its deadline where a timeout is fatal (setup commands, for instance)."""


class ImageNotFoundError(UnderstudyError, LookupError):
    """An image named by a spec or option is not present on the engine."""


class ImageBuildError(UnderstudyError, RuntimeError):
    """Building the base image failed."""


class EnvBuildError(UnderstudyError, RuntimeError):
    """Turning an EnvSpec into an image failed (repository, commit, patch or setup command)."""


class CandidateError(UnderstudyError, RuntimeError):
    """The candidate model's endpoint failed for good (after its retries)."""


class ToolCallError(UnderstudyError):
    """A tool call that failed in a way the model is told about, as a tool result.

    The subclasses are the closed set of tool errors; the router turns each into an error tool
    message with ``str(error)`` as its content, so the model sees what a real harness would say.
    """


class InvalidToolArgumentsError(ToolCallError, ValueError):
    """The arguments do not match the tool's schema (or are not JSON at all)."""


class UnknownToolError(ToolCallError, LookupError):
    """The model called a tool that was not offered."""


class ToolTimeoutError(ToolCallError, TimeoutError):
    """The tool ran past its time limit."""


class ToolFileNotFoundError(ToolCallError, FileNotFoundError):
    """A file tool was pointed at a path that does not exist."""


class EditorError(ToolCallError, ValueError):
    """An edit could not be made: no match, several matches, a bad line number."""


class ToolUnavailableError(ToolCallError, RuntimeError):
    """No policy in the tool's chain could serve the call (no recording, no live tool)."""


class SimulatorError(UnderstudyError, RuntimeError):
    """A tool simulator failed to answer a call (its endpoint, its reply); the router notes the
    reason and passes to the next step of the call's chain."""


class LogFormatError(UnderstudyError, ValueError):
    """A log file cannot be imported: unknown or wrong format, truncated, garbled.

    The message names the file, and the line (or the entry) and field where it went wrong.
    """


class NotALogError(LogFormatError):
    """A file that is no log of a format understudy knows: empty, binary, or recognized by no
    importer. Named explicitly it is an error like any other; met in a directory walk it is
    passed over when its name is no log's (a README, a config, an agent's text log) or it is
    JSON that parses whole (an agent's ``preds.json``)."""


class JudgeError(UnderstudyError, RuntimeError):
    """A judge could not produce a verdict (after its retries)."""
