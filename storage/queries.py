"""The named SQL statements of `storage/sql/*.sql`, loaded once."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

_HEADER = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    """Statements of one .sql file by the name in their `-- name: …` header."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip().rstrip(";")
    return queries


@cache
def query(name: str) -> str:
    """The SQL text of the statement called `name` in any of storage/sql/*.sql."""
    return _all_queries()[name]


@cache
def _all_queries() -> dict[str, str]:
    merged: dict[str, str] = {}
    for entry in sorted(files("storage.sql").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            for name, sql in parse_queries(entry.read_text(encoding="utf-8")).items():
                if name in merged:
                    raise ValueError(f"query {name!r} is defined in two files")
                merged[name] = sql
    return merged
