"""The viewer at size: open and filter times, page size and the tab's memory for generated runs
of 1,000 and 10,000 rollouts (``--sizes``). Prints one JSON object of figures.

For each size a run directory is generated (``understudy.judges.view.samples.synthetic_run``:
2 to 6 tool calls per rollout, 3 categories judged, about 4% flagged each, 2% errored), its
report written (timed), then opened in the system's chromium through Playwright, median of
``--repeat`` fresh pages:

- ``write_s``: building the page from the run directory;
- ``html_mb``: the page's size on disk (every document gzip-compressed on its own);
- ``open_ms``: from navigation to the table drawn (``body[data-ready]``), the page's own clock;
- ``filter_ms``: selecting "any category flagged", until the count is redrawn;
- ``search_ms``: typing a session id into the search box, likewise;
- ``open_rollout_ms``: opening one trajectory (decompressing its documents);
- ``scroll_ms``: jumping to the end of the table, until its rows are drawn;
- ``rows_in_dom``: table rows in the DOM at once (the list is virtual);
- ``js_heap_mb``: the tab's used JavaScript heap after all of that.

Usage: python bench/viewer.py [--sizes 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from understudy.judges.view import load_view, write_report
from understudy.judges.view.samples import synthetic_run


def measure_page(browser: Any, url: str, probe_id: str) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=120_000)
    figures: dict[str, float] = {"open_ms": float(page.get_attribute("body", "data-open-ms") or 0)}
    figures["filter_ms"] = page.evaluate(
        """() => { const t = performance.now(); const s = document.querySelector('#f-category');
        s.value = '__flagged'; s.dispatchEvent(new Event('change'));
        return performance.now() - t; }"""
    )
    page.select_option("#f-category", "")
    figures["search_ms"] = page.evaluate(
        """(id) => { const t = performance.now(); const box = document.querySelector('#f-search');
        box.value = id; box.dispatchEvent(new Event('input')); return performance.now() - t; }""",
        probe_id.split("@")[0],
    )
    page.fill("#f-search", "")
    started = time.perf_counter()
    page.evaluate(f"location.hash = '#/r/{probe_id.replace('#', '%23')}'")
    page.wait_for_selector("#panel .msg")
    figures["open_rollout_ms"] = (time.perf_counter() - started) * 1000
    page.evaluate("location.hash = ''")
    started = time.perf_counter()
    page.locator("#rows").evaluate("box => { box.scrollTop = box.scrollHeight; }")
    page.wait_for_function(
        "(() => { const rows = [...document.querySelectorAll('#rows .row')];"
        " const box = document.querySelector('#rows');"
        " return rows.some(r => parseInt(r.style.top) > box.scrollHeight - 2000); })()"
    )
    figures["scroll_ms"] = (time.perf_counter() - started) * 1000
    figures["rows_in_dom"] = page.locator("#rows .row").count()
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    figures["js_heap_mb"] = metrics.get("JSHeapUsedSize", 0) / 1e6
    page.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("no chromium on this machine (apt install chromium)")
    from playwright.sync_api import sync_playwright

    figures: dict[str, Any] = {"browser": chromium, "sizes": {}}
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        figures["browser_version"] = browser.version
        for size in args.sizes:
            run = synthetic_run(
                Path(scratch) / f"run-{size}", rollouts=size, sessions=max(1, size // 5)
            )
            started = time.perf_counter()
            report = write_report(load_view(run), run / "report.html")
            write_s = time.perf_counter() - started
            probe = json.loads((run / "rollouts.jsonl").read_text().splitlines()[-1])["id"]
            runs = [measure_page(browser, report.as_uri(), probe) for _ in range(args.repeat)]
            row: dict[str, float] = {
                "write_s": round(write_s, 2),
                "html_mb": round(report.stat().st_size / 1e6, 2),
            }
            for key in runs[0]:
                row[key] = round(statistics.median(r[key] for r in runs), 1)
            figures["sizes"][str(size)] = row
            print(f"{size}: {row}", file=sys.stderr)
        browser.close()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
