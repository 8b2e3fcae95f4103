"""The taxonomy of behaviours judges look for.

The built-in categories live in ``taxonomy.yaml`` next to this module (shipped as package data).
Users add categories, or override fields of built-in ones, with their own YAML files of the
same shape::

    version: "team-1"          # optional; recorded in the combined version
    categories:
      - id: leaking_internal_urls          # a new category: every field but examples required
        group: misalignment
        description: ...
        rubric: ...
        examples:
          - {flagged: true, text: "...", why: "..."}
      - id: destructive_actions            # an existing one: only the fields given change
        rubric: ...

Problems are reported as :class:`~understudy.errors.ConfigError` naming the file and the field
(``my.yaml: categories[1] (leaking_internal_urls).group: Input should be ...``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from understudy.errors import ConfigError

__all__ = ["BUILTIN_PATH", "Category", "Example", "Taxonomy", "load_taxonomy"]

Group = Literal["misalignment", "disallowed_content"]
BUILTIN_PATH = "taxonomy.yaml"
"""Name of the built-in taxonomy inside the ``understudy.judges`` package."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Example(_Model):
    """A short example: a behaviour and whether it should be flagged."""

    flagged: bool
    """True for a positive example (flag it), False for a negative one (do not)."""
    text: str = Field(min_length=1)
    """What happened, in a sentence or two."""
    why: str = ""
    """Why it is (or is not) the behaviour."""

    def __str__(self) -> str:
        verdict = "FLAG" if self.flagged else "DO NOT FLAG"
        return f"{verdict}: {self.text}" + (f" ({self.why})" if self.why else "")


class Category(_Model):
    """One behaviour category."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Stable identifier (recorded in ``Judgment.category``)."""
    group: Group
    """``misalignment`` or ``disallowed_content``."""
    title: str = ""
    """A short human name."""
    description: str = Field(min_length=1)
    """What the behaviour is."""
    rubric: str = Field(min_length=1)
    """For the LLM judge: what counts, what does not, and severity guidance 0-4."""
    examples: list[Example] = Field(default_factory=list)
    """Positive and negative examples."""

    @property
    def name(self) -> str:
        return self.title or self.id.replace("_", " ")


class Taxonomy(BaseModel):
    """A set of categories with a version (recorded by judges in every Judgment)."""

    model_config = ConfigDict(extra="forbid")

    version: str
    """The built-in version, plus ``+<version or hash>`` per user file merged in."""
    categories: dict[str, Category]
    """Categories by id, built-in ones first, in file order."""
    sources: list[str] = Field(default_factory=list)
    """The files it was loaded from."""

    @field_validator("version", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    def ids(self) -> list[str]:
        return list(self.categories)

    def group(self, group: Group) -> list[Category]:
        """The categories of one group."""
        return [c for c in self.categories.values() if c.group == group]

    def select(self, ids: Iterable[str] | None) -> list[Category]:
        """The categories with these ids, in the order given (every category when None).

        An unknown id raises ConfigError listing the valid ones.
        """
        if ids is None:
            return list(self.categories.values())
        wanted = [i.strip() for i in ids if i and i.strip()]
        unknown = [i for i in wanted if i not in self.categories]
        if unknown:
            raise ConfigError(
                f"unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(repr(i) for i in unknown)}; valid ids: {', '.join(self.categories)}"
            )
        return [self.categories[i] for i in dict.fromkeys(wanted)]


def load_taxonomy(extra: list[Path] | None = None) -> Taxonomy:
    """The built-in taxonomy, with the categories of ``extra`` YAML files added or overriding
    (later files win)."""
    builtin = resources.files("understudy.judges").joinpath(BUILTIN_PATH)
    text = builtin.read_text(encoding="utf-8")
    label = f"understudy/judges/{BUILTIN_PATH}"
    data = _parse(text, label)
    version = data.get("version")
    if version is None:
        raise ConfigError(f"{label}: version: field required")
    categories: dict[str, dict[str, Any]] = {}
    _merge(categories, data, label, allow_partial=False)
    versions = [str(version)]
    sources = [label]
    for path in extra or []:
        path = Path(path)
        try:
            user_text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{path}: cannot read the taxonomy file: {exc.strerror or exc}"
            ) from exc
        user = _parse(user_text, str(path))
        _merge(categories, user, str(path), allow_partial=True)
        tag = user.get("version")
        versions.append(
            str(tag) if tag is not None else hashlib.sha256(user_text.encode()).hexdigest()[:8]
        )
        sources.append(str(path))
    built = {key: Category.model_validate(value) for key, value in categories.items()}
    return Taxonomy(version="+".join(versions), categories=built, sources=sources)


def _parse(text: str, label: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{label}:{where} not valid YAML: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{label}: expected a mapping with 'categories', not {type(data).__name__}"
        )
    unknown = sorted(set(data) - {"version", "categories"})
    if unknown:
        raise ConfigError(
            f"{label}: {unknown[0]}: unknown field (expected 'version' and 'categories')"
        )
    listed = data.get("categories", [])
    if not isinstance(listed, list):
        raise ConfigError(f"{label}: categories: expected a list of categories")
    return data


def _merge(
    categories: dict[str, dict[str, Any]], data: dict[str, Any], label: str, allow_partial: bool
) -> None:
    seen: set[str] = set()
    for position, entry in enumerate(data.get("categories") or []):
        where = f"{label}: categories[{position}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping, not {type(entry).__name__}")
        category_id = entry.get("id")
        if not isinstance(category_id, str) or not category_id:
            raise ConfigError(f"{where}.id: field required (a string)")
        where = f"{where} ({category_id})"
        if category_id in seen:
            raise ConfigError(f"{where}.id: given twice in this file")
        seen.add(category_id)
        merged = dict(entry)
        if allow_partial and category_id in categories:
            merged = {**categories[category_id], **entry}
        try:
            Category.model_validate(merged)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or "(category)"
            raise ConfigError(f"{where}.{field}: {error['msg']}") from None
        categories[category_id] = merged
