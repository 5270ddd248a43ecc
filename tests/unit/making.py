"""Data made by the engine for a test: one spec shape, every block, in one place."""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from generators.engine import block_count, generate_block
from generators.spec import parse_spec


def made_table(
    fields: list[dict[str, Any]], *, rows: int, seed: int, locale: str = "en_US", **extra: Any
) -> pa.Table:
    """Every row of a one-table dataset with these fields, all blocks together."""
    spec = parse_spec(
        {"name": "t", "rows": rows, "format": "csv", "locale": locale, "seed": seed}
        | {"fields": fields}
        | extra
    )
    return pa.concat_tables(generate_block(spec, b) for b in range(block_count(spec)))


def made_column(field: dict[str, Any], *, rows: int, seed: int, locale: str = "en_US") -> pa.Array:
    """Every value of one field (called "x"), all blocks together."""
    table = made_table([{"name": "x", **field}], rows=rows, seed=seed, locale=locale)
    return table.column("x").combine_chunks()
