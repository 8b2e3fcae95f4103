"""Reading and writing JSONL files of trajectory models, with errors that name file, line, field.

Validation runs the JSON Schema of the model (``understudy schema``) with jsonschema, so that
what ``understudy validate`` reports is exactly what the published schema says; pydantic then
builds the objects and catches what JSON Schema cannot express (date-time formats).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import IO, Any, TypeVar

import jsonschema
import pydantic
from jsonschema.exceptions import ValidationError as JsonSchemaError

from understudy.errors import SchemaError
from understudy.trajectory import MODELS

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def json_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The JSON Schema of one model, as ``understudy schema`` prints it."""
    schema = model.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def all_schemas(models: Mapping[str, type[pydantic.BaseModel]] = MODELS) -> dict[str, Any]:
    """One document holding the schema of every top-level model under ``$defs``."""
    defs: dict[str, Any] = {}
    for name, model in models.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "understudy trajectory schema",
        "$defs": defs,
    }


@cache
def _validator(model: type[pydantic.BaseModel]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema(model))


def field_path(parts: Iterable[str | int]) -> str:
    """``['messages', 3, 'tool_calls', 0, 'id']`` -> ``messages[3].tool_calls[0].id``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


Problem = tuple[list[str | int], str]
"""A field path and a short reason."""


def _describe_schema_error(error: JsonSchemaError) -> list[Problem]:
    """The problems one jsonschema error stands for (an ``anyOf`` can hide several)."""
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "required":
        match = re.match(r"'(.+)' is a required property", error.message)
        return [([*path, match.group(1) if match else "?"], "required")]
    if error.validator == "additionalProperties" and isinstance(instance := error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        return [([*path, key], "unknown field") for key in instance if key not in known]
    if error.validator == "type":
        return [(path, _expected(_listed(error.validator_value), error.instance))]
    if error.validator == "enum":
        choices = ", ".join(json.dumps(c) for c in _listed(error.validator_value))
        return [(path, f"must be one of {choices}, got {_shown(error.instance)}")]
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _describe_alternatives(error, path)
    return [(path, error.message)]


def _describe_alternatives(error: JsonSchemaError, path: list[str | int]) -> list[Problem]:
    """Optional fields are ``anyOf[X, null]``: report why X failed, not "not valid under any".

    A branch whose type does not match fails with a single type error at the field itself; when
    some branch had the right type, its errors (possibly deeper inside) are the ones to report.
    """

    def type_mismatch(sub: JsonSchemaError) -> bool:
        return sub.validator == "type" and list(sub.absolute_path) == path

    right_type = [sub for sub in error.context or [] if not type_mismatch(sub)]
    if right_type:
        return [problem for sub in right_type for problem in _describe_schema_error(sub)]
    names = [name for sub in error.context or [] for name in _listed(sub.validator_value)]
    return [(path, _expected(list(dict.fromkeys(names)), error.instance))]


def _listed(value: object) -> list[Any]:
    """A validator's value (a type name, a list of them, enum choices) as a list."""
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list | tuple) else []


def _expected(type_names: list[Any], instance: Any) -> str:
    expected = " or ".join(_TYPE_NAMES.get(name, name) for name in type_names)
    return f"expected {expected}, got {_shown(instance)}"


def _shown(instance: Any) -> str:
    return json.dumps(instance)[:60]


def _path_order(problem: Problem) -> list[tuple[bool, str | int]]:
    """Sort key putting ``messages[2]`` before ``messages[10]``."""
    return [(isinstance(part, str), part) for part in problem[0]]


def schema_problems(obj: Any, model: type[pydantic.BaseModel], where: str) -> list[str]:
    """Every JSON Schema violation of ``obj`` as ``where: field.path: reason`` lines."""
    found = [
        problem
        for error in _validator(model).iter_errors(obj)
        for problem in _describe_schema_error(error)
    ]
    found.sort(key=_path_order)
    lines = [f"{where}: {field_path(path)}: {reason}" for path, reason in found]
    return list(dict.fromkeys(lines))  # an anyOf can repeat a problem another error reported


def pydantic_problems(error: pydantic.ValidationError, where: str) -> list[str]:
    """A pydantic ``ValidationError`` in the same ``where: field.path: reason`` form."""
    problems = []
    for item in error.errors():
        reason = "required" if item["type"] == "missing" else item["msg"]
        problems.append(f"{where}: {field_path(item['loc'])}: {reason}")
    return problems


def parse_line(line: str, model: type[ModelT], where: str) -> ModelT:
    """Parse one JSONL line into ``model``; raise :class:`SchemaError` naming ``where``.

    A line the model accepts in strict mode (no coercion) is one its JSON Schema accepts too,
    so it is taken as it is: pydantic's parser is about fifty times faster than checking the
    schema. Any other line goes through the schema first, whose messages name fields the way
    files are written (and a line only lax coercion would accept is refused there).
    """
    try:
        return model.model_validate_json(line, strict=True)
    except pydantic.ValidationError:
        pass
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        # Some messages end in "at" already ("Unterminated string starting at").
        joiner = " " if exc.msg.endswith(" at") else " at "
        message = f"{where}: invalid JSON: {exc.msg}{joiner}column {exc.colno}"
        raise SchemaError([message]) from None
    return validate_document(obj, model, where)


def validate_document(obj: Any, model: type[ModelT], where: str) -> ModelT:
    """``obj`` (parsed JSON or YAML) as ``model``: checked against its JSON Schema, then by the
    model's own validators; problems are a :class:`SchemaError` naming ``where`` and fields.
    What the model accepts in strict mode the schema accepts too (see :func:`parse_line`): that
    is taken at once."""
    try:
        return model.model_validate(obj, strict=True)
    except pydantic.ValidationError:
        pass
    problems = schema_problems(obj, model, where)
    if problems:
        raise SchemaError(problems)
    try:
        return model.model_validate(obj)
    except pydantic.ValidationError as exc:
        raise SchemaError(pydantic_problems(exc, where)) from None


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines of a file, undecoded, with their 1-based numbers."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw


def decode_line(raw: bytes, where: str) -> str:
    """One line as text; a line that is not UTF-8 raises :class:`SchemaError` naming ``where``.

    Lines are decoded one at a time so that a bad byte is reported on its own line and does
    not hide the lines around it. A byte-order mark at the start of a line is dropped.
    """
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        problem = f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start + 1})"
        raise SchemaError([problem]) from None


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines of a UTF-8 text file with their 1-based numbers."""
    for number, raw in _raw_lines(path):
        yield number, decode_line(raw, f"{path}:{number}")


def read_models(path: Path | str, model: type[ModelT]) -> Iterator[ModelT]:
    """Stream the models of a JSONL file; the first bad line raises :class:`SchemaError`.

    Problems name the file as the path was given (not its bare name): several runs hold files
    of the same name (judgments.jsonl), and the reader must tell which one is damaged.
    """
    path = Path(path)
    for number, line in iter_lines(path):
        yield parse_line(line, model, f"{path}:{number}")


def validate_file(path: Path | str, model: type[pydantic.BaseModel]) -> tuple[int, list[str]]:
    """Check every line of a JSONL file: (number of valid records, problems found)."""
    path = Path(path)
    valid, problems = 0, []
    try:
        for number, raw in _raw_lines(path):
            where = f"{path}:{number}"  # as given, like read_models
            try:
                parse_line(decode_line(raw, where), model, where)
                valid += 1
            except SchemaError as exc:
                problems.extend(exc.problems)
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror or exc}")
    return valid, problems


def write_json(path: Path | str, document: Any) -> None:
    """Replace ``path`` with ``document`` as indented JSON, atomically: written beside it, then
    renamed, so a reader (or a crash) never sees half a file. Values JSON does not know (dates,
    paths) are written as their ``str``."""
    path = Path(path)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps(document, indent=2, default=str) + "\n")
    os.replace(scratch, path)


def append_models(path: Path | str, models: Sequence[pydantic.BaseModel]) -> None:
    """Append models as JSONL lines and flush them to disk, so a crash loses none written."""
    with Path(path).open("a", encoding="utf-8") as handle:
        write_models(handle, models)
        handle.flush()
        os.fsync(handle.fileno())


def write_models(handle: IO[str], models: Iterable[pydantic.BaseModel]) -> None:
    """Write models to an open text handle, one JSON line each."""
    for model in models:
        handle.write(model.model_dump_json() + "\n")
