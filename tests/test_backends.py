"""Adding a sandbox backend is one declaration: every place that takes a backend reads the table.

A backend is declared here for the length of a test (the local backend under another name) and
withdrawn afterwards; then it is asked for through each way in: ``run_backend``, the settings
of a run, ``BACKENDS``, and ``--sandbox`` on the real command line, which replays a session in
it. Unknown names are refused with the valid ones listed, at each of those ways in.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import ValidationError
from test_prefix import bash, make_session
from typer.testing import CliRunner, Result

from understudy.cli import app
from understudy.errors import ConfigError
from understudy.jsonl import write_models
from understudy.replay.demo import make_repo
from understudy.replay.fidelity import FidelitySettings
from understudy.replay.runner import RunSettings
from understudy.sandbox import BACKENDS, resolve_backend
from understudy.sandbox.backends import (
    LocalBackendConfig,
    backend_names,
    declare_backend,
    run_backend,
    withdraw_backend,
)
from understudy.sandbox.local import LocalSandbox
from understudy.sandbox.local_env import LocalEnvBuilder, LocalPrefixes

SPARE = "spare-local"


class SpareLocalConfig(LocalBackendConfig):
    """The local backend under a name of its own."""

    type: Literal["spare-local"] = "spare-local"
    """The backend's name."""


@pytest.fixture
def spare_local() -> Iterator[str]:
    """The spare backend, declared for one test and withdrawn after it."""
    declare_backend(SpareLocalConfig)
    try:
        yield SPARE
    finally:
        withdraw_backend(SPARE)
    assert SPARE not in backend_names()


def invoke(*arguments: str | Path) -> Result:
    # Wide, so that rich's error panel does not wrap the messages that are checked.
    return CliRunner().invoke(app, [str(a) for a in arguments], env={"COLUMNS": "300"})


def test_the_built_in_backends_are_declared_in_order() -> None:
    assert backend_names() == ["docker", "local"]
    assert BACKENDS.names() == ["docker", "local"]


def test_run_backend_gives_a_declared_backend(spare_local: str, run_id: str) -> None:
    backend = run_backend(spare_local)
    assert isinstance(backend, SpareLocalConfig)
    assert (backend.name, backend.sandbox, backend.isolated) == (SPARE, LocalSandbox, False)
    assert isinstance(backend.builder("ignored", run_id), LocalEnvBuilder)
    assert isinstance(backend.prefixes(run_id), LocalPrefixes)
    assert backend_names() == ["docker", "local", SPARE]
    # Declared after local, which can always start sandboxes: auto does not change.
    assert resolve_backend("auto") in ("docker", "local")


def test_the_settings_and_the_registry_take_a_declared_backend(spare_local: str) -> None:
    assert RunSettings(run_id="r", backend=spare_local).backend == SPARE
    assert FidelitySettings(run_id="r", backend=spare_local).backend == SPARE
    assert BACKENDS.get(spare_local) is LocalSandbox
    assert BACKENDS.names() == ["docker", "local", SPARE]


def test_a_withdrawn_backend_is_unknown_again() -> None:
    declare_backend(SpareLocalConfig)
    withdraw_backend(SPARE)
    with pytest.raises(ConfigError, match=r"valid names: auto, docker, local$"):
        run_backend(SPARE)


def test_a_backend_needs_a_name_of_its_own() -> None:
    class Nameless(LocalBackendConfig):
        type: str = "auto"

    with pytest.raises(ValueError, match="needs a type of its own"):
        declare_backend(Nameless)
    assert backend_names() == ["docker", "local"]


def test_unknown_names_are_refused_with_the_valid_ones(spare_local: str) -> None:
    valid = "valid names: auto, docker, local, spare-local"
    with pytest.raises(ConfigError, match=f"unknown sandbox backend 'podman'; {valid}"):
        run_backend("podman")
    with pytest.raises(ValidationError, match=valid):
        RunSettings(run_id="r", backend="podman")
    with pytest.raises(ConfigError, match="valid names: docker, local, spare-local"):
        BACKENDS.get("podman")


def test_the_command_line_refuses_an_unknown_backend(spare_local: str, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.jsonl"
    sessions.write_text("")
    result = invoke("fidelity", sessions, "--sandbox", "podman")
    assert result.exit_code == 2  # a usage error, before any work
    assert (
        "unknown sandbox backend 'podman'; valid names: auto, docker, local, spare-local"
        in " ".join(result.output.split())
    )


def test_the_help_lists_the_backends() -> None:
    shown = " ".join(invoke("run", "--help").output.split())
    assert "'docker' (isolated containers), 'local' (NO isolation" in shown
    assert "or 'auto'" in shown


def test_the_command_line_replays_a_session_in_a_declared_backend(
    spare_local: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repos", "calc")
    session = make_session(repo, [bash("c-echo", "echo spare", "spare\n")], "spare-session")
    sessions = tmp_path / "sessions.jsonl"
    with sessions.open("w") as handle:
        write_models(handle, [session])

    result = invoke("fidelity", sessions, "--sandbox", spare_local, "--json")
    assert result.exit_code == 0, result.output
    assert "WARNING: the spare-local backend has NO isolation" in result.stderr
    [measured] = json.loads(result.stdout)["sessions"]
    assert measured["error"] is None
    assert (measured["compared"], measured["matched"]) == (1, 1)
    assert list(scratch.iterdir()) == []  # its sandboxes were removed
