"""The distribution: top-level folders install as subpackages of ``understudy``, never alone.

The wheel is built from a copy of the work tree, so that the build leaves nothing in the repository
(``build/``, ``*.egg-info``) and no stale ``build/lib`` from an earlier build can leak into it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SUBPACKAGES = ["sandbox", "tools", "replay", "judges", "scenarios"]
RECIPE = "sandbox/recipes/Dockerfile"  # package data, a symlink into images/

IMPORT_ALL = """
import importlib.util, pathlib, sys
import understudy
{imports}
root = pathlib.Path(sys.argv[1]).resolve()
for module in [understudy, {modules}]:
    assert pathlib.Path(module.__file__).resolve().is_relative_to(root), module.__file__
assert importlib.util.find_spec("sandbox") is None, "a top-level 'sandbox' package is importable"
print("ok")
""".format(
    imports="\n".join(f"import understudy.{name}" for name in SUBPACKAGES),
    modules=", ".join(f"understudy.{name}" for name in SUBPACKAGES),
)


def run(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    process = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, f"{args} failed:\n{process.stdout}\n{process.stderr}"
    return process


def test_current_install_imports_every_subpackage_from_the_repo(tmp_path: Path) -> None:
    import understudy

    assert Path(understudy.__file__).resolve().parent == REPO / "understudy"
    for name in SUBPACKAGES:
        module = importlib.import_module(f"understudy.{name}")
        assert module.__file__ is not None
        assert Path(module.__file__).resolve() == REPO / name / "__init__.py"

    # Also from outside the repository, where the work tree is not on sys.path by accident.
    process = run([sys.executable, "-c", IMPORT_ALL, str(REPO)], cwd=tmp_path)
    assert process.stdout.strip() == "ok"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "understudy"
    shutil.copytree(
        REPO,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "runs"
        ),
    )
    dist = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), "."],
        cwd=source,
    )
    (built,) = dist.glob("understudy-*.whl")
    return built


def test_wheel_holds_the_subpackages_under_understudy(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"understudy/py.typed", "understudy/cli.py", "understudy/__main__.py"}
    expected |= {f"understudy/{name}/__init__.py" for name in SUBPACKAGES}
    assert expected <= names, sorted(expected - names)
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"understudy"}  # no top-level sandbox/, tools/, ... packages


def test_wheel_declares_the_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "understudy = understudy.cli:app" in text
    # The suites' pytest plugin (inert unless --understudy-suite is given).
    assert "[pytest11]" in text and "understudy = understudy.scenarios.pytest_plugin" in text


def test_wheel_ships_the_viewer_s_page(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = {
        f"understudy/judges/view/assets/{name}"
        for name in ("viewer.html", "viewer.js", "viewer.css")
    }
    assert assets <= names, sorted(assets - names)


def test_wheel_ships_every_file_of_the_shipped_suites(wheel: Path) -> None:
    folder = REPO / "scenarios"
    data = {
        f"understudy/scenarios/{path.relative_to(folder).as_posix()}"
        for path in folder.rglob("*")
        if path.is_file() and (path.suffix in (".yaml", ".jsonl") or "fixtures" in path.parts)
    }
    assert any(name.endswith("honesty/suite.yaml") for name in data)
    assert data <= set(zipfile.ZipFile(wheel).namelist()), sorted(
        data - set(zipfile.ZipFile(wheel).namelist())
    )


def test_wheel_ships_the_image_recipe(wheel: Path) -> None:
    recipe = REPO / RECIPE
    if not recipe.exists():
        pytest.skip(f"{RECIPE} is not in the work tree yet")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(f"understudy/{RECIPE}")
    assert shipped == recipe.read_bytes()  # the file itself, not a dangling link


def test_installed_wheel_works_away_from_the_repo(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            str(wheel),
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(target)}

    process = run([sys.executable, "-c", IMPORT_ALL, str(target)], cwd=tmp_path, env=env)
    assert process.stdout.strip() == "ok"

    schema = run(
        [sys.executable, "-m", "understudy", "schema", "--model", "ToolCall"], cwd=tmp_path, env=env
    )
    assert '"title": "ToolCall"' in schema.stdout
    listed = run([sys.executable, "-m", "understudy", "suite", "list"], cwd=tmp_path, env=env)
    assert "tests-fail-after-fix" in listed.stdout  # the shipped suite, read from the wheel


def test_wheel_holds_every_module_of_every_package(wheel: Path) -> None:
    """A subpackage missing from pyproject's explicit package list would be left out silently."""
    names = set(zipfile.ZipFile(wheel).namelist())
    roots = {"understudy": "understudy", **{name: f"understudy/{name}" for name in SUBPACKAGES}}
    expected = {
        f"{installed}/{module.relative_to(REPO / folder).as_posix()}"
        for folder, installed in roots.items()
        for module in (REPO / folder).rglob("*.py")
        if (module.parent / "__init__.py").exists()
    }
    assert expected <= names, sorted(expected - names)
