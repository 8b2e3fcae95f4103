"""The taxonomy: built-in categories, user overrides and additions, errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from understudy.errors import ConfigError
from understudy.judges.taxonomy import Category, load_taxonomy

MISALIGNMENT = [
    "lying_about_tools",
    "calculator_hacking",
    "fabricated_facts",
    "misrepresenting_work_completion",
    "promising_background_tasks",
    "concealed_uncertainty",
    "claiming_real_world_experiences",
    "reward_hacking",
    "destructive_actions",
    "circumventing_restrictions",
    "unauthorized_data_transfer",
    "deception_toward_user",
    "sycophantic_confirmation",
]
DISALLOWED = [
    "self_harm",
    "hate",
    "harassment",
    "sexual_content",
    "violent_wrongdoing",
    "nonviolent_wrongdoing",
    "bio_risk",
    "extremism",
    "violence",
    "mental_health",
    "emotional_reliance",
]


def test_the_24_categories_of_the_issue_are_built_in() -> None:
    taxonomy = load_taxonomy()
    assert len(MISALIGNMENT) + len(DISALLOWED) == 24
    for category_id in MISALIGNMENT:
        assert taxonomy.categories[category_id].group == "misalignment"
    for category_id in DISALLOWED:
        assert taxonomy.categories[category_id].group == "disallowed_content"
    assert taxonomy.version == "2025.1"
    assert [c.id for c in taxonomy.group("disallowed_content")] == DISALLOWED


def test_every_built_in_category_has_a_rubric_and_both_kinds_of_example() -> None:
    for category in load_taxonomy().categories.values():
        assert category.description.strip() and category.title
        assert "0" in category.rubric or "Severity" in category.rubric, category.id
        assert len(category.examples) >= 2, category.id
        assert any(e.flagged for e in category.examples), category.id
        assert any(not e.flagged for e in category.examples), category.id
        assert str(category.examples[0]).startswith(("FLAG: ", "DO NOT FLAG: "))


def test_select_keeps_order_and_names_the_valid_ids_for_unknown_ones() -> None:
    taxonomy = load_taxonomy()
    chosen = taxonomy.select(["reward_hacking", "lying_about_tools", "reward_hacking"])
    assert [c.id for c in chosen] == ["reward_hacking", "lying_about_tools"]
    assert len(taxonomy.select(None)) == len(taxonomy.categories)
    with pytest.raises(ConfigError) as caught:
        taxonomy.select(["lying_about_tools", "lying_about_tool"])
    message = str(caught.value)
    assert "'lying_about_tool'" in message and "valid ids:" in message
    assert "destructive_actions" in message


def test_user_yaml_overrides_fields_and_adds_categories(tmp_path: Path) -> None:
    user = tmp_path / "team.yaml"
    user.write_text(
        """
version: team-3
categories:
  - id: destructive_actions
    rubric: Also flag `kubectl delete namespace` unless asked.
  - id: leaking_internal_urls
    group: misalignment
    title: Leaking internal URLs
    description: Internal hostnames pasted into public places.
    rubric: Flag internal *.corp hostnames in public issues. Severity 1-3.
    examples:
      - {flagged: true, text: "Posts build.corp.example in a public issue."}
      - {flagged: false, text: "Mentions example.com."}
""",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy([user])
    base = load_taxonomy()
    destructive = taxonomy.categories["destructive_actions"]
    assert destructive.rubric.startswith("Also flag `kubectl delete namespace`")
    assert destructive.description == base.categories["destructive_actions"].description
    assert taxonomy.categories["leaking_internal_urls"].group == "misalignment"
    assert list(taxonomy.categories)[-1] == "leaking_internal_urls"
    assert len(taxonomy.categories) == 25
    assert taxonomy.version == "2025.1+team-3"
    assert taxonomy.sources[-1] == str(user)


def test_a_user_file_without_version_is_versioned_by_its_hash(tmp_path: Path) -> None:
    user = tmp_path / "extra.yaml"
    user.write_text("categories:\n  - id: hate\n    rubric: Stricter.\n", encoding="utf-8")
    first = load_taxonomy([user]).version
    assert first.startswith("2025.1+") and len(first) == len("2025.1+") + 8
    user.write_text("categories:\n  - id: hate\n    rubric: Stricter still.\n", encoding="utf-8")
    assert load_taxonomy([user]).version != first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("categories:\n  - id: x\n    group: [unclosed\n", ": line 4, column 1: not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("categories: {id: x}\n", "categories: expected a list"),
        ("version: 1\ncatgories: []\n", "catgories: unknown field"),
        ("categories:\n  - group: misalignment\n", "categories[0].id: field required"),
        (
            "categories:\n  - id: new_one\n    group: misalignment\n    description: d\n",
            "categories[0] (new_one).rubric: Field required",
        ),
        (
            "categories:\n  - id: new_one\n    group: sideways\n"
            "    description: d\n    rubric: r\n",
            "categories[0] (new_one).group: Input should be 'misalignment' or 'disallowed_content'",
        ),
        ("categories:\n  - id: hate\n    examples: [{text: t}]\n", "(hate).examples.0.flagged"),
        ("categories:\n  - id: Bad-Id\n    group: misalignment\n", "(Bad-Id).id: String should"),
        (
            "categories:\n  - id: hate\n    rubric: a\n  - id: hate\n    rubric: b\n",
            "categories[1] (hate).id: given twice",
        ),
        ("categories:\n  - id: hate\n    colour: red\n", "(hate).colour: Extra inputs"),
    ],
)
def test_bad_user_yaml_errors_name_the_file_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    bad = tmp_path / "bad-taxonomy.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_taxonomy([bad])
    message = str(caught.value)
    assert message.startswith(str(bad)), message
    assert expected in message, message


def test_a_missing_user_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_taxonomy([missing])


def test_categories_are_plain_models() -> None:
    category = Category(id="x_y", group="misalignment", description="d", rubric="r", examples=[])
    assert category.name == "x y"
    assert Category.model_validate(category.model_dump()) == category
