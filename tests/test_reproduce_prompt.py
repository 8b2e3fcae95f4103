"""The ``understudy reproduce`` prompt, driven for real in a pseudo-terminal.

A demo run (scripted model, judged) is the target: its flagged rollout that edits a file is
reproduced, stepped to after the edit, shelled into (and the shell's work discarded), branched
with its own turns played back and judged; then the prompt is left and no container of the
reproduction may remain.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from understudy.sandbox import labels
from understudy.sandbox.engine import docker_client
from understudy.testing import ScriptedServer
from understudy.testing.policies import finish_policy

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
PROMPT = re.compile(r"understudy\[[^\]]+@\d+\]> ")
TIMEOUT_S = 60.0


class Terminal:
    """A child process on a pseudo-terminal, with an expect helper."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.buffer = ""
        self.transcript = ""
        self.exit_code: int | None = None

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def line(self, text: str) -> None:
        self.send(text + "\r")

    def expect(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT_S) -> str:
        """The output up to and including ``pattern`` (consumed); fails after ``timeout``."""
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.buffer)
            if found:
                seen, self.buffer = self.buffer[: found.end()], self.buffer[found.end() :]
                return seen
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(
                    f"{regex.pattern!r} not seen; output so far:\n{self.transcript[-3000:]}"
                )

    def command(self, line: str, timeout: float = TIMEOUT_S) -> str:
        """Type ``line`` at the prompt; what it printed up to the next prompt."""
        self.line(line)
        return self.expect(PROMPT, timeout)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536).decode(errors="replace")
        except OSError:  # EIO: the child is gone
            return False
        text = ANSI.sub("", data)
        self.buffer += text
        self.transcript += text
        return bool(data)

    def wait(self, timeout: float = TIMEOUT_S) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.2)  # drain, so that the child never blocks on a full terminal
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_code = os.waitstatus_to_exitcode(status)
                return self.exit_code
        raise AssertionError(f"the prompt did not exit; output:\n{self.transcript[-3000:]}")

    def close(self) -> None:
        if self.exit_code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        os.close(self.fd)


@dataclass
class Target:
    """A flagged rollout of the demo run with a file edit in it."""

    number: int
    """Its number as ``--flagged`` counts."""
    cut: int
    edit_step: int
    """The step right after the edit's result."""
    path: str
    new_text: str
    categories: set[str]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def flagged_edit_target(run_dir: Path) -> Target:
    flags: dict[str, set[str]] = {}
    for judgment in read_jsonl(run_dir / "judgments.jsonl"):
        if judgment["flagged"]:
            flags.setdefault(judgment["target_id"], set()).add(judgment["category"])
    flagged = [r for r in read_jsonl(run_dir / "rollouts.jsonl") if r["id"] in flags]
    for number, rollout in enumerate(flagged, start=1):
        for offset, message in enumerate(rollout["messages"]):
            for call in message["tool_calls"]:
                arguments = call["arguments"]
                if arguments.get("command") == "str_replace":
                    # The call at cut+offset, its result next: the edit is done two on.
                    step = rollout["cut"] + offset + 2
                    return Target(
                        number,
                        rollout["cut"],
                        step,
                        arguments["path"],
                        arguments["new_str"],
                        flags[rollout["id"]],
                    )
    raise AssertionError("the demo run has no flagged rollout that edits a file")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, session_run_id: str) -> Path:
    run_dir = tmp_path_factory.mktemp("reproduce") / "demo"
    demo = ["demo", "-o", str(run_dir), "--run-id", f"{session_run_id}-demo"]
    subprocess.run(
        [sys.executable, "-m", "understudy", *demo],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return run_dir


def owned_containers(pid: int) -> list[Any]:
    """The reproduction's containers: started by ``pid``, under a ``reproduce-`` run id."""
    owner = f"{socket.gethostname()}:{pid}:"
    containers = docker_client().containers.list(
        all=True, filters={"label": f"{labels.MANAGED}=1"}, ignore_removed=True
    )
    return [
        c
        for c in containers
        if (c.labels or {}).get(labels.OWNER, "").startswith(owner)
        and (c.labels or {}).get(labels.RUN_ID, "").startswith("reproduce-")
    ]


def with_run_ids(run_ids: set[str]) -> list[Any]:
    containers = docker_client().containers.list(
        all=True, filters={"label": f"{labels.MANAGED}=1"}, ignore_removed=True
    )
    return [c for c in containers if (c.labels or {}).get(labels.RUN_ID) in run_ids]


def remove_leftovers(run_ids: set[str]) -> None:
    """Containers, then images (newest first), that the reproduction and its branch made."""
    client = docker_client()
    for container in with_run_ids(run_ids):
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True, v=True)
    images = client.api.images(filters={"label": labels.MANAGED})
    ours = [i for i in images if (i.get("Labels") or {}).get(labels.RUN_ID) in run_ids]
    for image in sorted(ours, key=lambda image: image.get("Created", 0), reverse=True):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(str(image["Id"]), force=True)


def child_env(home: Path) -> dict[str, str]:
    # TERM=dumb and NO_COLOR keep the output plain; HOME keeps the history file in the test.
    return {**os.environ, "TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "200", "HOME": str(home)}


@pytest.mark.docker
@pytest.mark.slow
def test_the_prompt_steps_shells_branches_and_judges(
    demo_run: Path, base_image: str, tmp_path: Path
) -> None:
    target = flagged_edit_target(demo_run)
    branch_dir = tmp_path / "b1"
    argv = [sys.executable, "-m", "understudy", "reproduce", str(demo_run)]
    argv += ["--flagged", str(target.number), "--step", str(target.cut)]
    term = Terminal(argv, child_env(tmp_path), tmp_path)
    run_ids: set[str] = set()
    try:
        term.expect(PROMPT, timeout=120)
        run_ids = {c.labels[labels.RUN_ID] for c in owned_containers(term.pid)}
        assert run_ids, "the reproduction's sandbox was not found"

        listing = term.command("list")
        assert f"cut {target.cut}: the candidate takes over" in listing
        assert f"step {target.cut}: the sandbox is here" in listing
        assert any(f"⚑ {category}" in listing for category in target.categories), listing

        stepped = term.command(f"goto {target.edit_step}")
        assert f"@{target.edit_step - 1} " in stepped
        assert f"at step {target.edit_step} of" in stepped
        assert target.new_text in term.command(f"exec cat {target.path}")

        # The shell: look, leave a file behind, then discard what was done.
        term.line("shell")
        term.line(f"cat {target.path}; echo READY-$((40+2))")
        assert target.new_text in term.expect("READY-42")
        term.line("echo hello > /tmp/x; exit")
        term.expect("keep what you did in the shell? [y/N]")
        assert "discarded" in term.command("n")
        assert re.search(r"exit code [1-9]", term.command("exec cat /tmp/x"))
        assert target.new_text in term.command(f"exec cat {target.path}")

        # Ctrl-C stops a running command; at the prompt it drops the line being typed.
        term.line("exec sleep 30")
        time.sleep(1.0)
        term.send("\x03")
        assert "interrupted" in term.expect(PROMPT, timeout=20)
        term.send("bogus")
        term.send("\x03")
        term.expect("line dropped")
        assert "unknown command" not in term.command("")

        with ScriptedServer(finish_policy, models=["branch-model"]) as server:
            line = f"branch --model branch-model --base-url {server.base_url} -o {branch_dir}"
            written = term.command(line, timeout=120)
        assert f"branch written to {branch_dir}" in written
        record = json.loads((branch_dir / "run.json").read_text())
        assert record["config"]["parent"]["step"] == target.edit_step
        assert record["config"]["candidate"]["model"] == "branch-model"
        run_ids.add(record["config"]["settings"]["run_id"])
        (branched,) = read_jsonl(branch_dir / "rollouts.jsonl")
        assert branched["cut"] == target.edit_step and branched["status"] == "completed"
        assert branched["messages"][-1]["content"] == "done"  # the scripted model's answer
        assert "category" in term.command("judge", timeout=120)

        assert "error: goto: expected a number" in term.command("goto x")
        term.line("quit")
        assert term.wait() == 0
        assert with_run_ids(run_ids) == []
        assert (tmp_path / ".understudy_reproduce_history").is_file()
    finally:
        term.close()
        remove_leftovers(run_ids)


@pytest.mark.docker
def test_one_command_opens_a_shell_at_the_flagged_step(
    demo_run: Path, base_image: str, tmp_path: Path
) -> None:
    target = flagged_edit_target(demo_run)
    argv = [sys.executable, "-m", "understudy", "reproduce", str(demo_run)]
    argv += ["--flagged", str(target.number), "--shell"]
    term = Terminal(argv, child_env(tmp_path), tmp_path)
    run_ids: set[str] = set()
    try:
        term.expect("recorded outputs reproduced", timeout=120)
        run_ids = {c.labels[labels.RUN_ID] for c in owned_containers(term.pid)}
        term.line(f"cat {target.path}; echo READY-$((40+2))")
        assert target.new_text in term.expect("READY-42")
        term.line("exit 0")
        assert term.wait() == 0
        assert run_ids and with_run_ids(run_ids) == []
    finally:
        term.close()
        remove_leftovers(run_ids)
