"""A timeout stops everything its command started; the container outlives what a model may kill.

On the real engine (and, where the local backend can do it, on this machine): fork bombs and
processes that leave their group (``setsid``, ``nohup ... &``, double-forked daemons) are gone
once a timed-out command returns, whichever way the command ran; background jobs of commands
that finished stay; the keep-alive survives ``pkill sleep``, ``kill -9 1`` and the like.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from understudy.protocols import ExecResult, Sandbox
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client

if TYPE_CHECKING:
    from conftest import SandboxFactory

docker_only = pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker)])
PATHS = ["stateful", "fresh", "own-exec"]
"""How a command runs: in the stateful shell, in the fresh shell, or in an exec of its own (a
fresh command that arrives while the fresh shell is busy)."""
NOISE = ("fork", "Resource temporarily unavailable")
# Forks until the pids limit stops it; the foreground sleep keeps the command running past its
# timeout (a bomb alone returns at once and leaves its processes to a later command).
FORK_BOMB = "bomb() { bomb | bomb & }; bomb; sleep 60"


def marker() -> str:
    return f"{random.randrange(10**8):08d}"


def escapees(mark: str) -> str:
    """A command that starts three processes outside its process group, then outlives its
    timeout: a ``setsid`` child, a ``nohup`` job and a double-forked daemon."""
    return (
        f"setsid sleep 1001.{mark} & nohup sleep 1002.{mark} >/dev/null 2>&1 & "
        f"(setsid sh -c 'sleep 1003.{mark} & exit 0' &); sleep 60"
    )


async def run_on_path(sandbox: Sandbox, path: str, cmd: str, timeout: float) -> ExecResult:
    """Run ``cmd`` the way ``path`` says; for ``own-exec``, a command that keeps the fresh shell
    busy runs meanwhile, and must come through untouched."""
    if path != "own-exec":
        return await sandbox.exec(cmd, timeout=timeout, persistent=path == "stateful")
    busy = asyncio.ensure_future(sandbox.exec("sleep 5; echo kept", timeout=30))
    await asyncio.sleep(0.5)
    result = await sandbox.exec(cmd, timeout=timeout)
    kept = await busy
    assert (kept.exit_code, kept.output) == (0, "kept\n")
    return result


async def within(seconds: float, work: Callable[[], Awaitable[None]]) -> None:
    """Fail rather than hang."""
    await asyncio.wait_for(work(), seconds)


def host_processes_with(mark: str) -> list[str]:
    found = subprocess.run(["pgrep", "-a", "-f", mark], capture_output=True, text=True)
    return found.stdout.splitlines()


async def container_processes_with(sandbox: Sandbox, mark: str) -> list[str]:
    listing = await sandbox.exec("ps -eo args=", timeout=10)
    return [line for line in listing.output.splitlines() if mark in line]


async def leftovers(sandbox: Sandbox) -> list[str]:
    """Processes in the container other than the keep-alive (PID 1), the persistent shells
    (execs, so their parent is outside the container) and the ``ps`` that lists them; zombies
    count too."""
    listing = await sandbox.exec("ps -eo pid=,ppid=,stat=,args=", timeout=10)
    left = []
    for line in listing.output.splitlines():
        pid, ppid, stat, args = line.split(None, 3)
        shell = ppid == "0" and args.startswith("bash --norc --noprofile -i")
        if pid == "1" or (shell and "Z" not in stat) or args.startswith("ps -eo"):
            continue
        left.append(line)
    return left


# -- timeouts ----------------------------------------------------------------------------------


@docker_only
@pytest.mark.parametrize("path", PATHS)
async def test_a_fork_bomb_is_gone_after_its_timeout(
    sandbox_factory: SandboxFactory, path: str
) -> None:
    sandbox = await sandbox_factory.start(pids_limit=64)

    async def check() -> None:
        await sandbox.exec("true", persistent=True)  # both shells run from here on
        bombed = await run_on_path(sandbox, path, FORK_BOMB, timeout=2)
        assert bombed.timed_out and bombed.exit_code == 124
        assert await leftovers(sandbox) == []
        await asyncio.sleep(1)  # a surviving bomb would say so by now
        for persistent in (True, False):
            after = await sandbox.exec("echo clean", timeout=10, persistent=persistent)
            assert (after.exit_code, after.output) == (0, "clean\n")
            assert not any(noise in after.output for noise in NOISE)

    await within(90, check)


@pytest.mark.parametrize("path", PATHS)
async def test_processes_that_left_the_group_die_with_the_timeout(
    sandbox_factory: SandboxFactory, backend: str, path: str
) -> None:
    """setsid, nohup and a double fork: today's agents' ways of starting a server."""
    if backend == "local" and path == "own-exec":
        pytest.skip("the local backend runs a command in a shell or as a process of its own")
    sandbox = await sandbox_factory.start()
    mark = marker()
    command = escapees(mark)
    if backend == "local":
        # A daemon whose parent has exited is re-parented out of reach on this machine.
        command = command.replace(f"(setsid sh -c 'sleep 1003.{mark} & exit 0' &); ", "")

    async def check() -> None:
        result = await run_on_path(sandbox, path, command, timeout=1)
        assert result.timed_out
        if backend == "docker":
            assert await container_processes_with(sandbox, mark) == []
            assert await leftovers(sandbox) == []
        else:
            assert host_processes_with(mark) == []
        assert (await sandbox.exec("echo ok", persistent=path == "stateful")).output == "ok\n"

    await within(60, check)


@pytest.mark.parametrize("persistent", [True, False], ids=["stateful", "fresh"])
async def test_background_jobs_of_finished_commands_outlive_a_later_timeout(
    sandbox: Sandbox, backend: str, persistent: bool
) -> None:
    if backend == "local" and not persistent:
        pytest.skip(
            "on the local backend a fresh command lasts as long as its jobs hold its output"
        )
    kept, stray = marker(), marker()
    started = await sandbox.exec(f"sleep 300.{kept} & echo started", persistent=persistent)
    assert started.output.endswith("started\n")  # an interactive shell adds "[1] PID" first
    stopped = await sandbox.exec(
        f"setsid sleep 301.{stray} & sleep 60", timeout=1, persistent=persistent
    )
    assert stopped.timed_out
    if backend == "docker":
        assert await container_processes_with(sandbox, kept) == [f"sleep 300.{kept}"]
        assert await container_processes_with(sandbox, stray) == []
    else:
        assert [line.split(" ", 1)[1] for line in host_processes_with(kept)] == [
            f"sleep 300.{kept}"
        ]
        assert host_processes_with(stray) == []
        await sandbox.exec(f"pkill -f 300.{kept}", persistent=True)


# -- the keep-alive ----------------------------------------------------------------------------

# What a model may run to clean up; killall comes from psmisc, which the base image lacks, so
# it is spelled out with builtins (by process name, as killall matches).
KILLERS = [
    "pkill sleep",
    "pkill -9 sleep",
    "pkill -9 -f infinity",
    'for d in /proc/[0-9]*; do read -r c < "$d/comm" && [ "$c" = sleep ] && kill -9 "${d#/proc/}"; '
    "done; true",
    "kill -9 1",
    "kill -TERM 1",
    "kill -STOP 1",
    "kill -9 -1",
]


@docker_only
async def test_the_container_survives_what_a_model_may_kill(sandbox: Sandbox) -> None:
    assert isinstance(sandbox, DockerSandbox)
    for persistent in (True, False):
        for command in KILLERS:
            await sandbox.exec(command, timeout=10, persistent=persistent)
            state = docker_client().api.inspect_container(sandbox.id)["State"]
            assert state["Running"] and state["Status"] == "running", command
            after = await sandbox.exec("echo alive", timeout=10, persistent=persistent)
            assert (after.exit_code, after.output) == (0, "alive\n"), command
    first = await sandbox.exec("ps -o stat=,args= -p 1")
    assert first.output.split(None, 1)[1] == "sleep infinity\n"
    assert "T" not in first.output.split()[0]


@docker_only
async def test_orphans_are_reaped(sandbox: Sandbox) -> None:
    """Orphans go to PID 1, which must not leave them as zombies (each holds a pid)."""
    await sandbox.exec("for i in 1 2 3 4 5; do (sleep 0.1 &); done; setsid sh -c 'exit 0'")
    await asyncio.sleep(0.5)
    zombies = await sandbox.exec("ps -eo stat=,args= | grep '^Z' || true")
    assert zombies.output == ""
