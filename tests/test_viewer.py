"""The run viewer, in a real browser: Debian's chromium driven by Playwright.

The run directory holds the real sessions of ``../shared/trajectories`` continued by their own
logged turns and judged by the rule judges, plus an errored rollout. Tests open the static
report from disk (and the served one over 127.0.0.1), wait for its scripts, and query the DOM:
the rates chart, the table and its filters, a deep link to a flagged message with its evidence
highlighted, the side-by-side view, the keys. A screenshot is kept as an artifact
(``UNDERSTUDY_ARTIFACTS``, else the test's tmp dir). Without chromium the tests skip, unless
``UNDERSTUDY_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from understudy.errors import ConfigError
from understudy.judges.view import ViewServer, load_view, write_report
from understudy.judges.view.samples import recorded_run, synthetic_run
from understudy.replay.importers import import_paths
from understudy.trajectory import Judgment, Session

TRAJECTORIES = Path(__file__).resolve().parents[1].parent / "shared" / "trajectories"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("UNDERSTUDY_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if CHROMIUM is None or sync_playwright is None:
        reason = "no chromium (apt install chromium) or no playwright"
        if REQUIRED:
            pytest.fail(f"{reason} (UNDERSTUDY_REQUIRE_BROWSER=1, so this fails)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def sessions() -> list[Session]:
    """The shared real sessions, and one of them whose script run was denied: its recorded
    reply ("ran it successfully") is then a lie the rules flag."""
    real = [session for _, session in import_paths([TRAJECTORIES])]
    hello = next(s for s in real if s.messages and "hello.sh" in s.messages[0].content)
    denied = hello.model_copy(deep=True, update={"id": hello.id + "-denied"})
    denied.messages = denied.messages[:6]  # up to its first reply, before the stop hook
    run = next(
        i for i, m in enumerate(denied.messages) if m.role == "tool" and "Hello" in m.content
    )
    denied.messages[run].content = "bash: /tmp/tmp74wiyiny/hello.sh: Permission denied"
    denied.messages[run].meta["exit_code"] = 126
    return [*real, denied]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, sessions: list[Session]) -> Path:
    return recorded_run(tmp_path_factory.mktemp("viewer") / "run", sessions)


@pytest.fixture(scope="module")
def report(run_dir: Path) -> Path:
    return write_report(load_view(run_dir), run_dir / "report.html")


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    return page


def flagged_judgments(run_dir: Path) -> list[Judgment]:
    lines = (run_dir / "judgments.jsonl").read_text().splitlines()
    return [j for j in (Judgment.model_validate_json(line) for line in lines) if j.flagged]


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("UNDERSTUDY_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_overview_draws_rates_errors_and_provenance(
    browser: Any, report: Path, run_dir: Path, sessions: list[Session], tmp_path: Path
) -> None:
    page = open_page(browser, report.as_uri())
    assert page.errors == []
    summary = load_view(run_dir).overview["summary"]
    categories = {row["category"]: row for row in summary["rows"] if row["judge"] == "any"}
    bars = page.locator("#rates g.rate-row")
    assert bars.count() == len(categories)
    flagged = {j.category for j in flagged_judgments(run_dir)}
    assert flagged, "the real logs hold something the rules flag"
    for category in flagged:
        row = page.locator(f'#rates g.rate-row[data-category="{category}"]')
        assert row.get_attribute("data-k") == str(categories[category]["k"])
        assert row.locator("rect.bar-candidate").count() == 1
        assert row.locator("line.whisker").count() == 1
    # The errored rollout is counted apart, not in any n.
    assert page.inner_text("#errors-card .big") == "1"
    assert all(row["n"] == len(sessions) for row in categories.values())
    kinds = load_view(run_dir).overview["provenance"]
    assert kinds and page.locator("#provbar span").count() == len(kinds)
    assert page.inner_text("#count").startswith(
        f"{len(sessions) + 1} of {len(sessions) + 1} rollouts"
    )
    shot = artifacts(tmp_path) / "viewer-overview.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_filters_search_and_sorting(browser: Any, report: Path, run_dir: Path) -> None:
    page = open_page(browser, report.as_uri())
    flagged = flagged_judgments(run_dir)
    category = flagged[0].category
    with_category = {j.target_id for j in flagged if j.category == category}
    page.select_option("#f-category", category)
    assert page.locator("#rows .row").count() == len(with_category)
    assert {
        page.locator("#rows .row").nth(i).get_attribute("data-id")
        for i in range(len(with_category))
    } == with_category
    page.select_option("#f-category", "")
    page.select_option("#f-status", "error")
    assert page.locator("#rows .row").count() == 1
    assert "environment" in page.inner_text("#rows .row")
    page.select_option("#f-status", "")
    page.fill("#f-search", "django")
    ids = page.locator("#rows .row").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids and all("django" in row_id for row_id in ids)
    page.fill("#f-search", "")
    page.click('#thead span[data-key="turns"]')
    page.click('#thead span[data-key="turns"]')  # descending
    turns = page.locator("#rows .row span:nth-child(6)").all_inner_texts()
    assert [int(t) for t in turns] == sorted((int(t) for t in turns), reverse=True)
    page.close()


def test_a_deep_link_opens_the_flagged_message_with_its_evidence(
    browser: Any, report: Path, run_dir: Path, sessions: list[Session]
) -> None:
    judgment = flagged_judgments(run_dir)[0]
    evidence = judgment.evidence[0]
    url = f"{report.as_uri()}#/r/{quote(judgment.target_id, safe='')}/m/{evidence.message_index}"
    page = open_page(browser, url)
    target = page.locator(f"#m-{evidence.message_index}")
    assert "target" in (target.get_attribute("class") or "")
    assert "flagged" in (target.get_attribute("class") or "")
    assert judgment.rationale[:40] in target.inner_text()
    marks = target.locator("mark.evidence").all_inner_texts()
    calls = target.locator(".call").all_inner_texts()
    assert evidence.quote in marks or any(evidence.quote in call for call in calls)
    session_id = judgment.target_id.split("@")[0]
    session = next(s for s in sessions if s.id == session_id)
    cut = int(judgment.target_id.split("@")[1].split("#")[0])
    assert page.locator(".msg.prefix").count() == cut
    assert page.locator("#cut").count() == 1
    assert f"understudy reproduce {run_dir}" in page.inner_text("#reproduce")
    # Side by side with the session's own continuation (here the same turns).
    assert page.locator("#other .msg").count() == len(session.messages) - cut
    page.select_option("#compare", "none")
    page.wait_for_function("!document.querySelector('#side-by-side')")
    assert page.errors == []
    page.close()


def test_keys_step_through_flagged_rollouts_and_messages(
    browser: Any, report: Path, run_dir: Path
) -> None:
    page = open_page(browser, report.as_uri())
    page.keyboard.press("j")
    page.wait_for_selector("#panel h2")
    first = page.inner_text("#panel h2")
    assert first in {j.target_id for j in flagged_judgments(run_dir)}
    page.keyboard.press("n")
    page.wait_for_selector(".msg.target")
    at = page.locator(".msg.target").get_attribute("data-index")
    page.keyboard.press("n")
    page.wait_for_function(f"document.querySelector('.msg.target').dataset.index !== '{at}'")
    page.keyboard.press("Escape")
    page.wait_for_selector("#panel", state="hidden")
    page.close()


def test_text_that_looks_like_markup_stays_text(
    browser: Any, tmp_path: Path, sessions: list[Session]
) -> None:
    session = sessions[0].model_copy(deep=True)
    hostile = "</script><script>document.body.dataset.pwned='1'</script><b>bold</b> {script}"
    session.messages[-1].content = hostile
    run = recorded_run(tmp_path / "run", [session])
    page = open_page(browser, write_report(load_view(run), run / "report.html").as_uri())
    page.keyboard.press("Escape")
    row_id = page.locator("#rows .row").first.get_attribute("data-id")
    page.evaluate(f"location.hash = '#/r/{quote(row_id or '', safe='')}'")
    page.wait_for_selector("#panel .msg")
    assert page.get_attribute("body", "data-pwned") is None
    assert hostile in page.inner_text("#panel")
    page.close()


def test_the_served_viewer_loads_rollouts_on_demand(browser: Any, run_dir: Path) -> None:
    view = load_view(run_dir)
    with ViewServer(view) as server:
        page = open_page(browser, server.url)
        assert page.locator("#rows .row").count() == len(view.index)
        assert not page.locator("#us-docs").count()  # nothing embedded: asked for
        row_id = view.index[0]["id"]
        with page.expect_response(lambda r: "api/rollout" in r.url) as answer:
            page.evaluate(f"location.hash = '#/r/{quote(row_id, safe='')}'")
        assert answer.value.ok
        page.wait_for_selector("#panel .msg")
        assert page.inner_text("#panel h2") == row_id
        assert page.errors == []
        page.close()


def test_model_against_model_side_by_side(
    browser: Any, tmp_path: Path, sessions: list[Session]
) -> None:
    mine = recorded_run(tmp_path / "a", sessions[:3], model="model-a")
    theirs = recorded_run(tmp_path / "b", sessions[:3], model="model-b")
    page = open_page(browser, write_report(load_view(mine, theirs), mine / "r.html").as_uri())
    row_id = load_view(mine).index[0]["id"]
    page.evaluate(f"location.hash = '#/r/{quote(row_id, safe='')}'")
    page.wait_for_selector("#compare")
    other = f"other:{row_id}"
    page.select_option("#compare", other)
    page.wait_for_function("document.querySelector('#other h4').textContent.includes('model-b')")
    assert "candidate: model-a" in page.inner_text("#side-by-side")
    page.close()


def test_a_large_run_keeps_the_table_virtual(browser: Any, tmp_path: Path) -> None:
    run = synthetic_run(tmp_path / "large", rollouts=3000, sessions=100)
    report = write_report(load_view(run), run / "report.html")
    page = open_page(browser, report.as_uri())
    assert page.inner_text("#count").startswith("3000 of 3000 rollouts")
    assert "clustered by session" in page.inner_text("#chart")  # 30 samples per session
    assert page.locator("#rows .row").count() < 80  # only the rows in view are in the DOM
    page.locator("#rows").evaluate("box => { box.scrollTop = 28 * 2500; }")
    page.wait_for_function(
        "[...document.querySelectorAll('#rows .row')].some(r => parseInt(r.style.top) >= 70000)"
    )
    page.select_option("#f-category", "__flagged")
    shown = int(page.inner_text("#count").split(" of ")[0])
    flagged = {r["id"] for r in load_view(run).index if r["flags"]}
    assert shown == len(flagged)
    page.close()


def test_view_data_counts_and_documents(run_dir: Path, sessions: list[Session]) -> None:
    view = load_view(run_dir)
    assert len(view.index) == len(sessions) + 1
    assert set(view.sessions) == {session.id for session in sessions}
    errored = [row for row in view.index if row["status"] == "error"]
    assert len(errored) == 1 and errored[0]["error_kind"] == "environment"
    assert view.overview["errors"] == {"environment": 1}
    flagged_ids = {j.target_id for j in flagged_judgments(run_dir)}
    assert {row["id"] for row in view.index if row["flags"]} == flagged_ids
    document = view.rollouts[next(iter(flagged_ids))]
    assert document["judgments"] and document["reproduce"].startswith("understudy reproduce")
    json.dumps(document)  # JSON-ready


def test_an_unjudged_run_is_shown_and_a_non_run_is_refused(
    tmp_path: Path, sessions: list[Session]
) -> None:
    run = recorded_run(tmp_path / "run", sessions[:2])
    (run / "judgments.jsonl").unlink()
    view = load_view(run)
    assert view.overview["summary"] is None and view.overview["judged"] is False
    assert all(row["flags"] == [] for row in view.index)
    with pytest.raises(ConfigError, match="not a run directory"):
        load_view(tmp_path)


def test_the_baseline_is_drawn_beside_the_candidate(
    browser: Any, tmp_path: Path, sessions: list[Session]
) -> None:
    run = recorded_run(tmp_path / "run", sessions)
    # The original model judged on the same turns: its verdicts, targeted at the sessions.
    lines = (run / "judgments.jsonl").read_text().splitlines()
    baseline = [Judgment.model_validate_json(line) for line in lines]
    for judgment in baseline:
        judgment.target_id = judgment.target_id.split("@")[0]
    (run / "baseline_judgments.jsonl").write_text(
        "".join(j.model_dump_json() + "\n" for j in baseline)
    )
    page = open_page(browser, write_report(load_view(run), run / "report.html").as_uri())
    rows = page.locator("#rates g.rate-row")
    assert rows.count() > 0
    assert page.locator("#rates rect.bar-baseline, #rates text.none").count() >= rows.count()
    assert "baseline" in page.inner_text("#chart")
    page.close()


def test_session_provenance_and_fidelity_filters(browser: Any, tmp_path: Path) -> None:
    run = synthetic_run(tmp_path / "run", rollouts=400, sessions=40, seed=3)
    view = load_view(run)
    page = open_page(browser, write_report(view, run / "report.html").as_uri())

    def shown() -> int:
        return int(page.inner_text("#count").split(" of ")[0])

    page.fill("#f-session", "session-00007")
    assert shown() == sum(row["session"] == "session-00007" for row in view.index)
    page.fill("#f-session", "")
    page.select_option("#f-prov", "simulated")
    assert shown() == sum(bool(row["prov"].get("simulated")) for row in view.index)
    page.select_option("#f-prov", "")
    page.select_option("#f-fidelity", "partial")
    partial = sum(row["fidelity"] is not None and row["fidelity"] < 1 for row in view.index)
    assert 0 < shown() == partial
    page.close()
