"""The ``understudy reproduce`` prompt: look at a trajectory, step it, shell in, branch, judge.

:func:`run_prompt` reads commands (``help`` lists them) until ``quit`` or end of input. Lines are
read by :func:`input` in a thread, so that the event loop keeps serving the sandbox meanwhile,
with GNU readline's editing and history when it is there. Ctrl-C stops the running command, or
drops the line being typed; it never ends the program. A command that fails with an
:class:`~understudy.errors.UnderstudyError` prints ``error: ...`` and the prompt goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from understudy.cli_common import console, counts
from understudy.cli_reproduce import (
    BranchRequest,
    branch_run,
    judge_branch,
    print_stepped,
    report_state,
)
from understudy.errors import ConfigError, UnderstudyError
from understudy.replay.reproduce.workbench import Reproduction
from understudy.replay.runner import RunSettings
from understudy.reproduce_views import (
    original_edits,
    print_diff,
    print_exec,
    print_help,
    print_list,
    print_message,
)

try:
    import readline
except ImportError:  # pragma: no cover - no GNU readline (Windows)
    readline = None  # type: ignore[assignment]

HISTORY_FILE = Path("~/.understudy_reproduce_history")
HISTORY_LENGTH = 1000
END_OF_TEXT = "."
"""The line that ends the text of ``edit-result N``."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises every bad command line (``exit_on_error=False`` still exits on
    some, e.g. a missing required option) rather than exiting."""

    def error(self, message: str) -> NoReturn:
        raise argparse.ArgumentError(None, message)


def _branch_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="branch", add_help=False, exit_on_error=False)
    parser.add_argument("--model")
    parser.add_argument("--base-url")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY")
    parser.add_argument("--tools")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path, required=True)
    return parser


class LineReader:
    """``input()`` in a thread, with readline's history; a Ctrl-C while it waits drops the line
    being typed.

    The thread cannot be stopped inside readline, so the dropped line is read to its end (the
    person presses Enter) and then thrown away.
    """

    def __init__(self) -> None:
        self.waiting = False
        self._dropped = False
        if readline is not None:
            readline.set_auto_history(False)  # only command lines, not answers or texts
            readline.set_history_length(HISTORY_LENGTH)
            with contextlib.suppress(OSError):
                readline.read_history_file(HISTORY_FILE.expanduser())

    def remember(self, line: str) -> None:
        if readline is not None:
            readline.add_history(line)

    def save(self) -> None:
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(HISTORY_FILE.expanduser())

    def drop(self) -> None:
        self._dropped = True
        sys.stdout.write("^C (line dropped: press Enter)\n")
        sys.stdout.flush()

    async def read(self, prompt: str) -> str | None:
        """The next line (EOFError at end of input), or None when it was dropped."""
        self.waiting = True
        try:
            line = await asyncio.to_thread(input, prompt)
        finally:
            self.waiting = False
        if self._dropped:
            self._dropped = False
            return None
        return line


@dataclass(frozen=True)
class Command:
    run: Callable[[Prompt, str], Awaitable[None]]
    usage: str
    summary: str


class Prompt:
    """One prompt session over one reproduction."""

    def __init__(self, repro: Reproduction, settings: RunSettings, parent: dict[str, Any]):
        self.repro = repro
        self.settings = settings
        self.parent = parent
        self.reader = LineReader()
        self.last_branch: Path | None = None
        self.done = False
        self.foreground = False
        """A program (the shell) has the terminal: Ctrl-C is its own."""
        self._running: asyncio.Future[None] | None = None

    @property
    def prompt(self) -> str:
        return f"understudy[{self.repro.trajectory.label}@{self.repro.step}]> "

    def interrupt(self) -> None:
        """Ctrl-C: stop the running command, or drop the line being typed."""
        if self.foreground:
            return
        if self.reader.waiting:  # at the prompt, or a command asking (its thread reads on)
            self.reader.drop()
        elif self._running is not None and not self._running.done():
            self._running.cancel()

    async def loop(self) -> None:
        while not self.done:
            try:
                line = await self.reader.read(self.prompt)
            except EOFError:
                console().print()
                return
            if line is not None and line.strip():
                self.reader.remember(line)
                await self.run_line(line.strip())

    async def run_line(self, line: str) -> None:
        name, _, args = line.partition(" ")
        command = COMMANDS.get(name)
        if command is None:
            console().print(f"error: unknown command {name!r} (type help)", markup=False)
            return
        self._running = asyncio.ensure_future(command.run(self, args.strip()))
        try:
            await self._running
        except UnderstudyError as error:
            console().print(f"error: {error}", markup=False)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            console().print("interrupted")
        finally:
            self._running = None

    async def read_text(self) -> str:
        """Lines up to one holding only ``.``, joined (end of input ends them too)."""
        lines: list[str] = []
        while True:
            try:
                line = await self.reader.read("")
            except EOFError:
                break
            if line is None:
                raise ConfigError("interrupted: nothing changed")
            if line == END_OF_TEXT:
                break
            lines.append(line)
        return "\n".join(lines)

    async def goto(self, step: int) -> None:
        print_stepped(await self.repro.goto(step))
        report_state(self.repro)


def _index(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{what}: expected a number, got {text!r}") from None


def _message_index(prompt: Prompt, text: str) -> int:
    index = _index(text, "message")
    if not 0 <= index < len(prompt.repro.messages):
        raise ConfigError(f"no message {index} (the trajectory has {len(prompt.repro.messages)})")
    return index


async def cmd_list(prompt: Prompt, args: str) -> None:
    print_list(prompt.repro.trajectory, prompt.repro.step)


async def cmd_show(prompt: Prompt, args: str) -> None:
    print_message(prompt.repro.trajectory, _message_index(prompt, args))


def next_step(repro: Reproduction) -> int:
    """After the next tool result from the current step on (else one message on)."""
    messages = repro.messages
    if repro.step >= len(messages):
        raise ConfigError("already at the end of the trajectory")
    results = (i for i in range(repro.step, len(messages)) if messages[i].role == "tool")
    return next(results, repro.step) + 1


async def cmd_step(prompt: Prompt, args: str) -> None:
    await prompt.goto(next_step(prompt.repro))


async def cmd_goto(prompt: Prompt, args: str) -> None:
    await prompt.goto(_index(args, "goto"))


async def cmd_shell(prompt: Prompt, args: str) -> None:
    argv = prompt.repro.shell_command()
    if argv is None:
        console().print("this sandbox backend has no interactive shell (use exec CMD)")
        return
    prompt.foreground = True
    try:
        await asyncio.to_thread(subprocess.run, argv, check=False)
    finally:
        prompt.foreground = False
    try:
        answer = await prompt.reader.read("keep what you did in the shell? [y/N] ")
    except EOFError:
        answer = None
    if (answer or "").strip().lower() not in ("y", "yes"):
        await prompt.repro.discard()
        console().print(f"discarded: the sandbox is back at step {prompt.repro.step}")


async def cmd_exec(prompt: Prompt, args: str) -> None:
    if not args:
        raise ConfigError("exec: give a command")
    print_exec(await prompt.repro.exec(args))


async def cmd_diff(prompt: Prompt, args: str) -> None:
    repro = prompt.repro
    changed = await repro.changed_files()
    status = await repro.exec("git rev-parse --git-dir >/dev/null 2>&1 && git status --short")
    git_status = status.output if status.exit_code == 0 else None
    edits = original_edits(repro.trajectory, repro.step)
    print_diff(changed, git_status, edits, repro.trajectory.session.env.workdir)


async def cmd_edit_result(prompt: Prompt, args: str) -> None:
    number, _, text = args.partition(" ")
    index = _message_index(prompt, number)
    if not text:
        console().print(f"new content of message {index}; end with a line holding only '.'")
        text = await prompt.read_text()
    prompt.repro.edit_result(index, text)
    console().print(f"message {index} edited ({len(text)} characters); branch to use it")


async def cmd_branch(prompt: Prompt, args: str) -> None:
    try:
        options = _branch_parser().parse_args(shlex.split(args))
    except (argparse.ArgumentError, ValueError) as error:  # ValueError: shlex's quotes
        raise ConfigError(f"branch: {error}") from None
    request = BranchRequest(**vars(options))  # the options are named as its fields
    summary = await branch_run(prompt.repro, request, prompt.settings, prompt.parent)
    prompt.last_branch = request.output
    status = summary.get("status")
    shown = counts(status) if isinstance(status, dict) else str(status)
    console().print(f"branch written to {request.output}: {shown}", markup=False)


async def cmd_judge(prompt: Prompt, args: str) -> None:
    output = Path(args) if args else prompt.last_branch
    if output is None:
        raise ConfigError("judge: no branch yet (give a DIR)")
    console().print(await judge_branch(output))


async def cmd_help(prompt: Prompt, args: str) -> None:
    if args and args not in COMMANDS:
        raise ConfigError(f"help: no command {args!r}")
    chosen = [COMMANDS[args]] if args else list(dict.fromkeys(COMMANDS.values()))
    print_help([(command.usage, command.summary) for command in chosen])


async def cmd_quit(prompt: Prompt, args: str) -> None:
    prompt.done = True


_QUIT = Command(cmd_quit, "quit | exit", "leave (the sandbox is removed); Ctrl-D too")
COMMANDS: dict[str, Command] = {
    "list": Command(cmd_list, "list", "the trajectory, one line a message (cut, step, flags)"),
    "show": Command(cmd_show, "show N", "message N in full, with its flags"),
    "step": Command(cmd_step, "step", "run the calls up to after the next tool result"),
    "goto": Command(cmd_goto, "goto N", "stand at step N (forward: stepped; back: rebuilt)"),
    "shell": Command(cmd_shell, "shell", "an interactive shell in the sandbox"),
    "exec": Command(cmd_exec, "exec CMD", "run CMD in the sandbox; its output and exit code"),
    "diff": Command(cmd_diff, "diff", "files changed here, vs those the session went on to edit"),
    "edit-result": Command(
        cmd_edit_result,
        "edit-result N [TEXT]",
        "replace tool result N before branching (TEXT, or lines up to '.')",
    ),
    "branch": Command(
        cmd_branch,
        "branch [--model M] [--base-url U] [--api-key-env V] [--tools T] [--samples N] -o DIR",
        "continue from this step as a new run (no --model: the recorded turns)",
    ),
    "judge": Command(cmd_judge, "judge [DIR]", "the rule judges over a branch (default: last)"),
    "help": Command(cmd_help, "help [CMD]", "the commands, or one command's usage"),
    "quit": _QUIT,
    "exit": _QUIT,
}


async def run_prompt(repro: Reproduction, settings: RunSettings, parent: dict[str, Any]) -> int:
    """The prompt over ``repro`` until ``quit`` or end of input; the exit code."""
    prompt = Prompt(repro, settings, parent)
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)
    loop.add_signal_handler(signal.SIGINT, prompt.interrupt)
    console(stderr=True).print("type help for the commands, quit to leave")
    try:
        await prompt.loop()
    finally:
        prompt.reader.save()
        loop.remove_signal_handler(signal.SIGINT)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return 0
