"""Suites on disk: a folder with a ``suite.yaml`` manifest and one YAML file per scenario.

The shipped suites are folders of this package (``--suite honesty``); ``--suite PATH`` takes a
folder of the user's own. Every file is checked against the JSON Schema of its model
(``understudy schema --model Scenario``) and then by the model itself; problems are a
:class:`~understudy.errors.SchemaError` naming the file and field. A scenario's categories must
be in the taxonomy, and its session must be readable and able to take the cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from understudy.errors import ConfigError
from understudy.jsonl import validate_document
from understudy.judges.taxonomy import Taxonomy, load_taxonomy
from understudy.replay.importers import import_paths
from understudy.scenarios.model import Scenario, SuiteManifest
from understudy.trajectory import Session

__all__ = ["MANIFEST", "Suite", "load_scenario", "load_suite", "shipped_suites"]

MANIFEST = "suite.yaml"
"""The manifest file of a suite folder."""


@dataclass(frozen=True)
class Suite:
    """A suite as loaded: its folder, manifest and scenarios in order."""

    path: Path
    manifest: SuiteManifest
    scenarios: list[Scenario]
    files: dict[str, Path]
    """Each scenario's file, by scenario name."""
    logs: dict[Path, list[Session]] = field(default_factory=dict)
    """The sessions of each log file read so far (scenarios often share one)."""

    @property
    def name(self) -> str:
        return self.manifest.name

    def select(self, names: Sequence[str]) -> list[Scenario]:
        """The scenarios named (all when ``names`` is empty); an unknown name is a ConfigError
        listing the valid ones."""
        if not names:
            return list(self.scenarios)
        known = {scenario.name: scenario for scenario in self.scenarios}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ConfigError(
                f"no scenario {', '.join(map(repr, unknown))} in suite {self.name!r}; "
                f"valid names: {', '.join(known)}"
            )
        return [known[name] for name in dict.fromkeys(names)]

    def session_of(self, scenario: Scenario) -> Session:
        """The scenario's session (read from its file, or inline)."""
        return load_session(scenario, self.path, self.files[scenario.name], self.logs)


def _shipped_root() -> Path:
    return Path(str(resources.files("understudy.scenarios")))


def shipped_suites() -> dict[str, Path]:
    """The suites shipped with understudy, by name."""
    root = _shipped_root()
    return {
        folder.name: folder for folder in sorted(root.iterdir()) if (folder / MANIFEST).is_file()
    }


def suite_folder(suite: str) -> Path:
    """The folder of ``suite``: a shipped suite's name, or a path to a folder (or its
    manifest)."""
    shipped = shipped_suites()
    if suite in shipped:
        return shipped[suite]
    path = Path(suite).expanduser()
    if path.is_file() and path.name == MANIFEST:
        path = path.parent
    if not path.is_dir():
        raise ConfigError(
            f"no suite {suite!r}: not a shipped suite ({', '.join(shipped) or 'none'}) nor a folder"
        )
    if not (path / MANIFEST).is_file():
        raise ConfigError(f"{path} is not a suite folder: it has no {MANIFEST}")
    return path


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None


def load_scenario(path: Path, taxonomy: Taxonomy | None = None) -> Scenario:
    """One scenario file, validated (its categories against ``taxonomy``)."""
    scenario = validate_document(_read_yaml(path), Scenario, str(path))
    known = set((taxonomy or load_taxonomy()).ids())
    for category in scenario.expect.categories():
        if category not in known:
            raise ConfigError(
                f"{path}: expect: unknown category {category!r}; see `understudy judge --help` "
                "or the taxonomy for valid ids"
            )
    return scenario


def load_suite(suite: str, taxonomy: Taxonomy | None = None) -> Suite:
    """The suite named (shipped) or at a path, with every scenario checked, sessions included."""
    folder = suite_folder(suite)
    manifest = validate_document(
        _read_yaml(folder / MANIFEST), SuiteManifest, str(folder / MANIFEST)
    )
    names = manifest.scenarios or sorted(
        path.name for path in folder.glob("*.yaml") if path.name != MANIFEST
    )
    taxonomy = taxonomy or load_taxonomy()
    scenarios: list[Scenario] = []
    files: dict[str, Path] = {}
    for name in names:
        path = folder / name
        if not path.is_file():
            raise ConfigError(f"{folder / MANIFEST}: scenarios: no file {name!r} in {folder}")
        scenario = load_scenario(path, taxonomy)
        if scenario.name in files:
            raise ConfigError(
                f"{path}: name: {scenario.name!r} is also the name of {files[scenario.name]}"
            )
        scenarios.append(scenario)
        files[scenario.name] = path
    if not scenarios:
        raise ConfigError(f"suite {manifest.name!r} in {folder} has no scenario")
    loaded = Suite(folder, manifest, scenarios, files)
    for scenario in scenarios:
        loaded.session_of(scenario)  # unreadable sessions are found before anything runs
    return loaded


def load_session(
    scenario: Scenario,
    suite_path: Path,
    scenario_file: Path,
    logs: dict[Path, list[Session]] | None = None,
) -> Session:
    """The session a scenario names; ``logs`` keeps each log file's sessions once read."""
    logs = {} if logs is None else logs
    source = scenario.session
    if source.inline is not None:
        return source.inline
    if source.file is not None:
        path = suite_path / source.file
    else:
        assert source.path is not None
        path = Path(source.path).expanduser()
        path = path if path.is_absolute() else scenario_file.parent / path
    where = f"{scenario_file}: session"
    if not path.exists():
        raise ConfigError(f"{where}: no file {path}")
    if path not in logs:
        logs[path] = [session for _, session in import_paths([path], redact=False)]
    sessions = logs[path]
    if source.id is None:
        if not sessions:
            raise ConfigError(f"{where}: {path} holds no session")
        return sessions[0]
    for session in sessions:
        if session.id == source.id:
            return session
    ids = ", ".join(session.id for session in sessions[:10])
    raise ConfigError(f"{where}.id: no session {source.id!r} in {path} (it holds: {ids})")
