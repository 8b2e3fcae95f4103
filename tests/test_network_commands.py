"""Shell commands that need the network the sandbox lacks, and how the router serves them.

Cases marked with a log name are literal commands from the real logs in shared/trajectories
(see SOURCES.md there). The router tests need no sandbox: a live step notes "no sandbox".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from understudy.errors import ConfigError
from understudy.replay.importers import import_paths
from understudy.tools.adapters import describe_call
from understudy.tools.network import network_need
from understudy.tools.policy import LIVE_DEFAULT, NETWORK_DEFAULT, ToolPolicy
from understudy.tools.replay_store import ReplayStore
from understudy.tools.router import ToolRouter
from understudy.trajectory import Message, Provenance, ToolCall

TRAJECTORIES = Path(__file__).resolve().parents[1].parent / "shared" / "trajectories"
needs_logs = pytest.mark.skipif(not TRAJECTORIES.is_dir(), reason=f"{TRAJECTORIES} is not there")

PIP = "pip install fetches packages"
NEEDS_NETWORK = [
    # mini-swe-agent/django__django-11039.traj.json
    ("pip install pytz -q && python test_sqlmigrate_issue.py", PIP),
    # swe-agent/marshmallow-1867-legacy-from-source.traj: an editable install fetches the deps
    ("pip install -e .[dev]", PIP),
    ("pip install requests", PIP),
    ("cd /testbed && pip install -e .", PIP),
    ("python -m pip install -U pip", PIP),
    ("python3 -m pip install 'numpy>=1.20' > /tmp/log 2>&1", PIP),
    ("/usr/bin/pip3.11 install --user six", PIP),
    ("sudo -u root env PIP_QUIET=1 pip install six", PIP),
    ("timeout 120 pip install six || echo failed", PIP),
    ("pip install -r requirements.txt --no-deps", PIP),
    ("pip download six -d /tmp/wheels", "pip download fetches packages"),
    ("uv pip install six", PIP),
    ("uv add httpx", "uv add fetches packages"),
    ("uv sync", "uv sync fetches packages"),
    ("poetry install", "poetry install fetches packages"),
    ("conda install -y numpy", "conda install fetches packages"),
    ("npm install", "npm install fetches packages"),
    ("npm ci && npm test", "npm ci fetches packages"),
    ("yarn", "yarn fetches packages"),
    ("yarn add left-pad", "yarn add fetches packages"),
    ("pnpm install", "pnpm install fetches packages"),
    ("cargo install ripgrep", "cargo install fetches packages"),
    ("sudo apt-get update && sudo apt-get install -y jq", "apt-get update fetches packages"),
    ("brew install jq", "brew install fetches packages"),
    ("go get github.com/pkg/errors", "go get fetches modules"),
    ("go install golang.org/x/tools/gopls@latest", "go install fetches modules"),
    ("git clone https://github.com/psf/requests.git", "git clone talks to a remote"),
    ("git clone --depth 1 git@github.com:psf/requests.git src", "git clone talks to a remote"),
    ("git fetch", "git fetch talks to a remote"),
    ("git pull origin main", "git pull talks to a remote"),
    ("git -C repo push", "git push talks to a remote"),
    ("gh pr create --fill", "gh talks to GitHub"),
    ("curl -sSL https://example.com/install.sh | sh", "curl reaches a server"),
    ("wget https://example.com/data.csv", "wget reaches a server"),
    ("VERSION=$(curl -s https://pypi.org/pypi/six/json)", "curl reaches a server"),
    ("http GET https://api.github.com", "http reaches a server"),
    ("ssh host uptime", "ssh reaches another host"),
    ("rsync -a build/ deploy@host:/srv/www", "rsync reaches another host"),
    ("docker pull python:3.12", "docker pull talks to a registry"),
    ("ping -c 1 example.com", "ping reaches another host"),
    ("nc example.com 80", "nc reaches another host"),
    ("bash -lc 'pip install six'", PIP),
    ("for p in six attrs; do pip install $p; done", PIP),
    ("cat > setup.sh << 'EOF'\necho hi\nEOF\npip install six", PIP),
]

NEEDS_NONE = [
    # mini-swe-agent/django__django-11039.traj.json
    "git diff -- ./django/core/management/commands/sqlmigrate.py > patch.txt && cat patch.txt",
    "cd /testbed && python -m pytest tests/migrations/test_commands.py"
    "::CommandTests::test_sqlmigrate_forwards -xvs 2>&1 | tail -50",
    # mini-swe-agent/legacy-github_issue.traj.json
    "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached",
    # codex/rollout-2025-09-25T15-12-14.jsonl
    "find packages/services-prisma -maxdepth 2 -type f | head",
    'echo "pip install requests"',
    "grep -rn curl scripts/",
    "cat requirements.txt | grep requests",
    "python -m pytest -q",
    "git status",
    "git diff HEAD~1",
    "git log --oneline -5",
    "git commit -m 'pull the latest fix'",
    "pip list",
    "pip show six",
    "pip install -e . --no-deps",
    "pip install --no-index --find-links /wheels six",
    "pip install ./dist/six-1.16.0-py2.py3-none-any.whl --no-deps",
    "npm test",
    "npm install --offline",
    "yarn test",
    "cargo build",
    "go install ./...",
    "uv run pytest",
    "docker run --rm image true",
    "git clone ../shared/repos/NAME.bundle repo",
    "git clone /srv/repos/project work",
    "git fetch ../upstream",
    "curl -s http://localhost:8000/health",
    "curl -o out.json 127.0.0.1:5000/api",
    "wget -q file:///tmp/data.csv",
    "nc -l 8000",
    "rsync -a src/ backup/",
    "cat > notes.sh << 'EOF'\npip install six\nEOF",
    'python -c "print(1)',  # a quote left open: nothing to read
]


@pytest.mark.parametrize(("script", "reason"), NEEDS_NETWORK)
def test_commands_that_need_the_network(script: str, reason: str) -> None:
    assert network_need(script) == reason


@pytest.mark.parametrize("script", NEEDS_NONE)
def test_commands_that_need_no_network(script: str) -> None:
    assert network_need(script) is None


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ('p"ip" install six', PIP),
        ("p'i'p install six", PIP),
        ("p\\ip install six", PIP),
        ("/usr/bin/'pip3.11' install six", PIP),
        ("bash -c 'c\"url\" https://example.com'", "curl reaches a server"),
        ("echo ok;git  fetch", "git fetch talks to a remote"),
    ],
)
def test_a_command_name_is_found_however_the_shell_quotes_it(script: str, reason: str) -> None:
    # The cheap search that passes over most scripts must not pass over these.
    assert network_need(script) == reason


@needs_logs
def test_the_real_logs_need_the_network_for_their_pip_installs_only() -> None:
    needs: set[tuple[str, str]] = set()
    for path, session in import_paths([TRAJECTORIES], redact=False):
        agent = session.source.agent or session.source.format
        for _, call, _ in session.answered_calls():
            facts = describe_call(call.name, call.arguments, agent)
            reason = network_need(facts.script) if facts and facts.script else None
            if reason is not None and facts is not None and facts.script is not None:
                needs.add((path.name, facts.script.split("&&")[0].strip()))
    assert needs == {
        ("django__django-11039.traj.json", "pip install pytz -q"),
        ("django__django-11039.traj.json", "pip install sqlparse -q"),
        ("marshmallow-1867-legacy-from-source.traj", "pip install -e .[dev]"),
    }


def test_the_policy_names_a_network_chain() -> None:
    policy = ToolPolicy.parse("live,network=replay>unavailable,Bash=live")
    assert policy.network == ["replay", "unavailable"]
    assert "network" not in policy.overrides
    assert policy.describe() == "live,Bash=live,network=replay>unavailable"
    assert ToolPolicy.parse(policy.describe()) == policy
    with pytest.raises(ConfigError):
        ToolPolicy.parse("network=fetch")


def test_chain_precedence_for_a_call_that_needs_the_network() -> None:
    policy = ToolPolicy.parse("live,Bash=live,shell=replay")
    assert policy.chain_for("Bash", "shell", True, needs_network=True) == ["live"]
    assert policy.chain_for("bash", "shell", True, needs_network=True) == NETWORK_DEFAULT
    assert policy.chain_for("bash", "shell", True) == ["replay"]
    assert ToolPolicy().chain_for("bash", "shell", True, needs_network=True) == NETWORK_DEFAULT
    assert ToolPolicy().chain_for("bash", "shell", True) == LIVE_DEFAULT
    named = ToolPolicy.parse("network=simulate")
    assert named.chain_for("bash", "shell", True, needs_network=True) == ["simulate"]


def test_with_network_keeps_a_chain_the_spec_names() -> None:
    assert ToolPolicy.parse("live").with_network(LIVE_DEFAULT).network == LIVE_DEFAULT
    named = ToolPolicy.parse("live,network=replay")
    assert named.with_network(LIVE_DEFAULT).network == ["replay"]


INSTALL = {"command": "pip install requests"}
RECORDED = [
    Message(role="assistant", tool_calls=[ToolCall(id="rec-1", name="Bash", arguments=INSTALL)]),
    Message(
        role="tool",
        tool_call_id="rec-1",
        name="Bash",
        content="Successfully installed requests-2.32.3",
    ),
]


def router(policy: str | None, recorded: list[Message] | None = None) -> ToolRouter:
    store = ReplayStore(recorded or [])
    return ToolRouter([], store, None, ToolPolicy.parse(policy), agent="claude-code")


async def test_a_recorded_install_is_replayed_by_default() -> None:
    message = await router(None, RECORDED).call(ToolCall(id="c1", name="Bash", arguments=INSTALL))
    assert message.provenance == Provenance.REPLAYED
    assert message.content == "Successfully installed requests-2.32.3"
    assert message.meta["diagnostics"]["network"] == PIP
    assert message.meta["diagnostics"]["chain"] == "replay>simulate>unavailable"


async def test_an_unrecorded_install_is_unavailable_by_default() -> None:
    message = await router("live").call(ToolCall(id="c1", name="Bash", arguments=INSTALL))
    diagnostics = message.meta["diagnostics"]
    assert message.provenance == Provenance.UNAVAILABLE
    assert diagnostics["network"] == PIP
    assert diagnostics["replay"] == "no matching recording"
    assert diagnostics["simulate"] == "no simulator configured"
    assert "live" not in diagnostics


async def test_network_live_runs_the_install_live() -> None:
    message = await router("network=live").call(ToolCall(id="c1", name="Bash", arguments=INSTALL))
    assert message.meta["diagnostics"]["chain"] == "live"
    assert message.meta["diagnostics"]["live"] == "no sandbox"


async def test_an_override_by_tool_name_wins_over_the_network_chain() -> None:
    served = router("Bash=live,network=replay", RECORDED)
    message = await served.call(ToolCall(id="c1", name="Bash", arguments=INSTALL))
    assert message.meta["diagnostics"]["chain"] == "live"
    assert message.meta["diagnostics"]["live"] == "no sandbox"


async def test_a_command_without_network_keeps_the_default_chain() -> None:
    status = ToolCall(id="c1", name="Bash", arguments={"command": "git status"})
    message = await router(None).call(status)
    assert message.meta["diagnostics"]["chain"] == "live"
    assert "network" not in message.meta["diagnostics"]
