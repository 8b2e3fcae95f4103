"""``understudy view``: a run as one HTML page (a file, or served on 127.0.0.1)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from understudy.cli_common import console
from understudy.run_files import REPORT_FILE


def view(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (judged or not).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help=f"Where to write the page (default: RUN_DIR/{REPORT_FILE})."
        ),
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option(
            metavar="RUN_DIR",
            help="Another run of the same sessions: its rollouts of each session and cut are "
            "offered side by side (model vs model).",
        ),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Serve the viewer on 127.0.0.1 instead, loading rollouts on demand (for very "
            "large runs); Ctrl-C stops it.",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of --serve (0: any free one).")
    ] = 8765,
) -> None:
    """Write a self-contained HTML report of a run, or serve it locally.

    The page opens from disk with no network: rates per category with 95% intervals (beside the
    baseline when judged), errors kept apart, the provenance and fidelity of the run, its
    settings; a table of rollouts with filters, search and sorting; and each trajectory with the
    prefix, the cut, provenance badges, diagnostics, the flagged evidence highlighted and the
    reproduce command, side by side with the original continuation or another run's rollout.
    Keys: j / k flagged rollouts, n / p messages, / search, Esc close.
    """
    # Loaded when the command runs: the command line starts without it.
    from understudy.judges.view import ViewServer, load_view, write_report

    loaded = load_view(run_dir, compare)
    if not serve:
        target = write_report(loaded, output or run_dir / REPORT_FILE)
        console().print(f"report: {target}  ({len(loaded.index)} rollouts; open it in a browser)")
        return
    with ViewServer(loaded, port=port) as server:
        console().print(f"serving {run_dir} on {server.url}  (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console(stderr=True).print("stopped")
