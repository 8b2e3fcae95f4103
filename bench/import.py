"""Import throughput and memory: >= 100 MB synthetic inputs built from the sample logs.

The cases, each imported with auto-detection and de-identification (the defaults of
``understudy import``) in a process of its own, so that each has its own peak memory:

* ``mixed`` -- a directory of many copies of every sample log in tests/data/trajectories
  (each copy a separate file, as a directory of real logs would be) plus one large native
  ``sessions.jsonl`` made of the native sample's lines repeated (JSONL streaming), until the
  total reaches ``--mb``;
* ``json_list`` -- one JSON document of ``--json-list-mb``: a list of conversations in the
  OpenAI format, one per line, as ``understudy export --format openai out.json`` writes one:
  the sessions of every sample log (SWE-agent, mini-swe-agent, OpenHands, Claude Code, Codex,
  inspect, ATIF, OpenAI; 0.1-120 KB each) repeated, each copy with an id of its own. It must
  stream entry by entry: its peak memory has to stay far below the file's size (``bounded``:
  the growth is under a quarter of it, or under 8 MB for small runs);
* ``json_list_small`` -- the same size of the OpenAI samples' tiny conversations (0.7 KB,
  five messages each) repeated: a figure of sessions per second, where the cost of each
  session (its models built, its strings searched) outweighs its bytes; it has no goal;
* ``real_logs`` -- the real agents' logs themselves (../shared/trajectories, else their
  copies in tests/data/trajectories; about 1 MB), imported once per process: what a first
  import of real logs runs at, every string new to the caches; no goal (too small a sample).

In ``mixed`` and ``json_list`` each copy's text is its own (:func:`distinct`): every string of
40 characters or more with a space or a newline gets the copy's number. In the JSON list the
system messages and tool descriptions are kept, as one agent's logs share them; in the mixed
logs they are made distinct too (no one field holds them in every format), so that case errs
on the slow side. Ids, paths and short strings repeat. (Exact copies measured
de-identification's caches more than its work: 63 MB/s where distinct copies give 53.)

Prints one JSON object, ``{"mixed": {...}, "json_list": {...}, "json_list_small": {...},
"real_logs": {...}}``,
each with

    {"input_mb", "files", "sessions", "messages", "seconds", "sessions_per_s", "mb_per_s",
     "peak_rss_mb", "rss_before_import_mb", "rss_growth_mb", "peak_traced_mb" (with
     --tracemalloc), "redactions", "errors", ..., "goals": {"mb_per_s": ...}}

``peak_rss_mb`` is the importing process's peak resident set size (``resource.getrusage``);
``rss_before_import_mb`` is it just before the import (the interpreter and libraries), and
``rss_growth_mb`` the difference. ``goals.mb_per_s`` compares ``mb_per_s`` with the goal of
50 MB/s (:func:`goals.goal_figure`), for ``mixed`` and ``json_list``. ``--tracemalloc`` adds
the peak of Python allocations during the import (slower). Exits with 1 on import errors or an
unbounded JSON list.

Each input is imported ``--repeats`` times (3), each in a fresh process; the figures are those
of the run of median MB/s, with every run's MB/s in ``mb_per_s_runs`` and the highest peak
memory.

Usage: ``python bench/import.py [--mb 100] [--json-list-mb 100] [--repeats 3]
[--case all|mixed|json_list|json_list_small|real_logs] [--no-redact] [--tracemalloc]``;
``--mb 5 --json-list-mb 5`` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from goals import goal_figure  # beside this script
from real_logs import default_data

from understudy.replay.export import export_sessions, to_openai
from understudy.replay.importers import IMPORTERS, ImportReport, get_importer, import_paths
from understudy.trajectory import Session

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "trajectories"
MB_PER_S_GOAL = 50.0
"""Import throughput goal, for each case (``goals.mb_per_s``)."""


def build(root: Path, target_bytes: int) -> tuple[int, int]:
    """Write the synthetic input under ``root``; return (files, bytes). Each copy of a log is
    made distinct (see :func:`distinct`)."""
    samples = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix != ".md")
    native_lines = (DATA / "native" / "sessions.jsonl").read_bytes().splitlines(keepends=True)
    files = written = 0
    # A quarter of the input as one big native file: it must stream, not load whole.
    big = root / "native-big" / "sessions.jsonl"
    big.parent.mkdir(parents=True)
    with big.open("wb") as handle:
        copy = 0
        while written < target_bytes // 4:
            for line in native_lines:
                data = distinct_line(line, copy)
                handle.write(data)
                written += len(data)
            copy += 1
    files += 1
    copy = 0
    while written < target_bytes:
        folder = root / f"copy-{copy:04d}"
        for sample in samples:
            target = folder / sample.parent.name / sample.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(distinct_file(sample, copy))  # env sidecars included
            written += target.stat().st_size
            files += 1
        copy += 1
    return files, written


def distinct(value: Any, copy: int) -> Any:
    """``value`` with the text of each copy made its own: every string value (keys aside) of
    40 characters or more that holds a space or a newline -- outputs, messages, prompts, not
    ids, paths or JSON held in a string -- gets `` [copy N]`` at its end. Real logs' outputs
    and messages are their own; copies that repeat every string would let the caches of
    de-identification (what it found in a string it saw before) do nearly all the work."""
    if isinstance(value, dict):
        return {key: distinct(item, copy) for key, item in value.items()}
    if isinstance(value, list):
        return [distinct(item, copy) for item in value]
    if (
        isinstance(value, str)
        and len(value) >= 40
        and (" " in value or "\n" in value)
        and not value.lstrip().startswith(("{", "["))
    ):
        return f"{value} [copy {copy}]"
    return value


def distinct_line(line: bytes, copy: int) -> bytes:
    """A JSONL line made :func:`distinct` (kept as it is when it is not JSON)."""
    try:
        value = json.loads(line)
    except ValueError:
        return line
    return json.dumps(distinct(value, copy), ensure_ascii=False).encode() + b"\n"


def distinct_file(path: Path, copy: int) -> bytes:
    """The bytes of a copy of the log ``path``, made :func:`distinct`: a JSON document or JSONL
    file, line by line; any other file (inspect's zip archives, text) as it is."""
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        return b"".join(distinct_line(line, copy) for line in data.splitlines(keepends=True))
    if path.suffix not in (".json", ".traj"):
        return data
    try:
        value = json.loads(data)
    except ValueError:
        return data
    indented = b"\n" in data.strip()[:200]
    return json.dumps(distinct(value, copy), indent=2 if indented else None).encode()


def copy_real_logs(root: Path) -> tuple[int, int]:
    """Copy the real agents' logs (``real_logs.default_data``: ../shared/trajectories, else
    the copies in tests/data/trajectories) under ``root``, notes aside; return (files, bytes)."""
    files = written = 0
    data, paths = default_data()
    for path in paths:
        for source in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix != ".md"):
            target = root / source.relative_to(data)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            files += 1
            written += target.stat().st_size
    return files, written


def build_json_list(path: Path, target_bytes: int) -> tuple[int, int]:
    """Write one JSON list of about ``target_bytes`` of the sample logs' sessions in the OpenAI
    format, streamed by the exporter (never whole in memory); return (files, bytes)."""
    sessions = [session for _, session in import_paths([DATA], redact=False)]
    sizes = [len(json.dumps(to_openai(session))) + 2 for session in sessions]

    def copies() -> Iterator[Session]:
        written, copy = 0, 0
        while written < target_bytes:
            for session, size in zip(sessions, sizes, strict=True):
                messages = [
                    message.model_copy(update={"content": distinct(message.content, copy)})
                    if message.role != "system"
                    else message
                    for message in session.messages
                ]
                yield session.model_copy(
                    update={"id": f"{session.id}-{copy}", "messages": messages}
                )
                written += size
            copy += 1

    export_sessions(copies(), "openai", path)
    return 1, path.stat().st_size


def build_small_json_list(path: Path, target_bytes: int) -> tuple[int, int]:
    """Write one JSON list of the OpenAI samples' small conversations of about
    ``target_bytes``, entry by entry (never whole in memory); return (files, bytes)."""
    openai = DATA / "openai"
    entries = [json.loads((openai / "fix-typo.json").read_text())]
    for line in (openai / "conversations.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if isinstance(entry, dict):
            entry.pop("id", None)  # ids come from the position: all distinct
        entries.append(entry)
    encoded = [json.dumps(entry).encode() for entry in entries]
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("wb") as handle:
        handle.write(b"[\n")
        while written < target_bytes:
            for number, data in enumerate(encoded):
                handle.write(data if written == 0 and number == 0 else b",\n" + data)
                written += len(data) + 2
        handle.write(b"\n]\n")
    return 1, path.stat().st_size


def measure(root: Path, files: int, size: int, redact: bool, trace: bool) -> dict[str, Any]:
    """Import everything under ``root`` and return the figures (in this process)."""
    for name in IMPORTERS.names():  # load every importer's code first: not the import's cost
        get_importer(name)
    rss_before = _rss_mb()
    if trace:
        tracemalloc.start()
    reports: dict[Path, ImportReport] = {}
    sessions = messages = 0
    started = time.perf_counter()
    for _, session in import_paths([root], redact=redact, reports=reports):
        sessions += 1
        messages += len(session.messages)
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    if trace:
        tracemalloc.stop()
    redactions: Counter[str] = Counter()
    for report in reports.values():
        redactions.update(report.redactions)
    errors = [report.error for report in reports.values() if report.error]
    peak = _rss_mb()
    return {
        "input_mb": round(size / 2**20, 1),
        "files": files,
        "sessions": sessions,
        "messages": messages,
        "seconds": round(seconds, 2),
        "sessions_per_s": round(sessions / seconds, 1),
        "mb_per_s": round(size / 2**20 / seconds, 2),
        "peak_rss_mb": round(peak, 1),
        "rss_before_import_mb": round(rss_before, 1),
        "rss_growth_mb": round(peak - rss_before, 1),
        "peak_traced_mb": None if traced is None else round(traced, 1),
        "redact": redact,
        "redactions": dict(sorted(redactions.items())),
        "errors": len(errors),
        "first_errors": errors[:3],
        "goals": {"mb_per_s": goal_figure(size / 2**20 / seconds, MB_PER_S_GOAL, "MB/s")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="mixed input size (100)")
    parser.add_argument(
        "--json-list-mb", type=float, default=100.0, help="size of the one JSON list (100)"
    )
    parser.add_argument("--case", choices=["all", *CASES], default="all")
    parser.add_argument(
        "--repeats", type=int, default=3, help="imports of each input, each in a process of its own"
    )
    parser.add_argument("--no-redact", action="store_true", help="skip de-identification")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations")
    # Internal: import an input already built, in this process, and print its figures.
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:
        redact = not args.no_redact
        print(json.dumps(measure(args.measure, args.files, args.size, redact, args.tracemalloc)))
        return 0

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="understudy-bench-import-") as tmp:
        for case in CASES if args.case == "all" else [args.case]:
            root = Path(tmp) / case
            root.mkdir()
            if case == "mixed":
                files, size = build(root, int(args.mb * 2**20))
            elif case == "real_logs":
                files, size = copy_real_logs(root)
            else:
                build_list = build_json_list if case == "json_list" else build_small_json_list
                files, size = build_list(root / "chats.json", int(args.json_list_mb * 2**20))
            runs = [_measure_in_child(root, files, size, args) for _ in range(args.repeats)]
            results[case] = _median_run(runs)
            shutil.rmtree(root)
    failed = False
    for case in ("json_list", "json_list_small"):
        if case in results:
            figures = results[case]
            # Streaming keeps the growth to a few entries' worth; reading whole would need
            # several times the file.
            # (A few MB are fixed costs -- the ids seen, caches -- hence the floor for small runs.)
            figures["bounded"] = figures["rss_growth_mb"] < max(figures["input_mb"] / 4, 8.0)
            failed = failed or not figures["bounded"]
    for case in ("json_list_small", "real_logs"):  # figures without a goal (see the docs)
        if case in results:
            del results[case]["goals"]
    failed = failed or any(figures["errors"] for figures in results.values())
    print(json.dumps(results))
    return 1 if failed else 0


CASES = ("mixed", "json_list", "json_list_small", "real_logs")


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of the run of median throughput, with every run's MB/s and the highest
    peak memory of them all: one run moves with the machine's load."""
    ordered = sorted(runs, key=lambda figures: figures["mb_per_s"])
    median = dict(ordered[len(ordered) // 2])
    median["mb_per_s_runs"] = [figures["mb_per_s"] for figures in runs]
    median["peak_rss_mb"] = max(figures["peak_rss_mb"] for figures in runs)
    median["rss_growth_mb"] = max(figures["rss_growth_mb"] for figures in runs)
    return median


def _measure_in_child(root: Path, files: int, size: int, args: argparse.Namespace) -> Any:
    """The figures of importing ``root``, from a fresh process: its peak memory is its own."""
    command = [sys.executable, __file__, "--measure", str(root)]
    command += ["--files", str(files), "--size", str(size)]
    command += ["--no-redact"] * args.no_redact + ["--tracemalloc"] * args.tracemalloc
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def _rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


if __name__ == "__main__":
    raise SystemExit(main())
