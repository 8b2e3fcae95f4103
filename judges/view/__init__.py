"""The run viewer: one self-contained HTML report of a run directory (``understudy view``), or a
local server on 127.0.0.1 that answers the same page and loads rollouts on demand.

- :mod:`~understudy.judges.view.data` reads a run directory into an overview, an index row per
  rollout and the documents a trajectory view opens;
- :mod:`~understudy.judges.view.html` writes the static report (scripts, styles and data
  inlined: it opens from disk with no network);
- :mod:`~understudy.judges.view.server` serves it.
"""

from understudy.judges.view.data import ViewData, load_view
from understudy.judges.view.html import render_page, write_report
from understudy.judges.view.server import ViewServer

__all__ = ["ViewData", "ViewServer", "load_view", "render_page", "write_report"]
