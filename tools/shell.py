"""The canonical ``shell`` tool: one bash command in the sandbox.

A command that fails or runs past its timeout is a result, not an exception: the content is its
output (stdout and stderr interleaved), capped with a visible marker, and a timed-out command
gets a last line saying it was killed. ``meta`` carries exit_code, duration_s, truncated,
output_bytes, timed_out, cwd (where the command ended, for a persistent shell) and, after a
timeout, timeout_s.

With ``persistent`` the call continues the sandbox's *persistent shell*, as the shells of
SWE-agent, OpenHands and Claude Code did: the working directory and exported variables left by
the previous persistent call are restored first, and saved again when the command exits (an
EXIT trap prints them after a marker; the tool takes them off the output). The state lives in
the sandbox, in :data:`STATE_PATH` (read and written through ``read_file``/``write_file``, so it
works the same on every backend and survives snapshots). It is an emulation: unexported
variables, functions, aliases and background jobs do not carry over, a command killed by its
timeout saves nothing, and the state file shows in ``changed_files()``.
"""

from __future__ import annotations

import shlex
import uuid
from typing import Any, ClassVar

from understudy.protocols import ExecResult, Sandbox
from understudy.tools.base import ToolOutcome
from understudy.tools.common import (
    DEFAULT_OUTPUT_LIMIT,
    IsDirectory,
    cap_output,
    check_output_limit,
    probe_file,
    require_sandbox,
    sandbox_path,
    validate_arguments,
)

TIMEOUT_NOTE = "[understudy: the command was killed after {timeout:g} s: it ran past its timeout]"
"""Last line of the content of a timed-out command."""
STATE_PATH = "/tmp/.understudy-shell-state"
"""Sandbox path of the persistent shell's state: ``export -p`` lines and the working directory."""
_STATE_MARK = "__UNDERSTUDY_STATE_"


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
                "description": "Continue the persistent shell: restore the working directory "
                "and exported variables of the previous persistent call, save them afterwards.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    }

    def __init__(
        self,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        default_timeout_s: float | None = None,
        state_path: str = STATE_PATH,
    ) -> None:
        self.output_limit = check_output_limit(output_limit)
        self.default_timeout_s = default_timeout_s
        """Timeout of calls without one; None leaves it to the sandbox (exec_timeout_s)."""
        self.state_path = state_path
        """Where the persistent shell keeps its state in the sandbox."""

    async def run(self, arguments: dict[str, Any], sandbox: Sandbox | None) -> ToolOutcome:
        """Run the command; its failure or timeout is reported in the outcome, not raised."""
        validate_arguments(self.name, self.parameters, arguments)
        box = require_sandbox(self.name, sandbox)
        command: str = arguments["command"]
        workdir: str | None = arguments.get("workdir")
        timeout = arguments.get("timeout", self.default_timeout_s)
        start_dir = sandbox_path(box, workdir or ".")
        persistent = bool(arguments.get("persistent"))
        nonce = uuid.uuid4().hex[:16]
        script = command
        if persistent:
            state = await self._load_state(box)
            script = _persistent_script(command, state, nonce, restore_cwd=workdir is None)
        result = await box.exec(script, timeout=timeout, workdir=workdir)
        output, output_bytes, cwd = result.output, result.output_bytes, None
        if persistent:
            output, trailer_bytes, cwd, new_state = _split_trailer(output, nonce)
            output_bytes -= trailer_bytes
            if new_state is not None:
                await box.write_file(self.state_path, new_state.encode("utf-8"), mode=0o600)
        return self._outcome(result, output, output_bytes, cwd or start_dir, timeout)

    async def _load_state(self, box: Sandbox) -> str:
        """The saved state of the sandbox's persistent shell ("" before the first call)."""
        data = await probe_file(box, self.state_path)
        if data is None or isinstance(data, IsDirectory):
            return ""
        return data.decode("utf-8", errors="replace")

    def _outcome(
        self,
        result: ExecResult,
        output: str,
        output_bytes: int,
        cwd: str,
        timeout: float | None,
    ) -> ToolOutcome:
        content, capped = cap_output(output, self.output_limit)
        meta: dict[str, Any] = {
            "exit_code": result.exit_code,
            "duration_s": round(result.duration_s, 3),
            "truncated": capped or result.truncated,
            "output_bytes": max(output_bytes, 0),
            "timed_out": result.timed_out,
            "cwd": cwd,
        }
        if result.timed_out:
            limit = timeout if timeout is not None else round(result.duration_s)
            separator = "" if not content or content.endswith("\n") else "\n"
            content = f"{content}{separator}{timeout_note(limit)}"
            meta["timeout_s"] = limit
        return ToolOutcome(content=content, is_error=result.timed_out, meta=meta)


def _persistent_script(command: str, state: str, nonce: str, restore_cwd: bool) -> str:
    """``command`` wrapped to restore the persistent shell's state first and report it at exit.

    The EXIT trap also runs when the command calls ``exit``: after a marker line it prints the
    final working directory, then the new state (which :func:`_split_trailer` takes off the
    output again). Readonly variables in a restored state fail quietly.
    """
    lines = [f"{{\n{state}\n}} >/dev/null 2>&1"] if state.strip() else []
    if restore_cwd and state.strip():
        lines.append(
            'if [ -n "${__understudy_cwd:-}" ]; then cd -- "$__understudy_cwd" 2>/dev/null; fi'
        )
    report = (
        f"printf '\\n{_STATE_MARK}{nonce}%s\\n' \"$PWD\"; "
        "export -n PWD OLDPWD SHLVL _ __understudy_cwd 2>/dev/null; "
        "export -p; printf '__understudy_cwd=%q\\n' \"$PWD\""
    )
    lines += [f"trap {shlex.quote(report)} EXIT", command, ""]
    return "\n".join(lines)


def _split_trailer(output: str, nonce: str) -> tuple[str, int, str | None, str | None]:
    """The output without the state trailer, the trailer's size in bytes, the final working
    directory and the new state (None, None when the trailer is missing)."""
    head, sep, trailer = output.rpartition(f"\n{_STATE_MARK}{nonce}")
    if not sep:
        return output, 0, None, None
    cwd, _, state = trailer.partition("\n")
    return head, len((sep + trailer).encode()), cwd, state
