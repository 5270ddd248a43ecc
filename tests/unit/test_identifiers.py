"""Identifiers as a user sees them: valid UUIDv7/ULID bits and order, valid barcodes, no repeats."""

import datetime as dt
import re
import uuid
from typing import Any

import pytest

from generators.engine import block_count, generate_block
from generators.errors import SpecError
from generators.spec import parse_spec

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2025, 3, 1, 0, 0, 2, tzinfo=dt.UTC)


def blocks(field: dict[str, Any], rows: int = 5000, locale: str = "en_US") -> list[list[Any]]:
    """Return each block's values of one field."""
    spec = parse_spec(
        {
            "name": "ids",
            "rows": rows,
            "format": "csv",
            "locale": locale,
            "seed": 11,
            "fields": [{"name": "x", **field}],
        }
    )
    return [generate_block(spec, b).column("x").to_pylist() for b in range(block_count(spec))]


def values(field: dict[str, Any], rows: int = 5000, locale: str = "en_US") -> list[Any]:
    return [value for block in blocks(field, rows, locale) for value in block]


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def gs1_valid(code: str) -> bool:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code[:12]))
    return len(code) == 13 and code.isdigit() and (10 - total % 10) % 10 == int(code[12])


def test_uuid7_has_version_variant_and_timestamps_in_range() -> None:
    field = {"type": "uuid7", "start": START.isoformat(), "end": END.isoformat()}
    for text in values(field):
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert ms(START) <= parsed.int >> 80 <= ms(END)


def test_uuid7_rises_row_by_row_within_a_block() -> None:
    # Two seconds for 5,000 rows: many share a millisecond, and still sort in row order.
    field = {"type": "uuid7", "start": START.isoformat(), "end": END.isoformat()}
    (block,) = blocks(field)
    high_halves = [text[:18] for text in block]
    assert high_halves == sorted(high_halves)
    stamps = [uuid.UUID(text).int >> 80 for text in block]
    assert len(set(stamps)) < len(stamps)


def crockford_value(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_ulid_decodes_to_its_timestamp_in_range_and_rises() -> None:
    field = {"type": "ulid", "start": START.isoformat(), "end": END.isoformat()}
    (block,) = blocks(field)
    stamps = []
    for text in block:
        assert re.fullmatch(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", text)
        assert crockford_value(text) < 2**128
        stamp = crockford_value(text[:10])
        assert crockford_value(text) >> 80 == stamp
        stamps.append(stamp)
    assert all(ms(START) <= s <= ms(END) for s in stamps)
    assert stamps == sorted(stamps)
    assert block == sorted(block)


def test_random_ids_have_their_length_and_alphabet() -> None:
    assert all(re.fullmatch(r"[0-9a-f]{32}", v) for v in values({"type": "hex_id"}))
    assert all(re.fullmatch(r"[0-9a-f]{7}", v) for v in values({"type": "hex_id", "length": 7}))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{21}", v) for v in values({"type": "nanoid"}))


def test_barcodes_have_valid_check_digits_and_prefixes() -> None:
    for code in values({"type": "ean13", "prefix": "400"}):
        assert gs1_valid(code) and code.startswith("400")
    for code in values({"type": "isbn13"}):
        assert gs1_valid(code) and code[:3] in {"978", "979"}
    jan = values({"type": "jan_code"}, locale="ja_JP")
    assert all(gs1_valid(code) and code[:2] in {"45", "49"} for code in jan)
    assert {code[:2] for code in jan} == {"45", "49"}


@pytest.mark.parametrize(
    "field",
    [
        {"type": "uuid7"},
        {"type": "ulid"},
        {"type": "hex_id", "length": 6},  # 16.7M possible values
        {"type": "nanoid", "length": 4},  # 16.7M possible values
        {"type": "ean13", "prefix": "4006"},  # 100M possible values
        {"type": "isbn13"},
        {"type": "jan_code"},
    ],
)
def test_unique_identifiers_never_repeat_over_200k_rows(field: dict[str, Any]) -> None:
    drawn = values({**field, "unique": True}, rows=200_000)
    assert len(set(drawn)) == 200_000
    if field["type"] in {"ean13", "isbn13", "jan_code"}:
        assert all(gs1_valid(code) for code in drawn[::997])
    if field["type"] == "uuid7":
        assert all(uuid.UUID(text).version == 7 for text in drawn[::997])


def test_unique_barcodes_refuse_more_rows_than_numbers() -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(
            {
                "name": "ids",
                "rows": 200_000,
                "format": "csv",
                "seed": 1,
                "fields": [{"name": "x", "type": "ean13", "prefix": "4006381", "unique": True}],
            }
        )
    assert raised.value.code == "not_enough_unique_values"
    assert "100,000" in raised.value.detail


def test_same_seed_gives_the_same_identifiers() -> None:
    field = {"type": "ulid"}
    assert values(field, rows=300) == values(field, rows=300)
