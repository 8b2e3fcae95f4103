"""Starting the command line loads only what the command run needs: ``understudy --help`` loads
no command module (each is listed in ``understudy.cli.COMMANDS`` and imported when used), and
no command loads scipy or openai before it computes a statistic or makes a client, so that
every start stays quick."""

from __future__ import annotations

import inspect
import subprocess
import sys

from typer.testing import CliRunner

from understudy.cli import COMMANDS, app, load_command, reflowed
from understudy.logging import configure_logging

HEAVY = ("scipy", "openai", "pydantic", "docker", "git", "structlog", "jsonschema", "yaml")


def loaded_after(code: str) -> list[str]:
    """The heavy libraries and understudy modules in ``sys.modules`` after running ``code``."""
    probe = (
        f"import sys\n{code}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{HEAVY!r} + ('understudy',)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return list(eval(result.stdout.strip().splitlines()[-1]))


def test_the_root_help_loads_no_command_module_nor_heavy_library() -> None:
    code = (
        "sys.argv = ['understudy', '--help']\n"
        "from understudy.cli import app\n"
        "try:\n    app(prog_name='understudy')\nexcept SystemExit:\n    pass"
    )
    assert loaded_after(code) == ["understudy", "understudy.cli", "understudy.errors"]


def test_importing_the_cli_loads_neither_scipy_nor_openai() -> None:
    assert not {"scipy", "openai"} & set(loaded_after("import understudy.cli"))


def test_a_command_loads_its_own_module_only() -> None:
    code = (
        "import sys\nfrom understudy.cli import load_command\n"
        "load_command('plan')\n"
        "print(sorted(m for m in sys.modules if m.startswith('understudy.cli_')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    command_modules = eval(result.stdout.strip())
    assert "understudy.cli_stats" in command_modules
    assert "understudy.cli_run" not in command_modules
    assert "understudy.cli_judges" not in command_modules


def test_the_heavy_modules_still_load_where_they_are_used() -> None:
    code = (
        "from understudy.judges import stats; stats.jeffreys_interval(1, 10)\n"
        "from understudy.replay.candidate import OpenAICandidate\n"
        "OpenAICandidate('m', base_url='http://127.0.0.1:9/v1')"
    )
    loaded = loaded_after(code)
    assert "openai" in loaded and "scipy" in loaded


def test_each_listed_summary_is_the_first_paragraph_of_its_commands_help() -> None:
    for name, (_, _, summary) in COMMANDS.items():
        command = load_command(name)
        first = inspect.cleandoc(reflowed(command.help or "")).split("\n\n")[0].strip()
        assert summary == first, name


def test_every_command_runs_through_the_lazy_group() -> None:
    runner = CliRunner()
    listing = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    for name in COMMANDS:
        assert f" {name} " in listing.stdout, name
        own_help = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200"})
        assert own_help.exit_code == 0, (name, own_help.stdout)
        assert "Usage: understudy" in own_help.stdout and name in own_help.stdout
    unknown = runner.invoke(app, ["no-such-command"])
    assert unknown.exit_code == 2
    assert "No such command" in unknown.stderr


COMMAND_MODULES = sorted({module for module, _, _ in COMMANDS.values()})
ALLOWED_HEAVY: dict[str, set[str]] = {}
"""Heavy libraries a command module may load at import, by module (none needs one)."""


def test_no_command_module_loads_a_heavy_library_at_import() -> None:
    modules = ["understudy.cli_common", "understudy.cli_sandbox", *COMMAND_MODULES]
    for module in modules:
        loaded = {name.split(".")[0] for name in loaded_after(f"import {module}")}
        assert loaded & set(HEAVY) <= ALLOWED_HEAVY.get(module, set()), module


def test_no_command_loads_a_heavy_library_to_show_its_help() -> None:
    # Every command and group, and a command of each group. typer checks the root's and a
    # group's options with pydantic before the help is shown: that one is its own.
    asked = [*([name] for name in COMMANDS), ["suite", "run"], ["pairs", "build"]]
    asked += [["images", "build"], ["sandbox", "gc"]]
    for arguments in asked:
        code = (
            f"sys.argv = ['understudy', *{arguments!r}, '--help']\n"
            "from understudy.cli import app\n"
            "try:\n    app(prog_name='understudy')\nexcept SystemExit:\n    pass"
        )
        loaded = {name.split(".")[0] for name in loaded_after(code)}
        assert not loaded & set(HEAVY) - {"pydantic"}, arguments


def test_the_names_in_the_help_are_the_librarys() -> None:
    from understudy.cli_engine import BASE_IMAGE
    from understudy.cli_run import MAX_RETRIES, REQUEST_TIMEOUT_S
    from understudy.cli_sandbox import BUILT_IN_BACKENDS, WORKSPACE_CHOICES, declared_backends
    from understudy.cli_schema import SCHEMA_MODEL_NAMES, schema_models
    from understudy.replay import candidate
    from understudy.replay.env_resolution import WORKSPACE_MODES
    from understudy.sandbox import config

    assert (REQUEST_TIMEOUT_S, MAX_RETRIES) == (
        candidate.DEFAULT_TIMEOUT_S,
        candidate.DEFAULT_MAX_RETRIES,
    )
    assert tuple(declared_backends()) == BUILT_IN_BACKENDS  # read from the table, now loaded
    assert WORKSPACE_CHOICES == WORKSPACE_MODES
    assert tuple(schema_models()) == SCHEMA_MODEL_NAMES
    assert BASE_IMAGE == config.BASE_IMAGE


def test_the_root_options_are_checked_as_before() -> None:
    runner = CliRunner()
    wrong = runner.invoke(app, ["--log-level", "loud", "plan", "--help"], env={"COLUMNS": "200"})
    assert wrong.exit_code == 2
    assert "'loud' is not one of 'debug', 'info', 'warning', 'error', 'critical'" in wrong.output
    try:
        loud = runner.invoke(app, ["--log-level", "DEBUG", "plan", "--help"])
        assert loud.exit_code == 0, loud.output
    finally:
        configure_logging("warning")  # the level outlives a command: later tests expect warnings


def test_a_level_set_before_structlog_loads_is_the_level_of_the_first_logger() -> None:
    code = (
        "from understudy.logging import configure_logging, get_logger\n"
        "configure_logging('error')\n"
        "assert 'structlog' not in sys.modules\n"
        "log = get_logger('probe')\n"
        "log.warning('dropped')\n"
        "log.error('shown')\n"
        "import signal\n"
        "from understudy.shutdown import exit_on_sigterm\n"
        "exit_on_sigterm()\n"
        "assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "shown" in result.stderr and "dropped" not in result.stderr
