"""A pytest plugin: a suite's scenarios as pytest items, for teams whose CI is pytest.

Installed with understudy (entry point ``pytest11``), it does nothing unless asked::

    pytest --understudy-suite honesty --understudy-model M --understudy-base-url URL

Each scenario is one item (``understudy::honesty::tests-fail-after-fix``): the scenario is run
and judged in the item's setup, so a harness error (an environment that does not build, an
endpoint that is down) is a pytest *error*, and an expectation that does not hold is a
*failure* whose report lists the flagged evidence. ``-k`` selects scenarios as usual; pytest's
``--junitxml`` writes the JUnit XML. Run directories go under ``--understudy-output``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from understudy.scenarios.expect import ScenarioResult
    from understudy.scenarios.load import Suite
    from understudy.scenarios.model import Scenario


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("understudy", "understudy regression suites")
    group.addoption(
        "--understudy-suite",
        metavar="SUITE",
        help="Run this suite's scenarios as tests: a shipped suite's name or a suite folder.",
    )
    group.addoption(
        "--understudy-model",
        metavar="MODEL",
        help="The candidate model (scripted:honest / scripted:dishonest are built in).",
    )
    group.addoption("--understudy-base-url", metavar="URL", help="The candidate's endpoint.")
    group.addoption(
        "--understudy-api-key-env",
        default="OPENAI_API_KEY",
        metavar="NAME",
        help="Environment variable holding the endpoint's key.",
    )
    group.addoption("--understudy-samples", type=int, metavar="N", help="Rollouts per scenario.")
    group.addoption(
        "--understudy-sandbox", default="auto", metavar="BACKEND", help="auto, docker or local."
    )
    group.addoption("--understudy-run-id", metavar="ID", help="Label of the scenarios' containers.")
    group.addoption(
        "--understudy-output",
        metavar="DIR",
        help="Where run directories go (default: runs/pytest-suite-NAME-TIME).",
    )


class ScenarioFailed(Exception):
    """An expectation of the scenario did not hold."""


class ScenarioItem(pytest.Item):
    """One scenario of a suite."""

    def __init__(self, *, suite: Suite, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.scenario = scenario
        self.result: ScenarioResult | None = None

    def setup(self) -> None:
        from understudy.scenarios.run import default_judges, run_suite

        settings = self.config.stash[_SETTINGS]
        output = self.config.stash[_OUTPUT] / self.scenario.name
        results = asyncio.run(
            run_suite(self.suite, [self.scenario], settings, output, default_judges)
        )
        self.result = results[0]
        self.user_properties.append(("run_dir", self.result.run_dir))
        if self.result.status == "error":
            raise RuntimeError("; ".join(self.result.errors))

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.status != "passed":
            raise ScenarioFailed(self.result)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed) and self.result is not None:
            lines = [f"scenario {self.scenario.name}: {self.scenario.description.strip()}"]
            for check in self.result.failures:
                lines.append(f"FAILED {check.expectation}: {check.detail}")
                lines += [f"    {line}" for line in check.evidence]
            lines.append(f"run directory: {self.result.run_dir}")
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.suite.files[self.scenario.name], None, f"understudy scenario {self.name}"


class SuiteCollector(pytest.Collector):
    """The scenarios of the suite given on the command line."""

    def __init__(self, *, suite: Suite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite

    def collect(self) -> list[pytest.Item]:
        return [
            ScenarioItem.from_parent(self, name=scenario.name, suite=self.suite, scenario=scenario)
            for scenario in self.suite.scenarios
        ]


_SETTINGS = pytest.StashKey[Any]()
_OUTPUT = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("understudy_suite")
    if not name:
        return
    from understudy.scenarios.run import SuiteRunSettings

    model = config.getoption("understudy_model")
    if not model:
        raise pytest.UsageError("--understudy-suite needs --understudy-model")
    config.stash[_SETTINGS] = SuiteRunSettings(
        model=model,
        base_url=config.getoption("understudy_base_url"),
        api_key_env=config.getoption("understudy_api_key_env"),
        samples=config.getoption("understudy_samples"),
        backend=config.getoption("understudy_sandbox"),
        parallel=1,
        run_id=config.getoption("understudy_run_id"),
    )
    output = config.getoption("understudy_output")
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    default = Path("runs") / f"pytest-suite-{Path(name).name}-{stamp}"
    config.stash[_OUTPUT] = Path(output) if output else default


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect, so that they apply to scenarios
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    name = config.getoption("understudy_suite")
    if not name:
        return
    from understudy.errors import UnderstudyError
    from understudy.scenarios.load import load_suite

    try:
        suite = load_suite(name)
    except UnderstudyError as error:
        raise pytest.UsageError(f"--understudy-suite {name}: {error}") from None
    collector = SuiteCollector.from_parent(
        session, name=suite.name, nodeid=f"understudy::{suite.name}", suite=suite
    )
    items.extend(collector.collect())
