"""Edge-case injection: the share asked for, a manifest that names every injected cell."""

from __future__ import annotations

from typing import Any

import msgspec

from generators.edge_cases import TEXT_HAZARDS
from generators.engine import edge_case_manifest, generate_block
from generators.spec import DatasetSpec, parse_spec

HAZARD_VALUES = {value for _, value in TEXT_HAZARDS}


def make(rate: float, email_rate: float = 0.1, **extra: Any) -> DatasetSpec:
    return parse_spec(
        {
            "name": "t",
            "rows": 65_536,
            "format": "csv",
            "locale": "ja_JP",
            "seed": 11,
            "edge_case_rate": rate,
            "fields": [
                {"name": "id", "type": "sequence"},
                {"name": "name", "type": "full_name"},
                {"name": "email", "type": "email", "edge_case_rate": email_rate},
            ],
        }
        | extra
    )


def test_the_manifest_names_exactly_the_cells_that_changed() -> None:
    clean = generate_block(make(0.0, email_rate=0.0), 0).to_pydict()
    spec = make(0.02)
    dirty = generate_block(spec, 0).to_pydict()
    manifest = {(cell.field, cell.row) for cell in edge_case_manifest(spec)}
    changed = {
        (field, row)
        for field in ("name", "email")
        for row, (before, after) in enumerate(zip(clean[field], dirty[field], strict=True))
        if before != after
    }
    assert changed == manifest
    assert all(dirty[field][row] in HAZARD_VALUES for field, row in manifest)
    assert dirty["id"] == clean["id"]  # a type with no boundary values of its own is untouched


def test_rates_per_dataset_and_per_field_are_honoured() -> None:
    cells = list(edge_case_manifest(make(0.02)))
    by_field = {f: sum(1 for c in cells if c.field == f) / 65_536 for f in ("name", "email")}
    assert 0.015 < by_field["name"] < 0.025
    assert 0.09 < by_field["email"] < 0.11


def test_japanese_hazards_are_among_the_injected_values() -> None:
    values = set(generate_block(make(0.3), 0).column("name").to_pylist())
    assert {"𩸽", "ｱｲｳｴｵｶﾞｷﾞ", "１２３４５６７８９０", "①②髙﨑"} <= values


def test_unique_fields_never_get_edge_cases() -> None:
    spec = make(0.5)
    fields = [msgspec.structs.replace(spec.fields[0], unique=True), *spec.fields[1:]]
    spec = msgspec.structs.replace(spec, fields=fields)
    assert not any(cell.field == "id" for cell in edge_case_manifest(spec))


def test_injection_is_deterministic() -> None:
    assert generate_block(make(0.05), 0) == generate_block(make(0.05), 0)


def test_numbers_and_dates_get_their_own_boundaries() -> None:
    spec = parse_spec(
        {
            "name": "t",
            "rows": 20_000,
            "format": "csv",
            "seed": 5,
            "edge_case_rate": 0.05,
            "fields": [
                {"name": "age", "type": "integer", "min": 18, "max": 90},
                {"name": "price", "type": "decimal", "min": 1, "max": 99.99, "decimals": 2},
                {"name": "day", "type": "date", "start": "2024-01-01", "end": "2024-12-31"},
            ],
        }
    )
    table = generate_block(spec, 0).to_pydict()
    assert {17, 18, 90, 91} <= set(table["age"])
    assert {"0.99", "1.00", "99.99", "100.00"} <= {str(v) for v in table["price"]}
    days = {str(v) for v in table["day"]}
    assert {"2023-12-31", "2024-01-01", "2024-12-31", "2025-01-01", "2038-01-19"} <= days
    kinds = {cell.kind for cell in edge_case_manifest(spec)}
    assert {"below_min", "min", "max", "above_max"} <= kinds
