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

A ``probe`` is a script run right after the command, in the same shell, to read state the
command left (SWE-agent's open file, kept in a shell variable): its output goes to
``meta["probe"]``, not to the content, and the call's exit code stays the command's.

With ``terminal`` (``{"columns": C, "rows": R}``) the command's stdin, stdout and stderr are a
pseudo-terminal of that size, as for a harness that drove its bash through one (SWE-agent 1.x,
through SWE-ReX's pexpect): ``ls`` prints columns, Python flushes each line, programs that check
``isatty`` take their terminal branch, and a command that reads its input waits for it (until
its timeout) instead of reading an empty stdin. See :func:`on_terminal`.

Every command passes through :meth:`ShellTool.run`, which first puts the placeholders of
redacted values that stand in shell syntax in quotes (``cat /Users/<USER_1>/x`` runs as
``cat /Users/'<USER_1>'/x``), so that bash does not read them as redirections; see
:func:`~understudy.tools.shell_placeholders.quote_placeholders`.
"""

from __future__ import annotations

import shlex
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
from understudy.tools.shell_placeholders import quote_placeholders

PROBE_MARK = "\x1e[understudy probe]\x1e"
"""Separates the command's output from the probe's (a record separator nothing prints)."""

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
            "probe": {
                "type": "string",
                "description": "A script run after the command in the same shell; its output "
                "is returned in meta['probe'], not in the content.",
            },
            "terminal": {
                "type": "object",
                "properties": {
                    "columns": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "rows": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
                "required": ["columns", "rows"],
                "additionalProperties": False,
                "description": "Run the command on a pseudo-terminal of this size.",
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
        command = quote_placeholders(arguments["command"])
        workdir: str | None = arguments.get("workdir")
        timeout = arguments.get("timeout", self.default_timeout_s)
        start_dir = sandbox_path(box, workdir or ".")
        persistent = bool(arguments.get("persistent"))
        probe: str | None = arguments.get("probe")
        terminal: dict[str, int] | None = arguments.get("terminal")
        if terminal is not None:
            command = on_terminal(command, terminal["columns"], terminal["rows"])
        if probe is not None:
            command = with_probe(command, probe)
        result = await box.exec(command, timeout=timeout, workdir=workdir, persistent=persistent)
        probed = None
        if probe is not None:
            output, probed = split_probe(result.output)
            result = result.model_copy(update={"output": output})
        outcome = self._outcome(result, result.cwd or start_dir, timeout)
        if probed is not None:
            outcome.meta["probe"] = probed
        return outcome

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


def with_probe(command: str, probe: str) -> str:
    """``command``, then ``probe`` after a line with :data:`PROBE_MARK`, exiting as the command
    did. The command ends on a line of its own, so a trailing comment or here-doc stays whole."""
    return (
        f"{command}\n__us_command_status=$?\nprintf '\\n%s' {shlex.quote(PROBE_MARK)}\n"
        f"{probe}\n(exit $__us_command_status)"
    )


def split_probe(output: str) -> tuple[str, str | None]:
    """The command's output and the probe's (None when the probe never ran: a timeout)."""
    head, mark, tail = output.rpartition("\n" + PROBE_MARK)
    return (head, tail) if mark else (output, None)


# A pseudo-terminal for one command, from python3 in the sandbox. The relay makes the terminal
# the controlling terminal of a session of its own (so that the shell, a session leader, does not
# take it as its own when it opens it, and is not hung up when it closes), sets its size, lets
# output bytes through as written (no CR before LF), and writes "<tty path> <token>" to the FIFO
# $1. Then it copies what the terminal prints to its stdout until the line "\x1e<token>\x1e"
# comes through, which the shell writes once the command has ended: everything the command
# printed is then out, before the shell goes on. It ends too, once what is printed is out, when
# the shell that started it is gone (a command that ran ``exit``).
_TERMINAL_RELAY = r"""
import fcntl, os, select, struct, sys, termios
fifo, columns, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
parent = os.getppid()
try:
    os.setsid()
    master, tty = os.openpty()
    fcntl.ioctl(tty, termios.TIOCSCTTY, 0)
    fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    mode = termios.tcgetattr(tty)
    mode[1] &= ~termios.OPOST
    mode[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(tty, termios.TCSANOW, mode)
    token = os.urandom(8).hex()
    said = os.ttyname(tty) + " " + token + "\n"
except OSError:
    said = token = "\n"
with open(fifo, "w") as out:
    out.write(said)
if token == said:
    sys.exit(1)
end = ("\x1e" + token + "\x1e").encode()
pending = b""
def emit(data):
    while data:
        data = data[os.write(1, data):]
while True:
    gone = os.getppid() != parent
    if not select.select([master], [], [], 0 if gone else 0.5)[0]:
        if gone:
            break
        continue
    try:
        data = os.read(master, 65536)
    except OSError:
        break
    pending += data
    at = pending.find(end)
    if at >= 0:
        pending = pending[:at]
        break
    keep = len(pending) - len(end) + 1
    if keep > 0:
        emit(pending[:keep])
        pending = pending[keep:]
emit(pending)
"""


def on_terminal(command: str, columns: int, rows: int) -> str:
    """``command`` run in the calling shell (its directory and variables carry over) with a
    pseudo-terminal of ``columns`` x ``rows`` as stdin, stdout and stderr, exiting as it did.

    Where the sandbox has no python3, the command runs as it would without a terminal. The
    command ends on a line of its own, so a trailing comment or here-doc stays whole.
    """
    relay = shlex.quote(_TERMINAL_RELAY)
    return (
        "__us_tty= __us_tty_end= __us_tty_relay=\n"
        "if command -v python3 >/dev/null 2>&1; then\n"
        '__us_tty_fifo=$(mktemp -u "${TMPDIR:-/tmp}/understudy-tty.XXXXXXXX")\n'
        'mkfifo -m 600 "$__us_tty_fifo" 2>/dev/null\n'
        "{ python3 -c "
        f'{relay} "$__us_tty_fifo" {int(columns)} {int(rows)} </dev/null & }} 2>/dev/null\n'
        "__us_tty_relay=$!\n"
        'read -r -t 10 __us_tty __us_tty_end <>"$__us_tty_fifo" 2>/dev/null\n'
        'rm -f "$__us_tty_fifo"\n'
        "fi\n"
        "{ :\n"
        f"{command}\n"
        '} <"${__us_tty:-/dev/stdin}" >"${__us_tty:-/dev/stdout}" 2>&1\n'
        "__us_tty_status=$?\n"
        'if [ -n "$__us_tty_end" ]; then\n'
        'printf \'\\036%s\\036\' "$__us_tty_end" >"$__us_tty"\n'
        'wait "$__us_tty_relay" 2>/dev/null\n'
        'elif [ -n "${__us_tty_relay:-}" ]; then kill "$__us_tty_relay" 2>/dev/null\n'
        "fi\n"
        "unset __us_tty __us_tty_end __us_tty_fifo __us_tty_relay\n"
        "(exit $__us_tty_status)"
    )
