"""The canonical ``shell`` tool: one bash command in the sandbox.

A command that fails or runs past its timeout is a result, not an exception: the content is its
output (stdout and stderr interleaved), capped with a visible marker, and a timed-out command
gets a last line saying it was killed. ``meta`` carries exit_code, duration_s, truncated,
output_bytes, timed_out, cwd (where the command ended, for a persistent shell) and, after a
timeout, timeout_s.

With ``persistent`` the call runs in the sandbox's *persistent shell*, as the shells of
SWE-agent, OpenHands and Claude Code did: the working directory, variables, functions and
activated virtualenvs left by earlier persistent calls carry over. Without it every call starts
fresh in its working directory, as mini-swe-agent's did. The adapters choose, by agent.
"""

from __future__ import annotations

from typing import Any, ClassVar

from understudy.protocols import ExecResult, Sandbox
from understudy.tools.base import ToolOutcome
from understudy.tools.common import (
    DEFAULT_OUTPUT_LIMIT,
    cap_output,
    check_output_limit,
    require_sandbox,
    sandbox_path,
    validate_arguments,
)

TIMEOUT_NOTE = "[understudy: the command was killed after {timeout:g} s: it ran past its timeout]"
"""Last line of the content of a timed-out command."""


def timeout_note(timeout: float) -> str:
    """The line that ends a timed-out command's content."""
    return TIMEOUT_NOTE.format(timeout=timeout)


def strip_timeout_note(content: str) -> str:
    """``content`` without the timeout line (for adapters that word timeouts their own way)."""
    head, sep, tail = content.rpartition("\n[understudy: the command was killed after ")
    return head if sep and tail.endswith("ran past its timeout]") else content


class ShellTool:
    """Runs a command with bash in the sandbox."""

    name: str = "shell"
    read_only: bool = False
    needs_sandbox: bool = True
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash script to run."},
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Seconds before the command's process group is killed.",
            },
            "workdir": {
                "type": "string",
                "description": "Directory to run in (relative paths start at the sandbox's "
                "working directory).",
            },
            "persistent": {
                "type": "boolean",
                "description": "Run in the sandbox's persistent shell, keeping the working "
                "directory, variables and functions of earlier persistent calls.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    }

    def __init__(
        self,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        default_timeout_s: float | None = None,
    ) -> None:
        self.output_limit = check_output_limit(output_limit)
        self.default_timeout_s = default_timeout_s
        """Timeout of calls without one; None leaves it to the sandbox (exec_timeout_s)."""

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Run the command; its failure or timeout is reported in the outcome, not raised."""
        validate_arguments(self.name, self.parameters, arguments)
        box = require_sandbox(self.name, sandbox)
        command: str = arguments["command"]
        workdir: str | None = arguments.get("workdir")
        timeout = arguments.get("timeout", self.default_timeout_s)
        start_dir = sandbox_path(box, workdir or ".")
        persistent = bool(arguments.get("persistent"))
        result = await box.exec(command, timeout=timeout, workdir=workdir, persistent=persistent)
        return self._outcome(result, result.cwd or start_dir, timeout)

    def _outcome(self, result: ExecResult, cwd: str, timeout: float | None) -> ToolOutcome:
        content, capped = cap_output(result.output, self.output_limit)
        meta: dict[str, Any] = {
            "exit_code": result.exit_code,
            "duration_s": round(result.duration_s, 3),
            "truncated": capped or result.truncated,
            "output_bytes": result.output_bytes,
            "timed_out": result.timed_out,
            "cwd": cwd,
        }
        if result.timed_out:
            limit = timeout if timeout is not None else round(result.duration_s)
            separator = "" if not content or content.endswith("\n") else "\n"
            content = f"{content}{separator}{timeout_note(limit)}"
            meta["timeout_s"] = limit
        return ToolOutcome(content=content, is_error=result.timed_out, meta=meta)
