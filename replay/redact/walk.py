"""Walking the string values of a pydantic model: collecting them, and rebuilding the model with
each one rewritten, copying only what changes.

The walks dispatch on the exact type first: almost every value is a plain str, dict, list,
number or None, and a session holds hundreds of thousands of them. Every walk visits the
strings in the same order (fields in declaration order, dict values, list items), which the
placeholder numbering depends on.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import Enum
from types import UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["Part", "model_parts", "transform_model", "transform_parts", "walk"]

ModelT = TypeVar("ModelT", bound=BaseModel)

_SCALARS = frozenset((int, float, bool, type(None)))
_NO_STRINGS = frozenset((int, float, bool, datetime, type(None)))
"""Types a field may be declared with that never hold a string (nor anything holding one)."""
_fields: dict[type[BaseModel], tuple[str, ...]] = {}
_getters: dict[type[BaseModel], Callable[[BaseModel], tuple[Any, ...]]] = {}


def _field_names(model: BaseModel) -> tuple[str, ...]:
    """The names of the model's fields that may hold strings of the log (the others are never
    rewritten: a role or a provenance that looked like a user name would no longer be one)."""
    cls = type(model)
    names = _fields.get(cls)
    if names is None:
        fields = cls.model_fields.items()
        names = _fields[cls] = tuple(
            name for name, field in fields if _may_hold_strings(field.annotation)
        )
    return names


def _may_hold_strings(annotation: Any) -> bool:
    """Whether a field declared so may hold a string of the log's (validated models hold what
    they declare: a flag, a number or a time never does, nor does an optional one; a literal
    or an enumeration holds one of the strings the code declares, such as a role)."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return any(map(_may_hold_strings, get_args(annotation)))
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return False
    return annotation not in _NO_STRINGS


def _field_values(model: BaseModel) -> tuple[Any, ...]:
    """The values of the model's fields that may hold strings, in order (one C call for all
    of them)."""
    getter = _getters.get(type(model))
    if getter is None:
        names = _field_names(model)
        if len(names) == 1:  # attrgetter of one name returns the value, not a tuple
            getter = _getters[type(model)] = lambda model: (getattr(model, names[0]),)
        elif not names:
            getter = _getters[type(model)] = lambda model: ()
        else:
            getter = _getters[type(model)] = operator.attrgetter(*names)
    return getter(model)


def walk(value: Any, visit: Callable[[str], None]) -> None:
    """Call ``visit`` with every string in ``value`` (dictionary keys aside), in walk order."""
    kind = type(value)
    if kind is str:
        visit(value)
    elif kind is dict:
        _walk_items(value.values(), visit)
    elif kind is list:
        _walk_items(value, visit)
    elif kind not in _SCALARS:
        _walk_other(value, visit)


def _walk_items(items: Iterable[Any], visit: Callable[[str], None]) -> None:
    # Strings and scalars, most of the items, are handled here rather than by a call each, and
    # so are empty containers (meta, tool calls) and models seen before.
    for item in items:
        kind = type(item)
        if kind is str:
            visit(item)
        elif kind is dict:
            if item:
                _walk_items(item.values(), visit)
        elif kind is list:
            if item:
                _walk_items(item, visit)
        elif kind not in _SCALARS:
            getter = _getters.get(kind)
            if getter is not None:
                _walk_items(getter(item), visit)
            else:
                _walk_other(item, visit)


def _walk_other(value: Any, visit: Callable[[str], None]) -> None:
    """:func:`walk` of anything but a plain str, dict, list or scalar (a model, mostly)."""
    getter = _getters.get(type(value))
    if getter is not None:  # a model seen before
        _walk_items(getter(value), visit)
    elif isinstance(value, str):
        visit(value)
    elif isinstance(value, BaseModel):
        _walk_items(_field_values(value), visit)
    elif isinstance(value, dict):
        _walk_items(value.values(), visit)
    elif isinstance(value, list | tuple):
        _walk_items(value, visit)


def transform_model(model: ModelT, fix: Callable[[str], str]) -> ModelT:
    """``model`` with ``fix`` applied to every string; the same object when nothing changed."""
    changed: dict[str, Any] = {}
    for name in _field_names(model):
        old = getattr(model, name)
        new = _transform(old, fix)
        if new is not old:
            changed[name] = new
    return model.model_copy(update=changed) if changed else model


def _transform(value: Any, fix: Callable[[str], str]) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is str or isinstance(value, str):
        new = fix(value)
        return value if new == value else new
    if isinstance(value, BaseModel):
        return transform_model(value, fix)
    if isinstance(value, dict | list):
        out: Any = None  # a copy, made at the first change
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            new = _transform(item, fix)
            if new is not item:
                if out is None:
                    out = value.copy()
                out[key] = new
        return value if out is None else out
    if isinstance(value, tuple):
        new_items = [_transform(item, fix) for item in value]
        if all(a is b for a, b in zip(new_items, value, strict=True)):
            return value
        return tuple(new_items)
    return value


Part = tuple[str, int | None, Any, list[str]]
"""One field of a model, or one item of a list field: ``(field name, index in the list or
None, value, its strings in walk order)``."""


def model_parts(model: BaseModel) -> list[Part]:
    """The parts of ``model`` in walk order: so that a session is rebuilt only where one of its
    messages (or other fields) changes, not walked whole again."""
    parts: list[Part] = []
    for name in _field_names(model):
        value = getattr(model, name)
        items = enumerate(value) if type(value) is list else [(None, value)]
        for index, item in items:
            strings: list[str] = []
            getter = _getters.get(type(item))
            if getter is not None:  # a model seen before (a message, mostly): no dispatch
                _walk_items(getter(item), strings.append)
            else:
                walk(item, strings.append)
            parts.append((name, index, item, strings))
    return parts


def _fixed(fixed: dict[str, str], text: str) -> str:
    return fixed.get(text, text)


def transform_parts(
    model: ModelT,
    parts: list[Part],
    fix: Callable[[str], str],
    needed: Callable[[list[str]], bool],
    skip: Callable[[list[str]], None],
) -> ModelT:
    """What :func:`transform_model` makes of ``model`` (split into ``parts``), for a ``fix``
    that leaves the strings of a part unchanged unless ``needed`` says otherwise (the other
    parts are passed to ``skip`` instead) and that, within one model, gives a string the same
    result each time: ``fix`` is called on the strings of each part in walk order, and a part
    is rebuilt only when one of them changes."""
    changed: dict[str, Any] = {}
    for name, index, value, strings in parts:
        if not needed(strings):
            skip(strings)
            continue
        fixed: dict[str, str] = {}
        for text in strings:
            new_text = fix(text)
            if new_text != text:
                fixed[text] = new_text
        if not fixed:
            continue
        new = _transform(value, functools.partial(_fixed, fixed))
        if index is None:
            changed[name] = new
        else:
            if name not in changed:
                changed[name] = getattr(model, name).copy()
            changed[name][index] = new
    if not changed:
        return model
    update = {name: changed[name] for name in _field_names(model) if name in changed}
    return model.model_copy(update=update)
