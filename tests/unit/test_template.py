"""Template fields: values made from other values of the same row."""

from __future__ import annotations

from typing import Any

import pytest

from generators.engine import generate_block
from generators.errors import SpecError
from generators.spec import parse_spec


def table(fields: list[dict[str, Any]], rows: int = 200, locale: str = "en_US") -> Any:
    spec = {"name": "t", "rows": rows, "format": "csv", "locale": locale, "seed": 3}
    return generate_block(parse_spec(spec | {"fields": fields}), 0).to_pylist()


def test_a_template_joins_the_rows_own_values_with_filters() -> None:
    rows = table(
        [
            {"name": "login", "type": "template", "template": "{first|lower}-{id}@{{x}}"},
            {"name": "id", "type": "sequence", "start": 100},
            {"name": "first", "type": "first_name"},
        ]
    )
    for row in rows:
        assert row["login"] == f"{row['first'].lower()}-{row['id']}@{{x}}"


def test_a_placeholder_may_name_a_type_that_is_no_column() -> None:
    rows = table([{"name": "tag", "type": "template", "template": "user:{last_name|upper}"}])
    assert all(row["tag"].startswith("user:") and row["tag"][5:].isupper() for row in rows)
    # Deterministic: the hidden value is drawn exactly as a field of that name would be.
    with_column = table(
        [
            {"name": "tag", "type": "template", "template": "user:{last_name|upper}"},
            {"name": "last_name", "type": "last_name"},
        ]
    )
    assert [r["tag"] for r in with_column] == [r["tag"] for r in rows]
    assert all(r["tag"] == "user:" + r["last_name"].upper() for r in with_column)


def test_a_null_value_makes_the_template_null() -> None:
    rows = table(
        [
            {"name": "maybe", "type": "integer", "null_rate": 0.5},
            {"name": "label", "type": "template", "template": "n={maybe}"},
        ]
    )
    assert any(r["maybe"] is None for r in rows)
    assert all((r["label"] is None) == (r["maybe"] is None) for r in rows)


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{nope}", "neither a field"),
        ("{idd}", "did you mean 'id'"),
        ("{id", "unmatched"),
        ("plain text", "at least one"),
        ("{id|shout}", "unknown filter"),
        ("{me}", "own value"),
    ],
)
def test_bad_templates_are_refused_naming_the_field(template: str, words: str) -> None:
    fields = [
        {"name": "id", "type": "sequence"},
        {"name": "me", "type": "template", "template": template},
    ]
    with pytest.raises(SpecError) as caught:
        table(fields)
    assert caught.value.field == "fields[1].template"
    assert words in caught.value.detail


def test_templates_that_need_each_other_are_refused() -> None:
    fields = [
        {"name": "a", "type": "template", "template": "{b}"},
        {"name": "b", "type": "template", "template": "{c}!"},
        {"name": "c", "type": "template", "template": "{a}?"},
    ]
    with pytest.raises(SpecError, match="need each other"):
        table(fields)
