"""Every third-party module the package or its tests import is declared in pyproject.toml.

An undeclared import works on a machine where something else happened to install it and fails
on a fresh clone (a test once imported ``click``, which typer no longer brings along). Imports
are read from the source with ``ast``, mapped to their distributions by the installed metadata,
and compared with the project's dependencies (the package's own for its code; the package's
plus the ``dev`` extra for the tests). An optional extra's distribution may be imported by the
modules that need it (``ray`` by the Ray executors), and only there: anywhere else, installing
the package without that extra would break.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ["understudy", "sandbox", "tools", "replay", "judges", "scenarios"]
FIRST_PARTY = {"understudy", "conftest"}
HOSTED = {"pytest_plugin.py": "pytest"}
"""Modules that only their host loads, and that host: the pytest plugin runs inside pytest."""
OPTIONAL_EXTRAS = {"ray": ("replay/executors/", "judges/ray_")}
"""Each optional extra, and where its imports are allowed (paths starting so, from the repo)."""


def declared(*extras: str) -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_normalize(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0]) for req in requirements}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(files: list[Path]) -> dict[str, Path]:
    """Top-level module name -> one file importing it (absolute imports only)."""
    found: dict[str, Path] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.partition(".")[0]
                if HOSTED.get(path.name) != top:
                    found.setdefault(top, path)
    return found


def undeclared(files: list[Path], allowed: set[str]) -> list[str]:
    """What ``files`` import that ``allowed`` does not declare (each module once)."""
    local = {path.stem for path in files}  # sibling test modules importing each other
    distributions = packages_distributions()
    problems = []
    for module, where in sorted(imported_modules(files).items()):
        if module in sys.stdlib_module_names or module in FIRST_PARTY or module in local:
            continue
        owners = {_normalize(owner) for owner in distributions.get(module, [])}
        if not owners & allowed:
            shown = ", ".join(sorted(owners)) or "no installed distribution"
            problems.append(f"{where.name} imports {module} ({shown})")
    return problems


def in_extra(path: Path) -> str | None:
    """The optional extra whose imports ``path`` may make, if any."""
    relative = path.relative_to(REPO).as_posix()
    for extra, places in OPTIONAL_EXTRAS.items():
        if relative.startswith(places):
            return extra
    return None


def test_the_package_imports_only_its_declared_dependencies() -> None:
    files = [path for folder in PACKAGE_DIRS for path in (REPO / folder).rglob("*.py")]
    core = [path for path in files if in_extra(path) is None]
    assert undeclared(core, declared()) == []
    for extra in OPTIONAL_EXTRAS:
        assert undeclared([p for p in files if in_extra(p) == extra], declared(extra)) == []


def test_the_tests_import_only_declared_dependencies() -> None:
    files = sorted((REPO / "tests").rglob("*.py"))
    assert undeclared(files, declared("dev", *OPTIONAL_EXTRAS)) == []


def test_an_undeclared_import_is_caught(tmp_path: Path) -> None:
    source = tmp_path / "uses_yaml.py"
    source.write_text("import yaml\nfrom docker import errors\n")
    assert undeclared([source], {"docker"}) != []
    assert undeclared([source], {"docker", "pyyaml"}) == []
