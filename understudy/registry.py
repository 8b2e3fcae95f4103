"""Backends by short name, with a dotted-path fallback for backends that live elsewhere.

A registry maps names to import paths (``"echo": "understudy.testing.policies:echo_policy"``),
or to functions that load the object, so that looking up one backend does not import the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar, cast

from understudy.errors import ConfigError

T = TypeVar("T")


def import_object(path: str) -> object:
    """Import ``package.module:attr`` or ``package.module.attr``."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{path!r} is not a dotted path to an object")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from None


class Registry(Generic[T]):
    """Named backends of one kind."""

    def __init__(self, kind: str, entries: Mapping[str, str | Callable[[], T]]) -> None:
        self.kind = kind
        self._entries = entries
        """Each name's dotted path or loader. Read at every lookup, not copied, so that a table
        that grows later (the declared sandbox backends) is seen as it is then."""
        self._registered: dict[str, str | Callable[[], T]] = {}
        """Names added by :meth:`register`; they win over ``_entries``."""

    def names(self) -> list[str]:
        """The registered short names."""
        return sorted({*self._entries, *self._registered})

    def register(self, name: str, path: str) -> None:
        """Add or replace a backend."""
        self._registered[name] = path

    def get(self, name: str) -> T:
        """The backend called ``name``, or the object at dotted path ``name``."""
        entry = self._registered.get(name) or self._entries.get(name)
        if entry is None and ("." in name or ":" in name):
            entry = name
        if entry is None:
            valid = ", ".join(self.names())
            raise ConfigError(
                f"unknown {self.kind} {name!r}; valid names: {valid} (or a dotted path)"
            )
        try:
            return entry() if callable(entry) else cast(T, import_object(entry))
        except ImportError as exc:
            raise ConfigError(f"cannot load {self.kind} {name!r}: {exc}") from exc
