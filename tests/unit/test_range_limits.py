"""Specs at the edges of what the engine promises: each is refused clearly or kept to its word."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from generators.engine import generate_block
from generators.errors import SpecError
from generators.spec import parse_spec


def one_field(field: dict[str, Any], rows: int = 2000, **extra: Any) -> list[Any]:
    spec = {"name": "t", "rows": rows, "format": "csv", "seed": 2, "fields": [field]} | extra
    values: list[Any] = generate_block(parse_spec(spec), 0).column(field["name"]).to_pylist()
    return values


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ({"type": "float", "min": 1e13, "max": 1e13 + 10, "decimals": 4, "unique": True}, "unique"),
        ({"type": "float", "min": 0.001, "max": 0.009, "decimals": 2}, "decimals"),
        ({"type": "decimal", "min": 0.001, "max": 0.009, "decimals": 2}, "decimals"),
        ({"type": "regex", "pattern": "[\\ud800-\\udfff]"}, "pattern"),
        ({"type": "regex", "pattern": "a\\x00b"}, "pattern"),
        (
            {"type": "datetime", "start": "2024-01-01T00:00:00.7", "end": "2024-01-01T00:00:00.9"},
            "start",
        ),
    ],
)
def test_options_the_engine_cannot_honour_are_refused(field: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as caught:
        one_field({"name": "f", **field})
    assert caught.value.field == f"fields[0].{path}"


def test_a_key_with_nulls_cannot_be_referenced() -> None:
    spec = {
        "name": "users",
        "rows": 100,
        "format": "csv",
        "seed": 1,
        "fields": [{"name": "id", "type": "sequence", "null_rate": 0.1}],
        "tables": [
            {
                "name": "orders",
                "rows": 10,
                "fields": [{"name": "u", "type": "reference", "table": "users", "field": "id"}],
            }
        ],
    }
    with pytest.raises(SpecError, match="dangling"):
        parse_spec(spec)


def test_addresses_work_in_a_locale_whose_zip_table_faker_shapes_differently() -> None:
    for kind in ("city", "postcode", "address"):
        assert all(one_field({"name": "f", "type": kind}, rows=50, locale="en_MS"))
    # Faker has no state names for en_MS: the column is there, with nothing to say.
    assert len(one_field({"name": "f", "type": "state"}, rows=50, locale="en_MS")) == 50


def test_date_edge_cases_at_the_ends_of_the_calendar() -> None:
    days = one_field(
        {"name": "f", "type": "date", "start": "0001-01-01", "end": "0001-12-31"},
        edge_case_rate=0.2,
    )
    assert dt.date(1, 1, 1) in days


def test_regex_with_many_alternatives_and_negated_non_ascii() -> None:
    many = "|".join(chr(0x4E00 + i) + "x" for i in range(130))
    assert all(
        re.fullmatch(many, v) for v in one_field({"name": "f", "type": "regex", "pattern": many})
    )
    non_ascii = one_field({"name": "f", "type": "regex", "pattern": "[^\\x00-\\x7f]{2}"})
    assert all(re.fullmatch("[^\\x00-\\x7f]{2}", v) for v in non_ascii)


def test_timestamps_stay_inside_their_range() -> None:
    ms = one_field(
        {
            "name": "f",
            "type": "timestamp_unix",
            "unit": "ms",
            "start": "2024-01-01T00:00:00",
            "end": "2024-01-01T00:00:01",
        }
    )
    assert max(ms) <= 1_704_067_201_000 and min(ms) >= 1_704_067_200_000
    moments = one_field(
        {
            "name": "f",
            "type": "datetime",
            "start": "2024-01-01T00:00:00.700",
            "end": "2024-01-01T00:00:05",
        }
    )
    start = dt.datetime(2024, 1, 1, 0, 0, 0, 700_000, tzinfo=dt.UTC)
    assert min(moments) >= start
