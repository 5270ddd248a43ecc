"""The named-SQL loader: every statement found by name, and mistakes caught at load."""

from __future__ import annotations

import pytest

from storage.database import migrations
from storage.queries import parse_queries, query


def test_statements_are_split_by_their_name_headers() -> None:
    text = "-- name: one\nSELECT 1;\n\n-- name: two\n-- a comment\nSELECT 2;\n"
    assert parse_queries(text) == {"one": "SELECT 1", "two": "-- a comment\nSELECT 2"}


def test_a_name_used_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;")


def test_the_shipped_queries_load_by_name() -> None:
    assert query("claim_job").startswith("-- A worker takes")
    with pytest.raises(KeyError):
        query("no_such_query")


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    versions = [m.version for m in migrations()]
    assert versions == list(range(1, len(versions) + 1))
