"""The limits a spec is held to: each is refused naming the field and the limit, an error
never repeats a huge value whole, and no spec within the limits takes long to check."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from generators.errors import SpecError
from generators.spec import MAX_ECHOED, MAX_TABLES, parse_spec
from generators.types.basic import MAX_CHOICE_LENGTH, MAX_CHOICE_VALUES
from generators.types.regex import MAX_SET_CHARS, PATTERNS_KEPT, compile_pattern

BASE: dict[str, Any] = {
    "name": "limits",
    "rows": 10,
    "format": "csv",
    "fields": [{"name": "id", "type": "sequence"}],
}


def refusal(spec: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(spec).encode())
    return caught.value


def one_field(**field: Any) -> dict[str, Any]:
    return {**BASE, "fields": [{"name": "x", **field}]}


def table(index: int) -> dict[str, Any]:
    return {"name": f"t{index}", "rows": 1, "fields": [{"name": "id", "type": "sequence"}]}


@pytest.mark.parametrize(
    ("spec", "field", "limit"),
    [
        ({**BASE, "tables": [table(i) for i in range(MAX_TABLES)]}, "tables", "<= 19"),
        ({**BASE, "name": "n" * 201}, "name", "<= 200"),
        ({**BASE, "tables": [{**table(0), "name": "t" * 65}]}, "tables[0].name", "<= 64"),
        ({**BASE, "format": "f" * 65}, "format", "<= 64"),
        ({**BASE, "locale": "l" * 17}, "locale", "<= 16"),
        (
            one_field(type="choice", values=["v" * (MAX_CHOICE_LENGTH + 1)]),
            "fields[0].values[0]",
            f"<= {MAX_CHOICE_LENGTH}",
        ),
        (
            one_field(type="choice", values=["a"], weights=[1.0] * (MAX_CHOICE_VALUES + 1)),
            "fields[0].weights",
            f"<= {MAX_CHOICE_VALUES}",
        ),
        (one_field(type="template", template="{id}" * 251), "fields[0].template", "<= 1000"),
        (one_field(type="regex", pattern="a" * 501), "fields[0].pattern", "<= 500"),
        (one_field(type="datetime", timezone="Z" * 65), "fields[0].timezone", "<= 64"),
        (one_field(type="price", currency="JPYY"), "fields[0].currency", "<= 3"),
    ],
    ids=[
        "tables",
        "dataset-name",
        "table-name",
        "format",
        "locale",
        "choice-value",
        "choice-weights",
        "template",
        "regex-pattern",
        "timezone",
        "currency",
    ],
)
def test_a_spec_over_a_limit_is_refused_naming_the_field_and_the_limit(
    spec: dict[str, Any], field: str, limit: str
) -> None:
    error = refusal(spec)
    assert error.field == field
    assert limit in error.detail


def test_the_sets_of_one_pattern_hold_at_most_max_set_chars_in_all() -> None:
    assert parse_spec(json.dumps(one_field(type="regex", pattern="[一-龯]{2}")).encode())
    # Two ranges, each allowed on its own, are too many characters together.
    wide = "[\U00010000-\U00013a98][\U00020000-\U00023a98]"
    error = refusal(one_field(type="regex", pattern=wide))
    assert error.field == "fields[0].pattern" and f"{MAX_SET_CHARS:,}" in error.detail


def test_a_process_keeps_a_bounded_number_of_compiled_patterns() -> None:
    for index in range(PATTERNS_KEPT + 50):
        compile_pattern(f"[a-z]{{{index % 7}}}x{index}", 8)
    assert compile_pattern.cache_info().currsize <= PATTERNS_KEPT


@pytest.mark.parametrize(
    "spec",
    [
        {**BASE, "k" * 100_000: 1},
        one_field(type="e" * 100_000),
        one_field(type="email", **{"o" * 100_000: 1}),
        {**BASE, "compression": "z" * 100_000},
    ],
    ids=["unknown-key", "unknown-type", "unknown-option", "enum-value"],
)
def test_an_error_repeats_a_huge_value_only_in_part(spec: dict[str, Any]) -> None:
    error = refusal(spec)
    assert len(error.field) + len(error.detail) < 2_000
    assert "…" in error.field + error.detail and len(error.detail) > MAX_ECHOED // 2


def test_templates_that_need_each_other_through_a_third_are_refused() -> None:
    error = refusal(
        {
            **BASE,
            "fields": [
                {"name": "a", "type": "template", "template": "{b}"},
                {"name": "b", "type": "template", "template": "{c}"},
                {"name": "c", "type": "template", "template": "x{a}"},
                {"name": "d", "type": "template", "template": "{a}"},
            ],
        }
    )
    assert error.field == "fields[0].template"
    assert error.detail == "templates 'a' and 'c' need each other's values"


def test_the_largest_template_graph_is_checked_quickly() -> None:
    # 200 templates, each using every later one as often as 1000 characters allow: a check
    # that walked the uses of each template from every other took seconds.
    names = [f"f{i}" for i in range(200)]
    fields = []
    for i, name in enumerate(names):
        later = [f"{{{other}}}" for other in names[i + 1 :]] or ["{first_name}"]
        uses = [later[k % len(later)] for k in range(1000)]
        template = ""
        while len(template) + len(uses[0]) <= 1000:
            template += uses.pop(0)
        fields.append({"name": name, "type": "template", "template": template})
    started = time.monotonic()
    parse_spec(json.dumps({**BASE, "fields": fields}).encode())
    assert time.monotonic() - started < 1.0


def test_a_key_referred_to_by_every_field_of_every_table_is_checked_quickly() -> None:
    keys = [{"name": "email", "type": "email", "unique": True}]
    tables = [
        {
            "name": f"t{t}",
            "rows": 10,
            "fields": [
                {"name": f"r{i}", "type": "reference", "table": "limits", "field": "email"}
                for i in range(200)
            ],
        }
        for t in range(MAX_TABLES - 1)
    ]
    started = time.monotonic()
    parse_spec(json.dumps({**BASE, "rows": 1000, "fields": keys, "tables": tables}).encode())
    assert time.monotonic() - started < 1.0
