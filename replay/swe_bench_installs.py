"""How the SWE-bench harness installed each repository, for ``--envs`` rows in its dataset shape.

A published SWE-bench row names the repository and its commit but not how the environment was
set up: the harness (``swebench.harness.constants.MAP_REPO_VERSION_TO_SPECS``) installs each
repository with ``pip install`` in its image, so the sessions that ran there found the project
importable and its test tools present. An ``--envs`` row in that shape without ``pip_install``
gets the same install from :data:`HARNESS_INSTALLS` (its ``pip_install``; the row records
``pip_install_from``), built as every ``pip_install`` is (:mod:`understudy.sandbox.dependencies`:
wheels made on the host, installed with ``--no-index``).

Kept: the repositories whose install is ``pip install`` of pure-Python packages, with the
harness's extra ``pip_packages`` that the tests need, unpinned (the harness pins some per
version; pin them in the row's own ``pip_install`` when it matters). Left out: repositories the
harness builds with compilers or conda (astropy, matplotlib, scikit-learn, xarray, seaborn,
pyvista) and those with no install spec; a row for them installs nothing unless it says so.
The harness's Python version is not reproduced: the base image has one Python (3.11).
"""

from __future__ import annotations

__all__ = ["HARNESS_INSTALLS", "harness_install"]

HARNESS_INSTALLS: dict[str, list[str]] = {
    "django/django": ["-e", "."],
    "marshmallow-code/marshmallow": ["-e", ".[dev]"],
    "pallets/flask": ["-e", ".", "pytest"],
    "psf/requests": [".", "pytest"],
    "pvlib/pvlib-python": ["-e", ".[all]", "pytest"],
    "pydicom/pydicom": ["-e", ".", "numpy", "pytest"],
    "pylint-dev/astroid": ["-e", ".", "pytest"],
    "pylint-dev/pylint": ["-e", "."],
    "pytest-dev/pytest": ["-e", "."],
    "sphinx-doc/sphinx": ["-e", ".[test]"],
    "sqlfluff/sqlfluff": ["-e", "."],
    "sympy/sympy": ["-e", ".", "mpmath"],
}
"""``pip install`` arguments of the SWE-bench harness's install, by ``owner/name``."""


def harness_install(repo: str) -> list[str] | None:
    """The harness's ``pip install`` arguments for ``repo`` (``owner/name``), or None."""
    install = HARNESS_INSTALLS.get(repo.strip().lower().removesuffix(".git"))
    return list(install) if install is not None else None
