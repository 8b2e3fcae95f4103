"""A long-lived bash in the sandbox, driven over its stdin and stdout: fast, and stateful on demand.

Starting a process per command costs a round trip through the engine (tens of milliseconds);
writing a command to a shell that is already running costs well under one. A
:class:`ShellSession` keeps one ``bash -i`` per sandbox and mode:

- **stateful**: commands are evaluated in the shell itself, so the working directory, variables,
  functions, aliases and activated virtualenvs carry over from one command to the next, as in
  the shells of SWE-agent, OpenHands and Claude Code;
- **fresh**: each command runs in a subshell of a shell that never runs anything itself, so
  every command starts from the same state, as mini-swe-agent's did.

Protocol. Each command is sent as one line naming a random nonce and the byte length of the
command, the command's bytes, and a line that evaluates it with stdin from ``/dev/null`` and
stderr joined to stdout, then prints a sentinel line: ``\\n<nonce> <exit status> <cwd>\\n``.
Everything before the sentinel is the command's output. The shell's own stderr goes nowhere
and its protocol output goes to a descriptor of its own, so a command that redirects stdout for
good does not break the protocol.

Timeouts. The shell is interactive, so on SIGINT it abandons the command line it is running
and waits for the next one, as a terminal's Ctrl-C does, keeping its state. On timeout the
session sends SIGINT to the shell's process group (a fresh command's job is killed instead),
then has the transport kill every process the command started, wherever it went (see
:mod:`~understudy.sandbox.strays`: before each command the shell writes its marks), and pings;
if the shell does not answer, it is killed, and the next command starts a new shell (recovery).
Background jobs that earlier commands started stay, as they would in a terminal.

Recovery. After each stateful command the shell writes its state (exported variables, aliases,
functions, working directory) to a checkpoint file; a new shell sources the checkpoint, or, in a
sandbox started from a snapshot, the copy of it that the snapshot carries
(:data:`PERSISTED_STATE`). A shell that dies (a command ran ``exit``, or it was killed) thus
comes back with the state it had before that command.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import time
import uuid
from collections.abc import Mapping
from typing import Protocol

from understudy.errors import SandboxError, ShellUnavailableError
from understudy.logging import get_logger
from understudy.protocols import ExecResult
from understudy.sandbox.output import TIMEOUT_EXIT_CODE, OutputCollector
from understudy.sandbox.strays import MARK_BASH

log = get_logger("sandbox.shell")

PERSISTED_STATE = "/var/lib/understudy/shell-state"
"""Where a snapshot carries the stateful shell's checkpoint (sourced by a shell that has none)."""
INTERRUPT_GRACE_S = 1.0
"""How long each step of stopping a timed-out command waits for the shell to answer."""
START_TIMEOUT_S = 30.0
CHECKPOINT_NAME = "understudy-shell.state"
"""File name of the stateful shell's checkpoint in the session's state directory."""
SHELL_ARGV = ["/bin/sh", "-c", "exec bash --norc --noprofile -i", "understudy-shell"]
"""Starts the shell; exits 127 at once where the image has no bash."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Scripts run beside the shell, with shell builtins only up to the kill itself (a command that
# used up the pids limit leaves no pid to fork with); "kill -N -PGID" is the spelling that dash,
# bash and busybox all accept. $1 is a pid or a pid file.
_SIGNAL_GROUP = 'kill -"$1" "-$2"'
_KILL_JOB = 'read -r pgid < "$1" && kill -9 "-$pgid"'
# The protocol's side of the shell. fd 57 is the protocol output (a copy of stdout made before
# any command runs); fd 2 of the shell itself goes nowhere, so prompts, job notices and "no job
# control in this shell" never reach the output. $1 of __us_begin is the nonce, $2 the length of
# the command in bytes (LC_ALL=C makes read -N count bytes).
_BOOTSTRAP = r"""
exec 2>/dev/null 57>&1
set +H +o history
unset PROMPT_COMMAND MAILCHECK HISTFILE
PS1= PS2= PS4=
__us_checkpoint={checkpoint}
__us_marks={marks}
__us_stateful={stateful}
if [ "$__us_stateful" = 0 ]; then set -m; fi
exit() {{ builtin exit "$@" 2>/dev/null; }}  # an interactive bash would print "exit" first
__us_begin() {{ IFS= LC_ALL=C read -r -N "$2" __us_cmd; }}
__us_save() {{
  {{ export -p; alias -p; declare -f; printf 'cd -- %q\n' "$PWD"; }} >"$__us_checkpoint" 2>/dev/null
}}
__us_end() {{
  local __us_status=$2
  if [ "$__us_stateful" = 1 ]; then __us_save; fi
  printf '\n%s %d %s\n' "$1" "$__us_status" "$PWD" >&57
}}
if [ "$__us_stateful" = 1 ]; then
  if [ -r "$__us_checkpoint" ]; then . "$__us_checkpoint"
  elif [ -r {persisted} ]; then . {persisted}
  fi >/dev/null 2>&1
fi
{mark_function}
__us_mark "$__us_marks"
printf '\n%s %d %s\n' {nonce} $$ "$PWD" >&57
"""


class ShellTransport(Protocol):
    """How a session reaches its shell process: a stdin to write, a stdout to read, signals."""

    async def open(self) -> None:
        """Start the shell process (``SHELL_ARGV``) with stdin and stdout attached."""
        ...

    async def send(self, data: bytes) -> None:
        """Write to the shell's stdin."""
        ...

    async def receive(self) -> bytes:
        """The next bytes of the shell's stdout; b"" once it is closed."""
        ...

    async def side(self, script: str, *args: str) -> None:
        """Run ``/bin/sh -c script sh args...`` beside the shell, in the same sandbox (to signal
        it); waits for it to end, ignores its result."""
        ...

    async def stop_strays(self, marks: str, shell_pid: int) -> None:
        """Kill every process that the command whose marks are in the file ``marks`` started,
        other than the shell ``shell_pid`` (see :mod:`~understudy.sandbox.strays`)."""
        ...

    async def exit_status(self) -> int | None:
        """The shell process's exit status, once it has ended (None if unknown)."""
        ...

    async def close(self) -> None:
        """Stop the shell process and release the stream. Safe to call more than once."""
        ...


class _Waiter:
    """Looks for one sentinel in the output stream; what comes before it goes to a collector."""

    def __init__(self, nonce: str, collector: OutputCollector | None) -> None:
        self.marker = f"\n{nonce} ".encode()
        self.collector = collector
        self.pending = bytearray()
        self.found: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    def feed(self, data: bytes) -> None:
        """Take output; resolve ``found`` with (status, cwd) once the sentinel line is in."""
        self.pending += data
        at = self.pending.find(self.marker)
        if at < 0:
            # Keep what could be the start of a marker split across chunks.
            keep = len(self.marker) - 1
            self._emit(self.pending[: max(0, len(self.pending) - keep)])
            del self.pending[: max(0, len(self.pending) - keep)]
            return
        end = self.pending.find(b"\n", at + len(self.marker))
        if end < 0:
            self._emit(self.pending[:at])
            del self.pending[:at]
            return
        self._emit(self.pending[:at])
        status, _, cwd = bytes(self.pending[at + len(self.marker) : end]).partition(b" ")
        if not self.found.done():
            self.found.set_result((int(status or b"0"), cwd.decode("utf-8", errors="replace")))
        self.pending.clear()

    def stop_collecting(self) -> None:
        """Keep what has arrived (also a tail held back as a possible marker start), drop
        what comes later."""
        self._emit(self.pending)
        self.pending.clear()
        self.collector = None

    def _emit(self, data: bytes | bytearray) -> None:
        if data and self.collector is not None:
            self.collector.add(bytes(data))


class ShellSession:
    """One persistent bash in a sandbox. Commands run one at a time (callers queue)."""

    def __init__(
        self,
        transport: ShellTransport,
        *,
        stateful: bool,
        state_dir: str,
        output_limit: int,
    ) -> None:
        self._transport = transport
        self.stateful = stateful
        self._checkpoint = f"{state_dir}/{CHECKPOINT_NAME}"
        mode = "stateful" if stateful else "fresh"
        self._marks = f"{state_dir}/understudy-shell-{mode}.pid"
        """Where the shell writes its marks before each command (strays.MARKS_SUFFIX)."""
        self._job_file = f"{state_dir}/understudy-shell-job.pgid"
        self._output_limit = output_limit
        self._lock = asyncio.Lock()
        self._pid: int | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiter: _Waiter | None = None
        self._ended: asyncio.Future[None] | None = None
        """Done when the shell's output stream ends (made when the shell starts): waited on
        beside each command's sentinel without a task of its own."""

    @property
    def busy(self) -> bool:
        """A command is running (or queued)."""
        return self._lock.locked()

    @property
    def alive(self) -> bool:
        """The shell is running and answering."""
        return self._pid is not None and self._ended is not None and not self._ended.done()

    async def run(
        self,
        cmd: str,
        timeout: float,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        """Run ``cmd``; a timeout or a dead shell is a result, engine failures raise."""
        async with self._lock:
            if not self.alive:
                await self._start()
            return await self._run_locked(cmd, timeout, workdir, env)

    async def close(self) -> None:
        """Stop the shell. Safe to call more than once."""
        self._pid = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        await self._transport.close()

    # -- starting -----------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._reader is not None:  # a shell that died: release what is left of it
            await self.close()
        self._ended = asyncio.get_running_loop().create_future()
        await self._transport.open()
        self._reader = asyncio.create_task(self._read_forever())
        nonce = uuid.uuid4().hex
        waiter = self._expect(nonce, collector=None)
        bootstrap = _BOOTSTRAP.format(
            checkpoint=shlex.quote(self._checkpoint),
            marks=shlex.quote(self._marks),
            mark_function=MARK_BASH,
            stateful=int(self.stateful),
            persisted=shlex.quote(PERSISTED_STATE),
            nonce=nonce,
        )
        await self._transport.send(bootstrap.encode())
        try:
            # The start sentinel carries the shell's pid where commands carry their status.
            self._pid, _ = await self._until(waiter, START_TIMEOUT_S)
        except (TimeoutError, EOFError) as exc:
            await self.close()
            raise ShellUnavailableError("the sandbox cannot start a bash shell") from exc
        log.debug("shell started", pid=self._pid, stateful=self.stateful)

    # -- running ------------------------------------------------------------------------------

    async def _run_locked(
        self, cmd: str, timeout: float, workdir: str | None, env: Mapping[str, str] | None
    ) -> ExecResult:
        started = time.monotonic()
        nonce = uuid.uuid4().hex
        payload = cmd.encode("utf-8", errors="surrogateescape")
        collector = OutputCollector(self._output_limit)
        waiter = self._expect(nonce, collector)
        line = self._command_line(nonce, workdir, env)
        await self._transport.send(
            f"__us_begin {nonce} {len(payload)}\n".encode() + payload + line.encode()
        )
        timed_out = False
        try:
            status, cwd = await self._until(waiter, timeout)
        except TimeoutError:
            timed_out = True
            status, cwd = TIMEOUT_EXIT_CODE, ""
            waiter.stop_collecting()  # what it prints while being stopped is dropped
            await self._interrupt(waiter)
        except EOFError:
            waiter.stop_collecting()
            status, cwd = await self._died(), ""
        except asyncio.CancelledError:
            waiter.stop_collecting()
            await asyncio.shield(self._interrupt(waiter))
            raise
        return collector.result(
            status, started, timed_out=timed_out, cwd=(cwd or None) if self.stateful else None
        )

    def _command_line(self, nonce: str, workdir: str | None, env: Mapping[str, str] | None) -> str:
        """The line that evaluates the command just read, then reports its status.

        Stateful: evaluated in the shell itself. Fresh: a new ``bash -c`` (``sh -c`` once bash
        is gone), started as a job of its own so that a timeout can kill its process group and
        everything in it while the shell carries on; its pgid goes to the job file first.
        """
        steps: list[str] = []
        if workdir is not None:
            shown = shlex.quote(f"cd: {workdir}: No such file or directory")
            failed = "(exit 126)" if self.stateful else "exit 126"
            steps.append(f"{{ cd -- {shlex.quote(workdir)} || {{ echo {shown}; {failed}; }}; }}")
        for name, value in (env or {}).items():
            if not _ENV_NAME.fullmatch(name):
                raise SandboxError(f"invalid environment variable name: {name!r}")
            steps.append(f"export {name}={shlex.quote(value)}")
        if self.stateful:
            steps.append('eval "$__us_cmd"')
            body = " && ".join(steps)
            return (
                f'\n__us_mark "$__us_marks"; {{ {body}; }} </dev/null >&57 2>&1; '
                f"__us_end {nonce} $?\n"
            )
        steps.append(
            'hash -r; if command -v bash >/dev/null; then exec bash -c "$__us_cmd"; '
            'else exec sh -c "$__us_cmd"; fi'
        )
        body = " && ".join(steps)
        job_file = shlex.quote(self._job_file)
        return (
            f'\n__us_mark "$__us_marks"; ( {body} ) </dev/null >&57 2>&1 & '
            f"printf '%s\\n' $! >{job_file}; "
            f"wait $!; __us_end {nonce} $?\n"
        )

    def _expect(self, nonce: str, collector: OutputCollector | None) -> _Waiter:
        self._waiter = _Waiter(nonce, collector)
        return self._waiter

    async def _until(self, waiter: _Waiter, timeout: float) -> tuple[int, str]:
        """Wait for ``waiter``'s sentinel: TimeoutError after ``timeout``, EOFError if the shell
        ended first."""
        assert self._ended is not None, "a command waits only on a started shell"
        done, _ = await asyncio.wait(
            (waiter.found, self._ended), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter.found in done:
            return waiter.found.result()
        if self._ended in done:
            raise EOFError("the shell ended")
        raise TimeoutError

    async def _interrupt(self, waiter: _Waiter) -> None:
        """Stop what the shell is running and all it started; keep the shell if it answers,
        else kill it.

        A fresh command is a job of its own: killing its process group ends it, and the shell
        reports it. A stateful command runs in the shell: SIGINT to the shell's group abandons
        it (see the module docstring). Then whatever the command started and is still there,
        in the group or out of it, is killed, which also ends what ignored SIGINT.
        """
        assert self._pid is not None
        pid = self._pid
        if self.stateful:
            await self._transport.side(_SIGNAL_GROUP, "2", str(pid))
        else:
            await self._transport.side(_KILL_JOB, self._job_file)
        await self._transport.stop_strays(self._marks, pid)
        if await (self._ping() if self.stateful else self._answers(waiter)):
            return
        log.info("the shell did not answer after an interrupt; killing it", pid=pid)
        await self._transport.side(_SIGNAL_GROUP, "9", str(pid))
        if self._ended is not None:
            await asyncio.wait([self._ended], timeout=INTERRUPT_GRACE_S)
        await self.close()
        # What the shell was starting as it died.
        await self._transport.stop_strays(self._marks, pid)

    async def _answers(self, waiter: _Waiter) -> bool:
        """Whether ``waiter``'s sentinel comes within the grace period."""
        try:
            await self._until(waiter, INTERRUPT_GRACE_S)
        except (TimeoutError, EOFError):
            return False
        return True

    async def _ping(self) -> bool:
        """Whether the shell answers a no-op within the grace period."""
        nonce = uuid.uuid4().hex
        waiter = self._expect(nonce, collector=None)
        await self._transport.send(f"\n__us_end {nonce} 0\n".encode())
        return await self._answers(waiter)

    async def _died(self) -> int:
        """The exit status of a shell that ended under a command (``exit 3`` -> 3)."""
        try:
            status = await self._transport.exit_status()
        finally:
            await self.close()
        log.info("shell ended under a command", status=status, stateful=self.stateful)
        if status is None:
            raise SandboxError("the sandbox's shell ended and its exit status is unknown")
        return status

    # -- the output stream --------------------------------------------------------------------

    async def _read_forever(self) -> None:
        try:
            while data := await self._transport.receive():
                self._dispatch(data)
        finally:
            if self._ended is not None and not self._ended.done():
                self._ended.set_result(None)

    def _dispatch(self, data: bytes) -> None:
        """Output goes to the command waiting for it; output between commands (from a
        background job, or a command stopped by a timeout) is dropped."""
        waiter = self._waiter
        if waiter is not None and not waiter.found.done():
            waiter.feed(data)
