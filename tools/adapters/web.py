"""Adapters of logged web tools onto the canonical ``browser`` (served by replay or simulation).

``WebSearch``/``web_search`` ``{query, ...}`` become ``search``; ``WebFetch``/``web_fetch``/
``web_read``/``web_browser_go`` ``{url, ...}`` become ``open``. Extra arguments (Claude Code's
``prompt`` and domain filters) are dropped from the canonical call; the recorded result that
replay serves is matched on the logged call, so nothing is lost there.
"""

from __future__ import annotations

from typing import Any

from understudy.tools.adapters.base import BaseAdapter, call, get_str
from understudy.tools.adapters.describers import describe_web_fetch, describe_web_search
from understudy.tools.adapters.facts import CallFacts
from understudy.tools.base import CanonicalCall

SEARCH_NAMES = ("WebSearch", "web_search")
OPEN_NAMES = ("WebFetch", "web_fetch", "web_read", "web_browser_go")


class WebAdapter(BaseAdapter):
    """Web search and page fetches, as the agents logged them."""

    names: tuple[str, ...] = SEARCH_NAMES + OPEN_NAMES
    canonical: str = "browser"

    def translate(self, name: str, arguments: dict[str, Any]) -> CanonicalCall:
        if name in SEARCH_NAMES:
            return call("browser", action="search", query=get_str(arguments, "query", name))
        return call("browser", action="open", url=get_str(arguments, "url", name))

    def read_only(self, name: str, arguments: dict[str, Any]) -> bool:
        return True

    def describe(self, name: str, arguments: dict[str, Any]) -> CallFacts:
        if name in SEARCH_NAMES:
            return describe_web_search(name, arguments)
        return describe_web_fetch(name, arguments)
