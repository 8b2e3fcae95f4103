"""The report page: the template with its script, style and data inlined.

The overview goes in as JSON; the index and each document (``r:<rollout id>``,
``s:<session id>``) go in gzip-compressed and base64-encoded, each on its own, so that the page
decompresses only what it opens. Without data (``embed=False``) the page asks the local server.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from understudy.judges.view.data import ViewData

__all__ = ["render_page", "write_report"]


@cache
def _asset(name: str) -> str:
    return resources.files("understudy.judges.view").joinpath("assets", name).read_text("utf-8")


def _packed(document: Any) -> str:
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def _script_json(document: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


def render_page(view: ViewData | None, title: str) -> str:
    """The page: with ``view`` embedded (a static report), or without (served)."""
    if view is None:
        data = "<script>window.US_SERVE = true;</script>"
    else:
        documents = {f"r:{key}": _packed(doc) for key, doc in view.rollouts.items()}
        documents.update({f"s:{key}": _packed(doc) for key, doc in view.sessions.items()})
        data = "\n".join(
            [
                f'<script type="application/json" id="us-overview">'
                f"{_script_json(view.overview)}</script>",
                f'<script type="text/plain" id="us-index">{_packed(view.index)}</script>',
                f'<script type="application/json" id="us-docs">{_script_json(documents)}</script>',
            ]
        )
    parts = {
        "title": html.escape(title),
        "style": _asset("viewer.css"),
        "data": data,
        "script": _asset("viewer.js").replace("</", "<\\/"),
    }
    # One pass over the template: what is put in is never scanned for placeholders again.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], _asset("viewer.html"))


_PLACEHOLDER = re.compile(r"\{(title|style|data|script)\}")


def write_report(view: ViewData, path: Path) -> Path:
    """Write the static report of ``view`` to ``path`` (replaced atomically)."""
    title = f"understudy: {view.overview.get('run_dir', '')}"
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(render_page(view, title), encoding="utf-8")
    scratch.replace(path)
    return path
