"""Behaviour of the generation engine as a user of the files would see it."""

import csv
import datetime as dt
import io
import json
import re
import uuid
from collections import Counter
from typing import Any

import pytest
from faker.providers.person.en_US import Provider as EnUsPerson
from faker.providers.person.ja_JP import Provider as JaJpPerson
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.catalog import FIELD_TYPES, field_type_names
from generators.engine import BLOCK_ROWS, block_count, generate_block
from generators.errors import SpecError
from generators.output import iter_encoded, write_dataset
from generators.spec import DatasetSpec, parse_spec, spec_to_dict, with_seed

USERS_FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "sequence"},
    {"name": "name", "type": "full_name"},
    {"name": "email", "type": "email"},
    {"name": "age", "type": "integer", "min": 18, "max": 90},
]


def make_spec(**overrides: Any) -> DatasetSpec:
    body: dict[str, Any] = {
        "name": "users",
        "rows": 1000,
        "format": "csv",
        "locale": "ja_JP",
        "seed": 42,
        "fields": USERS_FIELDS,
    }
    body.update(overrides)
    return parse_spec(body)


def render(spec: DatasetSpec) -> bytes:
    sink = io.BytesIO()
    write_dataset(spec, sink)
    return sink.getvalue()


def column(spec: DatasetSpec, name: str, block: int = 0) -> list[Any]:
    values: list[Any] = generate_block(spec, block).column(name).to_pylist()
    return values


# --- reproducibility and sharding -------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_same_seed_gives_identical_bytes_and_another_seed_does_not(fmt: str) -> None:
    first = render(make_spec(format=fmt, seed=7))
    again = render(make_spec(format=fmt, seed=7))
    other = render(make_spec(format=fmt, seed=8))
    assert first == again
    assert first != other


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_blocks_generated_separately_concatenate_to_the_whole_file(fmt: str) -> None:
    spec = make_spec(format=fmt, rows=150_000)
    assert block_count(spec) == 3
    shards = [
        b"".join(data for _, data in iter_encoded(spec, 0, 1)),
        b"".join(data for _, data in iter_encoded(spec, 1, 3)),
    ]
    assert b"".join(shards) == render(spec)
    assert sum(rows for rows, _ in iter_encoded(spec)) == 150_000


def test_each_block_draws_fresh_values() -> None:
    spec = make_spec(rows=2 * BLOCK_ROWS)
    assert column(spec, "email", block=0) != column(spec, "email", block=1)


def test_adding_a_field_leaves_the_other_columns_unchanged() -> None:
    before = make_spec()
    after = make_spec(fields=[*USERS_FIELDS[:2], {"name": "x", "type": "uuid4"}, *USERS_FIELDS[2:]])
    for name in ("name", "email", "age"):
        assert column(before, name) == column(after, name)


def test_changing_null_rate_keeps_the_non_null_values() -> None:
    plain = column(make_spec(), "age")
    holey = column(make_spec(fields=[{**USERS_FIELDS[3], "null_rate": 0.5}]), "age")
    assert all(h is None or h == p for p, h in zip(plain, holey, strict=True))


def test_generating_needs_a_seed_and_with_seed_sets_one() -> None:
    unseeded = make_spec(seed=None)
    with pytest.raises(ValueError, match="seed"):
        generate_block(unseeded, 0)
    assert render(with_seed(unseeded, 42)) == render(make_spec(seed=42))


def test_spec_round_trips_through_spec_to_dict() -> None:
    spec = make_spec(fields=[*USERS_FIELDS, {"name": "d", "type": "date", "start": "2021-01-01"}])
    as_dict = spec_to_dict(spec)
    assert as_dict["fields"][4] == {
        "type": "date",
        "name": "d",
        "null_rate": 0.0,
        "unique": False,
        "edge_case_rate": None,
        "locale": None,
        "start": "2021-01-01",
        "end": "2030-12-31",
        "distribution": "uniform",
        "stddev_days": None,
        "center": None,
    }
    assert parse_spec(json.dumps(as_dict)) == spec


# --- what the files contain ---------------------------------------------------------


def test_csv_reads_back_with_header_row_count_ranges_and_sequence_across_blocks() -> None:
    spec = make_spec(rows=150_000)
    reader = csv.reader(io.StringIO(render(spec).decode("utf-8"), newline=""))
    header = next(reader)
    rows = list(reader)
    assert header == ["id", "name", "email", "age"]
    assert len(rows) == 150_000
    assert [int(r[0]) for r in rows] == list(range(1, 150_001))
    ages = {int(r[3]) for r in rows}
    assert min(ages) == 18 and max(ages) == 90
    assert rows[BLOCK_ROWS - 1][0] == str(BLOCK_ROWS) and rows[BLOCK_ROWS][0] == str(BLOCK_ROWS + 1)


def test_csv_uses_lf_line_ends_and_quotes_values_that_need_it() -> None:
    spec = make_spec(
        rows=50,
        fields=[
            {"name": "id", "type": "sequence"},
            {
                "name": "pick",
                "type": "choice",
                "values": ["a,b", 'say "hi"', "two\nlines"],
            },
        ],
    )
    data = render(spec)
    assert b"\r\n" not in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == 51
    assert {r[1] for r in rows[1:]} == {"a,b", 'say "hi"', "two\nlines"}


def test_sequence_honours_start_and_step_from_the_absolute_row() -> None:
    spec = make_spec(
        rows=BLOCK_ROWS + 10,
        fields=[{"name": "n", "type": "sequence", "start": 100, "step": -3}],
    )
    assert column(spec, "n", block=1)[:2] == [
        100 - 3 * BLOCK_ROWS,
        100 - 3 * (BLOCK_ROWS + 1),
    ]


def test_jsonl_parses_back_with_unescaped_japanese_nulls_and_iso_dates() -> None:
    spec = make_spec(
        format="jsonl",
        rows=500,
        fields=[
            *USERS_FIELDS,
            {
                "name": "joined",
                "type": "date",
                "start": "2020-01-01",
                "end": "2020-12-31",
            },
            {
                "name": "score",
                "type": "float",
                "min": 0,
                "max": 1,
                "decimals": 3,
                "null_rate": 0.5,
            },
        ],
    )
    data = render(spec)
    assert "佐藤".encode() in data and b"\\u" not in data
    records = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert len(records) == 500
    assert list(records[0]) == ["id", "name", "email", "age", "joined", "score"]
    assert all(re.fullmatch(r"2020-\d\d-\d\d", r["joined"]) for r in records)
    scores = [r["score"] for r in records]
    assert None in scores
    assert all(s is None or (0 <= s <= 1 and round(s, 3) == s) for s in scores)


def test_ja_jp_full_name_puts_family_name_first_from_fakers_lists() -> None:
    family = {kanji for kanji, _, _ in JaJpPerson.last_name_pairs}
    given_names = {kanji for kanji, _, _ in JaJpPerson.first_name_pairs}
    names = column(make_spec(rows=2000), "name")
    for full in names:
        family_name, given_name = full.split(" ")
        assert family_name in family and given_name in given_names


def test_en_us_full_name_is_given_then_family_and_follows_fakers_weights() -> None:
    spec = make_spec(locale="en_US", rows=BLOCK_ROWS)
    names = [n.split(" ") for n in column(spec, "name")]
    assert all(g in EnUsPerson.first_names and f in EnUsPerson.last_names for g, f in names)
    family_counts = Counter(f for _, f in names)
    weights = EnUsPerson.last_names
    expected_smith = BLOCK_ROWS * weights["Smith"] / sum(weights.values())
    assert family_counts.most_common(1)[0][0] == "Smith"
    assert abs(family_counts["Smith"] - expected_smith) < 0.15 * expected_smith


@pytest.mark.parametrize(
    ("locale", "domain"),
    [("ja_JP", r"example\.(jp|co\.jp|ne\.jp)"), ("en_US", r"example\.(com|org|net)")],
)
def test_emails_are_lower_case_ascii_at_example_domains_and_rarely_repeat(
    locale: str, domain: str
) -> None:
    emails = column(make_spec(locale=locale, rows=20_000), "email")
    assert all(re.fullmatch(rf"[a-z]+\.[a-z]+\d+@{domain}", e) for e in emails)
    assert len(set(emails)) > 0.99 * len(emails)


def test_ja_jp_emails_use_the_romaji_of_fakers_names() -> None:
    romaji = {r.lower() for _, _, r in JaJpPerson.first_name_pairs}
    email = column(make_spec(rows=10), "email")[0]
    assert email.split(".")[0] in romaji


def test_null_rate_is_close_to_what_was_asked() -> None:
    spec = make_spec(rows=BLOCK_ROWS, fields=[{"name": "e", "type": "email", "null_rate": 0.3}])
    values = column(spec, "e")
    assert abs(values.count(None) / len(values) - 0.3) < 0.01


def test_other_types_produce_well_formed_values() -> None:
    spec = make_spec(
        rows=5000,
        fields=[
            {"name": "u", "type": "uuid4"},
            {"name": "d", "type": "date", "start": "2024-02-28", "end": "2024-03-01"},
            {"name": "b", "type": "boolean", "true_rate": 0.9},
            {"name": "c", "type": "choice", "values": ["a", "b"], "weights": [0, 1]},
            {"name": "p", "type": "phone"},
        ],
    )
    table = generate_block(spec, 0).to_pydict()
    assert all(uuid.UUID(u).version == 4 and str(uuid.UUID(u)) == u for u in table["u"])
    assert set(table["d"]) == {
        dt.date(2024, 2, 28),
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 1),
    }
    assert 0.87 < sum(table["b"]) / 5000 < 0.93
    assert set(table["c"]) == {"b"}
    # Mobile (0X0-XXXX-XXXX) or landline: area code, exchange and line make ten digits.
    for phone in table["p"]:
        digits = phone.replace("-", "")
        assert re.fullmatch(r"0\d+-\d+-\d{4}", phone)
        assert len(digits) == (11 if re.match(r"0[789]0-", phone) else 10), phone


# A reference needs a second table; tests/unit/test_tables.py covers it.
@pytest.mark.parametrize("type_name", [n for n in field_type_names() if n != "reference"])
def test_every_catalog_type_is_documented_and_generates(type_name: str) -> None:
    entry = FIELD_TYPES[type_name]
    assert entry.description and entry.example
    required: dict[str, dict[str, Any]] = {
        "choice": {"values": ["x"]},
        "template": {"template": "{first_name}!"},
        "regex": {"pattern": "[A-Z]{2}-[0-9]{4}"},
    }
    extra = required.get(type_name, {})
    spec = make_spec(rows=10, fields=[{"name": "f", "type": type_name, **extra}])
    assert len(column(spec, "f")) == 10


@settings(max_examples=40, deadline=None)
@given(bounds=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=2, max_size=2).map(sorted))
def test_integers_stay_within_any_valid_bounds(bounds: list[int]) -> None:
    low, high = bounds
    spec = make_spec(rows=200, fields=[{"name": "n", "type": "integer", "min": low, "max": high}])
    assert all(low <= v <= high for v in column(spec, "n"))


# --- rejected specs -------------------------------------------------------------------


def field_list(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*USERS_FIELDS, *extra]


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"rows": 0}, "rows", "invalid_field"),
        ({"rows": 1_000_000_001}, "rows", "invalid_field"),
        ({"rows": "10"}, "rows", "invalid_field"),
        ({"seed": -1}, "seed", "invalid_field"),
        ({"seed": 2**63}, "seed", "invalid_field"),
        ({"format": "xml"}, "format", "unsupported_format"),
        ({"locale": "xx_XX"}, "locale", "unsupported_locale"),
        ({"colour": "red"}, "colour", "unknown_option"),
        ({"fields": []}, "fields", "invalid_field"),
        (
            {"fields": [{"name": f"f{i}", "type": "uuid4"} for i in range(201)]},
            "fields",
            "invalid_field",
        ),
        ({"fields": field_list({"type": "email"})}, "fields[4].name", "invalid_field"),
        (
            {"fields": field_list({"name": "", "type": "email"})},
            "fields[4].name",
            "invalid_field",
        ),
        (
            {"fields": field_list({"name": "x" * 65, "type": "email"})},
            "fields[4].name",
            "invalid_field",
        ),
        (
            {"fields": field_list({"name": "age", "type": "email"})},
            "fields[4].name",
            "invalid_field",
        ),
        ({"fields": field_list({"name": "e"})}, "fields[4].type", "invalid_field"),
        (
            {"fields": field_list({"name": "n", "type": "integer", "min": "1"})},
            "fields[4].min",
            "invalid_field",
        ),
        (
            {"fields": field_list({"name": "n", "type": "integer", "min": 5, "max": 4})},
            "fields[4].min",
            "invalid_field",
        ),
        (
            {"fields": field_list({"name": "n", "type": "integer", "mx": 4})},
            "fields[4].mx",
            "unknown_option",
        ),
        (
            {"fields": field_list({"name": "n", "type": "email", "null_rate": 1.5})},
            "fields[4].null_rate",
            "invalid_field",
        ),
        (
            {"fields": field_list({"name": "c", "type": "choice", "values": []})},
            "fields[4].values",
            "invalid_field",
        ),
        (
            {
                "fields": field_list(
                    {"name": "c", "type": "choice", "values": ["a"], "weights": [1, 2]}
                )
            },
            "fields[4].weights",
            "invalid_field",
        ),
        (
            {"fields": field_list({"name": "d", "type": "date", "start": "2021-02-30"})},
            "fields[4].start",
            "invalid_field",
        ),
        (
            {
                "fields": field_list(
                    {
                        "name": "d",
                        "type": "date",
                        "start": "2022-01-01",
                        "end": "2021-01-01",
                    }
                )
            },
            "fields[4].start",
            "invalid_field",
        ),
        (
            {
                "rows": 10,
                "fields": [{"name": "s", "type": "sequence", "start": 2**63 - 5}],
            },
            "fields[0].step",
            "invalid_field",
        ),
    ],
)
def test_bad_specs_name_the_offending_field(changes: dict[str, Any], path: str, code: str) -> None:
    body = {
        "name": "users",
        "rows": 1000,
        "format": "csv",
        "seed": 1,
        "fields": USERS_FIELDS,
    }
    body.update(changes)
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(body))
    assert (caught.value.field, caught.value.code) == (path, code)
    assert caught.value.detail


def test_malformed_json_is_blamed_on_the_body() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(b'{"rows": 10,')
    assert caught.value.field == "body"


def test_unknown_type_suggests_the_closest_name() -> None:
    body = {
        "name": "u",
        "rows": 1,
        "format": "csv",
        "fields": field_list({"name": "e", "type": "emial"}),
    }
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.to_dict() == {
        "error": "unknown_type",
        "field": "fields[4].type",
        "detail": "unknown type 'emial'; did you mean 'email'?",
    }


def test_unknown_option_suggests_the_closest_option() -> None:
    body = {
        "name": "u",
        "rows": 1,
        "format": "csv",
        "fields": field_list({"name": "n", "type": "integer", "mx": 4}),
    }
    with pytest.raises(SpecError) as caught:
        parse_spec(body)
    assert caught.value.detail == "unknown option 'mx' for type 'integer'; did you mean 'max'?"


@settings(max_examples=150, deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(["name", "rows", "format", "locale", "seed", "fields", "extra"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
def test_any_malformed_spec_is_rejected_with_a_spec_error(body: dict[str, Any]) -> None:
    try:
        parse_spec(body)
    except SpecError as error:
        assert error.field and error.detail
