"""Plain values: sequences, numbers, booleans, choices, UUIDs and dates."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import (
    INT64_MAX,
    INT64_MIN,
    BlockContext,
    FieldOptions,
    FieldType,
    Int64,
    Rate,
)
from generators.vectors import WeightedTable, fixed_width_strings

EPOCH = dt.date(1970, 1, 1)
HEX = "0123456789abcdef"
MAX_CHOICE_VALUES = 10_000


class SequenceField(FieldOptions, tag="sequence", frozen=True):
    start: Int64 = 1
    step: Int64 = 1

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        last = self.start + self.step * (rows - 1)
        if not INT64_MIN <= last <= INT64_MAX:
            yield (
                "step",
                f"the sequence would reach {last}, outside the 64-bit integer range",
            )


class IntegerField(FieldOptions, tag="integer", frozen=True):
    min: Int64 = 0
    max: Int64 = 100

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.min > self.max:
            yield "min", f"min ({self.min}) is greater than max ({self.max})"


class FloatField(FieldOptions, tag="float", frozen=True):
    min: float = 0.0
    max: float = 100.0
    decimals: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        for option, value in (("min", self.min), ("max", self.max)):
            if not math.isfinite(value):
                yield option, f"{option} must be a finite number"
        if self.min > self.max:
            yield "min", f"min ({self.min}) is greater than max ({self.max})"
        elif not math.isfinite(self.max - self.min):
            yield "max", "max - min is too large to draw from"


class BooleanField(FieldOptions, tag="boolean", frozen=True):
    true_rate: Rate = 0.5


class ChoiceField(FieldOptions, tag="choice", frozen=True):
    values: Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_CHOICE_VALUES)]
    weights: list[float] | None = None

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        for i, value in enumerate(self.values):
            if not value:
                yield f"values[{i}]", "values must be non-empty strings"
        if self.weights is None:
            return
        if len(self.weights) != len(self.values):
            yield (
                "weights",
                f"{len(self.weights)} weights for {len(self.values)} values; give one per value",
            )
        elif not all(math.isfinite(w) and w >= 0 for w in self.weights):
            yield "weights", "weights must be finite numbers >= 0"
        elif sum(self.weights) <= 0:
            yield "weights", "at least one weight must be greater than 0"


class Uuid4Field(FieldOptions, tag="uuid4", frozen=True):
    pass


class DateField(FieldOptions, tag="date", frozen=True):
    start: dt.date = dt.date(2000, 1, 1)
    end: dt.date = dt.date(2030, 12, 31)

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.start > self.end:
            yield "start", f"start ({self.start}) is after end ({self.end})"


def sequence_column(options: SequenceField, block: BlockContext) -> pa.Array:
    return pa.array(block.row_indices() * options.step + options.start, type=pa.int64())


def integer_column(options: IntegerField, block: BlockContext) -> pa.Array:
    values = block.rng.integers(
        options.min, options.max, size=block.size, dtype=np.int64, endpoint=True
    )
    return pa.array(values, type=pa.int64())


def float_column(options: FloatField, block: BlockContext) -> pa.Array:
    values = block.rng.uniform(options.min, options.max, size=block.size)
    return pa.array(np.round(values, options.decimals), type=pa.float64())


def boolean_column(options: BooleanField, block: BlockContext) -> pa.Array:
    return pa.array(block.rng.random(block.size) < options.true_rate, type=pa.bool_())


def choice_column(options: ChoiceField, block: BlockContext) -> pa.Array:
    values = pa.array(options.values, type=pa.string())
    if options.weights is None:
        picks = block.rng.integers(0, len(options.values), size=block.size, dtype=np.int32)
    else:
        picks = WeightedTable.from_weights(options.weights).draw(block.rng, block.size)
    return values.take(pa.array(picks))


def uuid4_column(options: Uuid4Field, block: BlockContext) -> pa.Array:
    # 122 random bits as hex; the version nibble is 4 and the variant nibble 8..b.
    template = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
    return fixed_width_strings(block.rng, block.size, template, {"x": HEX, "y": "89ab"})


def date_column(options: DateField, block: BlockContext) -> pa.Array:
    first = (options.start - EPOCH).days
    last = (options.end - EPOCH).days
    days = block.rng.integers(first, last, size=block.size, dtype=np.int32, endpoint=True)
    return pa.array(days, type=pa.date32())


TYPES = (
    FieldType(
        SequenceField,
        "number",
        "Consecutive integers from start by step, numbered by absolute row.",
        "1",
        sequence_column,
    ),
    FieldType(IntegerField, "number", "Uniform integer in [min, max].", "42", integer_column),
    FieldType(
        FloatField,
        "number",
        "Uniform number in [min, max] rounded to decimals places.",
        "37.25",
        float_column,
    ),
    FieldType(BooleanField, "basic", "true with probability true_rate.", "true", boolean_column),
    FieldType(
        ChoiceField,
        "basic",
        "One of values, uniformly or by relative weights.",
        "gold",
        choice_column,
    ),
    FieldType(
        Uuid4Field,
        "identifier",
        "Random version-4 UUID.",
        "3f2b8c1e-9a4d-4e57-b1c2-7d8e9f0a1b2c",
        uuid4_column,
    ),
    FieldType(
        DateField,
        "datetime",
        "Uniform calendar date in [start, end], as YYYY-MM-DD.",
        "2017-08-23",
        date_column,
    ),
)
