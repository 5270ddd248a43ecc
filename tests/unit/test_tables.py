"""Datasets of several tables: every reference resolves, children spread as asked, one archive."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.errors import SpecError
from generators.output import file_type, write_dataset
from generators.spec import parse_spec

USERS_FIELDS = [
    {"name": "id", "type": "sequence", "start": 1000},
    {"name": "code", "type": "uuid4", "unique": True},
    {"name": "name", "type": "full_name"},
]


def shop(
    orders: int = 5000, users: int = 800, reference: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "name": "users",
        "rows": users,
        "format": "csv",
        "locale": "ja_JP",
        "seed": 9,
        "fields": USERS_FIELDS,
        "tables": [
            {
                "name": "orders",
                "rows": orders,
                "fields": [
                    {"name": "order_id", "type": "sequence"},
                    {"name": "user_id", "type": "reference", "table": "users", "field": "id"}
                    | (reference or {}),
                    {"name": "user_code", "type": "reference", "table": "users", "field": "code"},
                    {"name": "amount", "type": "integer", "min": 1, "max": 100},
                ],
            }
        ],
    }


def tables_of(spec: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    sink = io.BytesIO()
    write_dataset(parse_spec(spec), sink)
    archive = zipfile.ZipFile(io.BytesIO(sink.getvalue()))
    return {
        name.removesuffix(".csv"): list(csv.DictReader(io.StringIO(archive.read(name).decode())))
        for name in archive.namelist()
        if name.endswith(".csv")
    }


@settings(max_examples=12, deadline=None)
@given(
    users=st.integers(1, 3000),
    orders=st.integers(1, 3000),
    cardinality=st.sampled_from(["poisson", "zipf", "even"]),
)
def test_every_reference_resolves_to_a_parent_row(
    users: int, orders: int, cardinality: str
) -> None:
    tables = tables_of(shop(orders, users, {"cardinality": cardinality}))
    ids = {row["id"] for row in tables["users"]}
    codes = {row["code"] for row in tables["users"]}
    assert len(tables["orders"]) == orders
    assert all(row["user_id"] in ids for row in tables["orders"])
    # The two references of a row may name different parents; each names a real one.
    assert all(row["user_code"] in codes for row in tables["orders"])


def test_cardinality_shapes_the_children_per_parent() -> None:
    def counts(cardinality: str) -> list[int]:
        rows = tables_of(shop(8000, 1000, {"cardinality": cardinality}))["orders"]
        per_parent = Counter(row["user_id"] for row in rows)
        return [per_parent.get(str(1000 + i), 0) for i in range(1000)]

    even = counts("even")
    assert max(even) - min(even) <= 1 and sum(even) == 8000
    poisson = counts("poisson")
    assert 7.5 < sum(poisson) / 1000 < 8.5
    assert 5 < sum(1 for c in poisson if c <= 3) < 80  # P(X ≤ 3) ≈ 4 % for a Poisson(8)
    zipf = sorted(counts("zipf"), reverse=True)
    assert zipf[0] > 0.2 * 8000  # the busiest parent has a fifth of all children
    assert sum(1 for c in zipf if c == 0) > 500  # and most parents have none


def test_the_archive_holds_a_file_per_table_and_a_manifest() -> None:
    spec = parse_spec(shop())
    assert file_type(spec).file_extension == "zip"
    sink = io.BytesIO()
    assert write_dataset(spec, sink) == 800 + 5000
    archive = zipfile.ZipFile(io.BytesIO(sink.getvalue()))
    assert archive.namelist() == ["users.csv", "orders.csv", "manifest.json"]
    manifest = json.loads(archive.read("manifest.json"))
    assert [(t["table"], t["rows"]) for t in manifest["tables"]] == [
        ("users", 800),
        ("orders", 5000),
    ]
    again = io.BytesIO()
    write_dataset(parse_spec(shop()), again)
    assert hashlib.sha256(again.getvalue()).digest() == hashlib.sha256(sink.getvalue()).digest()


def test_the_first_table_is_the_same_file_as_without_the_others() -> None:
    alone = {k: v for k, v in shop().items() if k != "tables"}
    sink = io.BytesIO()
    write_dataset(parse_spec(alone), sink)
    with_others = io.BytesIO()
    write_dataset(parse_spec(shop()), with_others)
    assert zipfile.ZipFile(with_others).read("users.csv") == sink.getvalue()


def test_tables_get_streams_of_their_own() -> None:
    spec = shop()
    spec["tables"][0]["fields"].append({"name": "name", "type": "full_name"})
    tables = tables_of(spec)
    assert [r["name"] for r in tables["users"][:50]] != [r["name"] for r in tables["orders"][:50]]


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"table": "customers"}, "tables[0].fields[1].table", "no table 'customers'"),
        ({"field": "ident"}, "tables[0].fields[1].field", "no field 'ident'"),
        ({"field": "name"}, "tables[0].fields[1].field", "only a sequence or a unique"),
    ],
)
def test_references_that_cannot_resolve_are_refused(
    change: dict[str, str], path: str, words: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(shop(reference=change))
    assert caught.value.field == path
    assert words in caught.value.detail


def test_keys_drawn_partly_at_random_cannot_be_referenced() -> None:
    spec = shop()
    spec["fields"] = [*USERS_FIELDS, {"name": "ulid", "type": "ulid", "unique": True}]
    spec["tables"][0]["fields"][1]["field"] = "ulid"
    with pytest.raises(SpecError, match="at random"):
        parse_spec(spec)


def test_table_names_must_differ() -> None:
    spec = shop()
    spec["tables"][0]["name"] = "users"
    with pytest.raises(SpecError) as caught:
        parse_spec(spec)
    assert caught.value.field == "tables[0].name"


def test_a_table_alone_cannot_reference_one_it_does_not_have() -> None:
    orders_alone = shop()["tables"][0] | {"format": "csv", "seed": 1}
    with pytest.raises(SpecError) as caught:
        parse_spec(orders_alone)
    assert caught.value.field == "fields[1].table"
