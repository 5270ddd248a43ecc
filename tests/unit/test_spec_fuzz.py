"""The spec parser under fuzzing: every input either parses or is refused with a SpecError that
names a field (the API's 422), never another exception and never a long wait; and a spec it
accepts can be generated and written."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators.catalog import FIELD_TYPES
from generators.errors import SpecError
from generators.output import write_dataset
from generators.spec import DatasetSpec, parse_spec
from generators.writers import WRITERS, FormatOptions

EXAMPLES = [
    json.loads(path.read_text())
    for path in sorted((Path(__file__).parents[2] / "examples").glob("*.json"))
]
SECONDS_PER_INPUT = 10.0  # far above any real spec's time: only a blow-up gets near it
LONGEST_DETAIL = 4000  # an error names the bad value, never echoes a huge one whole

FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD_NUMBERS: list[int | float] = [0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63)]
ODD_NUMBERS += [-(2**63) - 1, 2**64, 10**30, 0.5, -0.0, 1e-300, 1e300, 5e-324]
ODD_NUMBERS += [float("inf"), float("-inf"), float("nan")]
ODD_TEXTS = ["", " ", "a", "{", "}", "{a}", "{b|upper}", "{{", "x{a}y{nope}", "(a|b)*c"]
ODD_TEXTS += ["a{1000}", "[z-a]", "\\", "\\1", "(?=a)", "(a*)*b", ".{100}{100}", "\x00"]
ODD_TEXTS += ["\ud800", "UTC", "Asia/Tokyo", "2024-02-30", "2024-01-01", "23:59:59"]
ODD_TEXTS += ["2024-01-01T00:00:00+09:00", "JPY", "JP", "csv", "ja_JP", "users", "a" * 70]
ODD_TEXTS += ["x" * 100_000]
numbers = st.sampled_from(ODD_NUMBERS) | st.integers() | st.floats()
texts = st.text(max_size=30) | st.sampled_from(ODD_TEXTS)
json_scalars = st.none() | st.booleans() | numbers | texts
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = ["a", "b", "c"]


def parsed_or_refused(body: bytes) -> DatasetSpec | None:
    """The spec, or None when parse_spec refused the body with a SpecError a user can act on."""
    started = time.monotonic()
    try:
        spec = parse_spec(body)
    except SpecError as error:
        assert error.field and isinstance(error.field, str)
        assert error.detail and len(error.detail) <= LONGEST_DETAIL, error.detail[:200]
        spec = None
    assert time.monotonic() - started < SECONDS_PER_INPUT
    return spec


@FUZZ
@given(json_values)
def test_any_json_value_parses_or_is_refused(value: Any) -> None:
    parsed_or_refused(json.dumps(value).encode())


@pytest.mark.parametrize(
    "body",
    [b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000],
    ids=["array", "object"],
)
def test_json_nested_deeper_than_the_decoder_goes_is_refused(body: bytes) -> None:
    with pytest.raises(SpecError) as refusal:
        parse_spec(body)
    assert refusal.value.field == "body" and "nested too deeply" in refusal.value.detail


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_are_refused(body: bytes) -> None:
    parsed_or_refused(body)


@st.composite
def garbled_examples(draw: st.DrawFn) -> bytes:
    """The bytes of a spec from examples/ with a few bytes replaced, dropped or put in."""
    body = bytearray(json.dumps(draw(st.sampled_from(EXAMPLES)), ensure_ascii=False).encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body) - 1))
        byte = draw(st.integers(0, 255) | st.sampled_from(list(b'{}[]":,\\0e-')))
        action = draw(st.sampled_from(["replace", "drop", "insert"]))
        if action == "replace":
            body[at] = byte
        elif action == "drop":
            del body[at]
        else:
            body.insert(at, byte)
    return bytes(body)


@FUZZ
@given(garbled_examples())
def test_garbled_example_bodies_parse_or_are_refused(body: bytes) -> None:
    parsed_or_refused(body)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a decoded JSON value, the value's own (empty) path first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@st.composite
def mutated_examples(draw: st.DrawFn) -> Any:
    """A spec from examples/ with one to three of its values replaced, removed or added to."""
    spec = json.loads(json.dumps(draw(st.sampled_from(EXAMPLES))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(spec)))
        if not path:
            continue
        *parents, last = path
        owner = spec
        for step in parents:
            owner = owner[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            owner[last] = draw(json_values)
        elif action == "remove":
            del owner[last]
        elif isinstance(owner, dict):
            owner[draw(texts)] = draw(json_values)
        else:
            owner.insert(last, draw(json_values))
    return spec


@FUZZ
@given(mutated_examples())
def test_mutated_example_specs_parse_or_are_refused(spec: Any) -> None:
    parsed_or_refused(json.dumps(spec).encode())


def _option_names(options: type[msgspec.Struct]) -> list[str]:
    return [name for name in options.__struct_fields__ if name not in ("name", "type")]


def _typed_values(kind: mi.Type) -> st.SearchStrategy[Any]:
    """JSON values the option's declared type accepts, its bounds included."""
    if isinstance(kind, mi.IntType):
        low = kind.ge if kind.ge is not None else -(2**63)
        high = kind.le if kind.le is not None else 2**63 - 1
        return st.sampled_from([low, high]) | st.integers(low, high)
    if isinstance(kind, mi.FloatType):
        return st.floats(kind.ge, kind.le, allow_nan=False, allow_infinity=False)
    if isinstance(kind, mi.StrType):
        return st.sampled_from(["", "x", "{a}", "{b|lower}-{c}"]) | texts
    if isinstance(kind, mi.LiteralType):
        return st.sampled_from(kind.values)
    if isinstance(kind, mi.BoolType):
        return st.booleans()
    if isinstance(kind, mi.DateType):
        return st.dates().map(str)
    if isinstance(kind, mi.DateTimeType):
        return st.datetimes().map(lambda moment: moment.isoformat())
    if isinstance(kind, mi.TimeType):
        return st.times().map(str)
    if isinstance(kind, mi.ListType):
        return st.lists(_typed_values(kind.item_type), min_size=1, max_size=4)
    if isinstance(kind, mi.UnionType):
        return st.one_of([_typed_values(member) for member in kind.types])
    return st.none()


@st.composite
def fields(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A field of any type with a few of its own or the common options, each at a value of
    its declared type (bounds included) or at an odd one."""
    type_name = draw(st.sampled_from(sorted(FIELD_TYPES)))
    options = mi.type_info(FIELD_TYPES[type_name].options)
    assert isinstance(options, mi.StructType)
    declared = {field.name: field.type for field in options.fields}
    own = _option_names(FIELD_TYPES[type_name].options)
    names = draw(st.lists(st.sampled_from(own), max_size=3, unique=True))
    odd = json_scalars | st.lists(json_scalars, max_size=4)
    values = {n: draw(_typed_values(declared[n]) if draw(st.booleans()) else odd) for n in names}
    return {"name": name, "type": type_name} | values


@st.composite
def small_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A one-table spec of up to 40 rows whose fields are of any type and odd options."""
    names = FIELD_NAMES[: draw(st.integers(1, len(FIELD_NAMES)))]
    format_name = draw(st.sampled_from(list(WRITERS)))
    format_options = draw(
        st.dictionaries(st.sampled_from(FormatOptions.__struct_fields__), json_scalars, max_size=2)
    )
    return {
        "name": "fuzz",
        "rows": draw(st.integers(1, 40)),
        "format": format_name,
        "locale": draw(st.sampled_from(["en_US", "ja_JP", "de_DE"])),
        "seed": draw(st.integers(0, 2**63 - 1)),
        "fields": [draw(fields(name)) for name in names],
        "edge_case_rate": draw(st.sampled_from([0.0, 0.5, 1.0])),
        "format_options": format_options,
        "compression": draw(st.sampled_from(["none", "gzip"])),
    }


@settings(FUZZ, max_examples=1000)
@given(small_specs())
def test_a_spec_that_parses_can_be_generated_and_written(spec: dict[str, Any]) -> None:
    parsed = parsed_or_refused(json.dumps(spec).encode())
    if parsed is not None:
        sink = io.BytesIO()
        assert write_dataset(parsed, sink) == parsed.rows
        assert sink.getvalue()
