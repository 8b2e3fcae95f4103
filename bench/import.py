"""Import throughput: a >= 100 MB synthetic concatenation of the sample logs, imported whole.

Builds, in a temporary directory, many copies of every sample log in tests/data/trajectories
(each copy a separate file, as a directory of real logs would be) plus one large native
``sessions.jsonl`` made of the native sample's lines repeated -- the streaming case -- until
the total reaches the target size. Then it imports the directory with auto-detection and
de-identification (the defaults of ``understudy import``) and prints one JSON object:

    {"input_mb", "files", "sessions", "messages", "seconds", "sessions_per_s", "mb_per_s",
     "peak_rss_mb", "peak_traced_mb" (with --tracemalloc), "redactions", "errors", ...}

``peak_rss_mb`` is the process's peak resident set size (``resource.getrusage``), measured
after the input was written; ``--tracemalloc`` adds the peak of Python allocations during the
import (slower). Usage: ``python bench/import.py [--mb 100] [--no-redact] [--tracemalloc]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from understudy.replay.importers import ImportReport, import_paths

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "trajectories"


def build(root: Path, target_bytes: int) -> tuple[int, int]:
    """Write the synthetic input under ``root``; return (files, bytes)."""
    samples = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix != ".md")
    native_lines = (DATA / "native" / "sessions.jsonl").read_bytes().splitlines(keepends=True)
    files = written = 0
    # A quarter of the input as one big native file: it must stream, not load whole.
    big = root / "native-big" / "sessions.jsonl"
    big.parent.mkdir(parents=True)
    with big.open("wb") as handle:
        while written < target_bytes // 4:
            for line in native_lines:
                handle.write(line)
                written += len(line)
    files += 1
    copy = 0
    while written < target_bytes:
        folder = root / f"copy-{copy:04d}"
        for sample in samples:
            target = folder / sample.parent.name / sample.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sample, target)  # env sidecars included
            written += sample.stat().st_size
            files += 1
        copy += 1
    return files, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="input size (default 100)")
    parser.add_argument("--no-redact", action="store_true", help="skip de-identification")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="understudy-bench-import-") as tmp:
        root = Path(tmp)
        files, size = build(root, int(args.mb * 1024 * 1024))
        rss_before = _rss_mb()
        if args.tracemalloc:
            tracemalloc.start()
        reports: dict[Path, ImportReport] = {}
        sessions = messages = 0
        started = time.perf_counter()
        for _, session in import_paths([root], redact=not args.no_redact, reports=reports):
            sessions += 1
            messages += len(session.messages)
        seconds = time.perf_counter() - started
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
        if args.tracemalloc:
            tracemalloc.stop()
        redactions: Counter[str] = Counter()
        for report in reports.values():
            redactions.update(report.redactions)
        errors = [report.error for report in reports.values() if report.error]
        figures = {
            "input_mb": round(size / 2**20, 1),
            "files": files,
            "sessions": sessions,
            "messages": messages,
            "seconds": round(seconds, 2),
            "sessions_per_s": round(sessions / seconds, 1),
            "mb_per_s": round(size / 2**20 / seconds, 2),
            "peak_rss_mb": round(_rss_mb(), 1),
            "rss_before_import_mb": round(rss_before, 1),
            "peak_traced_mb": None if traced is None else round(traced, 1),
            "redact": not args.no_redact,
            "redactions": dict(sorted(redactions.items())),
            "errors": len(errors),
        }
    print(json.dumps(figures))
    return 0 if not errors else 1


def _rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


if __name__ == "__main__":
    raise SystemExit(main())
