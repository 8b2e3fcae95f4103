"""The package's shape: no module reaches into another's private names, and functions stay short.

These read the source with :mod:`ast`; nothing is imported or run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = ("understudy", "sandbox", "tools", "replay", "judges", "scenarios")
"""The folders installed as ``understudy`` and its subpackages (see pyproject's package-dir)."""

MAX_FUNCTION_LINES = 80
"""Longest function allowed; a CLI command's option signature does not count."""


def package_modules() -> Iterator[Path]:
    for folder in PACKAGE_DIRS:
        yield from sorted((ROOT / folder).rglob("*.py"))


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports(path: Path) -> list[str]:
    """``from understudy... import _name`` lines and ``module._name`` uses of imported modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    project_modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.level > 0 or (node.module or "").startswith("understudy")
        ):
            for alias in node.names:
                if is_private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                else:
                    project_modules.add(alias.asname or alias.name)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("understudy"):
                    project_modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and is_private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in project_modules
        ):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_cli = path.parent.name == "understudy" and path.name.startswith("cli")
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = node.body[0].lineno if is_cli else node.lineno
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{node.name} (line {node.lineno}): {length} lines")
    return found


def test_the_package_has_modules_to_check() -> None:
    assert len(list(package_modules())) > 100


@pytest.mark.parametrize(
    "path", list(package_modules()), ids=lambda path: str(path.relative_to(ROOT))
)
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    assert private_imports(path) == []


@pytest.mark.parametrize(
    "path", list(package_modules()), ids=lambda path: str(path.relative_to(ROOT))
)
def test_functions_are_at_most_80_lines(path: Path) -> None:
    assert long_functions(path) == []


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    module.write_text(
        "from understudy.judges.claims import _private\n"
        "from understudy.judges import commands as sh\n"
        "sh._hidden\n"
        f"def long():\n{body}\n",
        encoding="utf-8",
    )
    assert private_imports(module) == [
        "line 1: from understudy.judges.claims import _private",
        "line 3: sh._hidden",
    ]
    assert long_functions(module) == [f"long (line 4): {MAX_FUNCTION_LINES + 1} lines"]


def test_every_seam_is_declared_or_reexported_in_protocols() -> None:
    from understudy import protocols
    from understudy.judges.base import Judge
    from understudy.replay.importers.base import Importer
    from understudy.tools.base import Adapter, Tool

    assert protocols.Importer is Importer
    assert protocols.Tool is Tool
    assert protocols.Adapter is Adapter
    assert protocols.Judge is Judge
    for seam in ("Sandbox", "Router", "Simulator", "Candidate"):
        assert getattr(protocols, seam).__module__ == "understudy.protocols"
    for name in ("Importer", "Sandbox", "Tool", "Adapter", "Router", "Judge", "Candidate"):
        assert getattr(protocols, name).__doc__, name
    with pytest.raises(AttributeError):
        protocols.NoSuchSeam  # noqa: B018


def test_the_tool_router_is_a_router() -> None:
    from understudy.protocols import Router
    from understudy.tools.replay_store import ReplayStore
    from understudy.tools.router import ToolRouter

    assert isinstance(ToolRouter([], ReplayStore([]), None), Router)
