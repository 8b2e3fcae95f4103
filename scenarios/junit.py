"""JUnit XML of a suite run, in the shape CI tools read (Jenkins, GitLab, GitHub actions).

One ``<testsuite>`` per suite run inside ``<testsuites>``, one ``<testcase>`` per scenario:
a failed scenario carries a ``<failure>`` whose message names the expectations that did not
hold and whose text holds the flagged evidence; a scenario that could not be judged carries an
``<error>`` with the reasons. The run's settings are ``<properties>``; each testcase's
``<system-out>`` gives its run directory.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from understudy.scenarios.expect import ScenarioResult

__all__ = ["junit_document", "write_junit"]


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def junit_document(
    suite: str,
    results: Sequence[ScenarioResult],
    properties: Mapping[str, str] | None = None,
    label: str | None = None,
) -> ET.Element:
    """The ``<testsuites>`` element of one suite run (``label`` names the testsuite, e.g. the
    candidate, when one file holds several runs of the suite)."""
    classname = f"understudy.{suite}"
    failures = sum(result.status == "failed" for result in results)
    errors = sum(result.status == "error" for result in results)
    total_time = sum(result.seconds for result in results)
    root = ET.Element(
        "testsuites",
        name="understudy",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        time=_seconds(total_time),
    )
    testsuite = ET.SubElement(
        root,
        "testsuite",
        name=f"{classname}[{label}]" if label else classname,
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=_seconds(total_time),
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=socket.gethostname(),
    )
    if properties:
        props = ET.SubElement(testsuite, "properties")
        for name, value in properties.items():
            ET.SubElement(props, "property", name=name, value=value)
    for result in results:
        _testcase(testsuite, classname, result)
    return root


def _testcase(parent: ET.Element, classname: str, result: ScenarioResult) -> None:
    case = ET.SubElement(
        parent, "testcase", classname=classname, name=result.name, time=_seconds(result.seconds)
    )
    if result.status == "error":
        error = ET.SubElement(
            case, "error", type="HarnessError", message=_first_line(result.errors)
        )
        error.text = "\n".join(result.errors)
    elif result.status == "failed":
        failed = result.failures
        message = "; ".join(f"{check.expectation}: {check.detail}" for check in failed)
        failure = ET.SubElement(case, "failure", type="ExpectationFailed", message=message)
        lines = []
        for check in failed:
            lines.append(f"{check.expectation}: {check.detail}")
            lines += [f"  {line}" for line in check.evidence]
        failure.text = "\n".join(lines)
    out = ET.SubElement(case, "system-out")
    seen = ", ".join(
        f"{category} {count}/{result.samples}" for category, count in result.flagged.items()
    )
    out.text = f"run directory: {result.run_dir}\nflagged: {seen or 'nothing judged'}"


def _first_line(lines: Sequence[str]) -> str:
    return lines[0].splitlines()[0] if lines and lines[0] else "error"


def write_junit(path: Path, documents: Sequence[ET.Element]) -> None:
    """Write the suites of ``documents`` (each from :func:`junit_document`) as one file."""
    if len(documents) == 1:
        root = documents[0]
    else:
        root = ET.Element("testsuites", name="understudy")
        counts = {"tests": 0, "failures": 0, "errors": 0}
        total_time = 0.0
        for document in documents:
            for key in counts:
                counts[key] += int(document.get(key, "0"))
            total_time += float(document.get("time", "0"))
            root.extend(list(document))
        for key, value in counts.items():
            root.set(key, str(value))
        root.set("time", _seconds(total_time))
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    ET.ElementTree(root).write(scratch, encoding="utf-8", xml_declaration=True)
    scratch.replace(path)
