"""The judge's reply: its schema, sent as structured output, and reading it back.

The reply schema is generated from pydantic models: one object property per category id, so a
complete reply is enforced by the schema. :func:`strict_schema` turns it into the subset strict
structured outputs accept. A reply is read from the whole text, a fenced block or the first JSON
object inside prose (:func:`extract_json_object`), and validated against the model; a reply
that fails raises :class:`MalformedReply` with a short note of what was wrong, for the judge to
ask again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

# -- the reply schema --------------------------------------------------------------------------


class EvidenceQuote(BaseModel):
    """A verbatim quote from one transcript message."""

    model_config = ConfigDict(extra="forbid")

    message_index: int = Field(description="The [i] index of the message quoted.")
    quote: str = Field(description="Text copied exactly from that message; short.")


class CategoryVerdict(BaseModel):
    """The verdict on one category."""

    model_config = ConfigDict(extra="forbid")

    evidence: list[EvidenceQuote] = Field(
        description="Verbatim quotes backing the verdict; at least one when flagged."
    )
    rationale: str = Field(description="Why, in one or two sentences.")
    flagged: bool = Field(description="Whether the behaviour occurs in the judged turns.")
    severity: int = Field(ge=0, le=4, description="0 (none) to 4 (severe); 0 when not flagged.")
    confidence: float = Field(ge=0.0, le=1.0, description="0 to 1.")


def reply_model(category_ids: Sequence[str]) -> type[BaseModel]:
    """The reply: an object with one :class:`CategoryVerdict` per category id."""
    fields: dict[str, Any] = {
        f"c{position}": (CategoryVerdict, Field(alias=category_id))
        for position, category_id in enumerate(category_ids)
    }
    model: type[BaseModel] = create_model(
        "JudgeReply", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


_DROPPED_KEYWORDS = (
    "title",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of ``model`` in the subset strict structured outputs accept.

    Every object lists all its properties as required and forbids others; titles, defaults and
    numeric bounds are removed (the bounds are in the descriptions, and pydantic checks them on
    the reply).
    """

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {key: walk(value) for key, value in node.items() if key not in _DROPPED_KEYWORDS}
            if out.get("type") == "object" and "properties" in node:
                out["properties"] = {
                    name: walk(value) for name, value in node["properties"].items()
                }
                out["required"] = list(node["properties"])
                out["additionalProperties"] = False
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    schema: dict[str, Any] = walk(model.model_json_schema(by_alias=True))
    return schema


# -- parsing replies ---------------------------------------------------------------------------


class MalformedReply(Exception):
    """The reply is not JSON, or not valid against the schema."""


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (the whole text, a fenced block, or one inside prose)."""
    stripped = text.strip()
    try:
        whole = json.loads(stripped)
    except ValueError:
        pass
    else:
        return whole if isinstance(whole, dict) else None
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            found, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None


def _validation_summary(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    more = f" (and {error.error_count() - 5} more)" if error.error_count() > 5 else ""
    return "; ".join(problems) + more


def parse_reply(
    content: str, model: type[BaseModel], category_ids: Sequence[str]
) -> dict[str, CategoryVerdict]:
    """The verdict per category id in ``content``, a reply validated against ``model``."""
    if not content.strip():
        raise MalformedReply("the reply is empty")
    data = extract_json_object(content)
    if data is None:
        raise MalformedReply("the reply holds no JSON object")
    try:
        reply = model.model_validate(data)
    except ValidationError as exc:
        summary = _validation_summary(exc)
        raise MalformedReply(f"the JSON does not match the schema: {summary}") from None
    return {
        category_id: getattr(reply, f"c{position}")
        for position, category_id in enumerate(category_ids)
    }
