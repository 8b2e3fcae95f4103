"""The persistent shell of a sandbox: agent shell semantics, timeouts, recovery, big and binary
output, snapshots. On a real engine (and, where the backend supports it, locally)."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import SandboxFactory

from understudy.protocols import Sandbox
from understudy.sandbox.docker import DockerSandbox
from understudy.sandbox.engine import docker_client
from understudy.sandbox.output import TRUNCATION_MARKER
from understudy.tools.policy import ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Message, ToolCall, ToolSpec

MARKER_TEXT = TRUNCATION_MARKER.split("{")[0].strip()
BASH_SPEC = ToolSpec(
    name="bash",
    parameters={
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
    },
)
STATE_SCRIPT = (
    "mkdir -p /srv/proj && cd /srv/proj && export LEVEL=7 && python3 -m venv --without-pip "
    "venv && . venv/bin/activate && greet() { echo hello from a function; }"
)
SHOW_STATE = 'pwd; echo "level=${LEVEL:-unset}"; echo "venv=${VIRTUAL_ENV:-none}"'

docker_only = pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker)])


def router_for(agent: str, sandbox: Sandbox) -> ToolRouter:
    return ToolRouter([BASH_SPEC], ReplayStore([]), sandbox, ToolPolicy.parse("live"), agent=agent)


async def call_bash(router: ToolRouter, command: str, number: int) -> Message:
    return await router.call(
        ToolCall(id=f"call_{number}", name="bash", arguments={"command": command})
    )


# -- agent semantics ---------------------------------------------------------------------------


@docker_only
async def test_state_carries_over_where_the_agents_shell_kept_it(sandbox: Sandbox) -> None:
    """SWE-agent's shell kept cwd, exports, an activated venv and functions between calls."""
    router = router_for("swe-agent", sandbox)
    setup = await call_bash(router, STATE_SCRIPT, 1)
    assert setup.meta["exit_code"] == 0, setup.content
    shown = await call_bash(router, f"{SHOW_STATE}; greet", 2)
    assert "/srv/proj\nlevel=7\nvenv=/srv/proj/venv\nhello from a function\n" in shown.content
    assert shown.meta["cwd"] == "/srv/proj"


@docker_only
async def test_state_does_not_carry_over_where_each_command_ran_fresh(sandbox: Sandbox) -> None:
    """mini-swe-agent ran every command in a new shell: nothing but files carries over."""
    router = router_for("mini-swe-agent", sandbox)
    setup = await call_bash(router, STATE_SCRIPT + " && touch made-here", 1)
    assert setup.meta["exit_code"] == 0, setup.content
    shown = await call_bash(router, f"{SHOW_STATE}; ls /srv/proj; type greet", 2)
    text = shown.content
    assert "/workspace\nlevel=unset\nvenv=none\n" in text
    assert "made-here" in text  # files do persist: the shell state is what is fresh
    assert "greet: not found" in text


# -- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "echo started; sleep 60.125; echo after",  # an external command
        "echo started; while :; do :; done",  # a loop inside the shell itself
        "trap '' INT; echo started; sleep 60.125",  # something that ignores SIGINT
    ],
    ids=["external", "builtin-loop", "ignores-sigint"],
)
async def test_a_timeout_kills_the_command_and_keeps_the_shell(
    sandbox: Sandbox, command: str
) -> None:
    await sandbox.exec("cd /tmp && export KEPT=yes", persistent=True)
    started = time.monotonic()
    stopped = await sandbox.exec(command, timeout=1, persistent=True)
    assert stopped.timed_out and stopped.exit_code == 124
    assert stopped.output == "started\n"  # what came before the timeout, nothing after
    assert time.monotonic() - started < 8
    after = await sandbox.exec("echo $KEPT; pwd", persistent=True)
    assert (after.exit_code, after.output) == (0, "yes\n/tmp\n")
    # An odd duration: on the local backend `ps` sees the whole machine, other runs included.
    leftovers = await sandbox.exec("ps -eo args | grep -c '^sleep 60.125' || true")
    assert leftovers.output.strip() == "0"


async def test_background_jobs_of_the_shell_survive_a_later_timeout(sandbox: Sandbox) -> None:
    """As in a terminal: Ctrl-C stops the command in the foreground, not the jobs."""
    await sandbox.exec("sleep 300 & echo $! > /tmp/job.pid", persistent=True)
    stopped = await sandbox.exec("sleep 60", timeout=0.5, persistent=True)
    assert stopped.timed_out
    alive = await sandbox.exec('kill -0 "$(cat /tmp/job.pid)" && echo alive', persistent=True)
    assert alive.output == "alive\n"


async def test_a_cancelled_command_is_stopped_and_the_shell_stays(sandbox: Sandbox) -> None:
    await sandbox.exec("export KEPT=yes", persistent=True)
    running = asyncio.ensure_future(sandbox.exec("sleep 60", persistent=True))
    await asyncio.sleep(0.5)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    after = await sandbox.exec("echo $KEPT", persistent=True, timeout=10)
    assert after.output == "yes\n"


# -- recovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["exit 3", "kill -9 $$"])
async def test_a_dead_shell_comes_back_with_the_state_before_the_command(
    sandbox: Sandbox, ending: str
) -> None:
    await sandbox.exec("cd /tmp && export KEPT=yes", persistent=True)
    died = await sandbox.exec(f"echo last words; export LOST=1; {ending}", persistent=True)
    assert died.exit_code == (3 if ending == "exit 3" else 137)
    assert died.output == "last words\n"
    after = await sandbox.exec('echo "$KEPT ${LOST:-gone}"; pwd', persistent=True)
    assert (after.exit_code, after.output) == (0, "yes gone\n/tmp\n")


# -- output ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persistent", [True, False], ids=["stateful", "fresh"])
async def test_binary_output_passes_through(sandbox: Sandbox, persistent: bool) -> None:
    result = await sandbox.exec(
        "printf 'a\\000b\\377c\\n'; head -c 3000 /dev/urandom > /dev/null; printf 'ok'",
        persistent=persistent,
    )
    assert result.exit_code == 0
    assert result.output == "a\x00b\ufffdc\nok"
    assert result.output_bytes == 8


@pytest.mark.parametrize("persistent", [True, False], ids=["stateful", "fresh"])
async def test_ten_megabytes_of_output_are_truncated_with_a_marker(
    sandbox_factory: SandboxFactory, persistent: bool
) -> None:
    sandbox = await sandbox_factory.start(output_limit_bytes=64 * 1024)
    result = await sandbox.exec(
        "head -c 10485760 /dev/zero | tr '\\0' x; echo; echo THE-END", persistent=persistent
    )
    assert result.exit_code == 0 and result.truncated
    assert result.output_bytes == 10 * 1024 * 1024 + len("\nTHE-END\n")
    assert MARKER_TEXT in result.output and result.output.endswith("THE-END\n")
    assert len(result.output.encode()) < 70 * 1024
    # The shell is still in step: the next command gets exactly its own output.
    assert (await sandbox.exec("echo next", persistent=persistent)).output == "next\n"


# -- the engine side ---------------------------------------------------------------------------


@docker_only
async def test_fresh_commands_run_side_by_side(sandbox: Sandbox) -> None:
    """A fresh command that arrives while another runs does not wait for it."""
    started = time.monotonic()
    slow, quick = await asyncio.gather(
        sandbox.exec("sleep 2; echo slow"), sandbox.exec("sleep 0.2; echo quick")
    )
    assert (slow.output, quick.output) == ("slow\n", "quick\n")
    assert time.monotonic() - started < 3.5


@docker_only
async def test_a_snapshot_carries_the_shell_state_and_leaves_no_trace(
    sandbox_factory: SandboxFactory,
) -> None:
    first = await sandbox_factory.start()
    await first.exec(STATE_SCRIPT, persistent=True)
    image = await sandbox_factory.snapshot(first)
    changed = [change.path for change in await first.changed_files()]
    assert "/srv/proj/venv/bin/activate" in changed
    assert all(path.startswith("/srv/proj/") for path in changed), changed
    second = await sandbox_factory.start(image=image)
    shown = await second.exec(f"{SHOW_STATE}; greet", persistent=True)
    assert shown.output == "/srv/proj\nlevel=7\nvenv=/srv/proj/venv\nhello from a function\n"
    assert await second.changed_files() == []
    fresh = await second.exec(SHOW_STATE)
    assert fresh.output == "/workspace\nlevel=unset\nvenv=none\n"


@docker_only
async def test_a_command_in_a_stopped_container_is_a_crash(sandbox: Sandbox) -> None:
    from understudy.errors import SandboxCrashedError

    assert isinstance(sandbox, DockerSandbox)
    await sandbox.exec("true", persistent=True)
    running = asyncio.ensure_future(sandbox.exec("sleep 60", persistent=True))
    await asyncio.sleep(0.5)
    await asyncio.to_thread(docker_client().api.kill, sandbox.id)
    with pytest.raises(SandboxCrashedError):
        await asyncio.wait_for(running, 20)
