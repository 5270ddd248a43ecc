"""Plain values: sequences, booleans, choices and UUIDs.

Numbers live in ``numbers.py`` and dates and times in ``datetimes.py``.
"""

from __future__ import annotations

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

HEX = "0123456789abcdef"
MAX_CHOICE_VALUES = 10_000
MAX_CHOICE_LENGTH = 1_000  # characters of one value


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


class BooleanField(FieldOptions, tag="boolean", frozen=True):
    true_rate: Rate = 0.5


class ChoiceField(FieldOptions, tag="choice", frozen=True):
    values: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=MAX_CHOICE_LENGTH)]],
        msgspec.Meta(min_length=1, max_length=MAX_CHOICE_VALUES),
    ]
    weights: Annotated[list[float], msgspec.Meta(max_length=MAX_CHOICE_VALUES)] | None = None

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


def sequence_column(options: SequenceField, block: BlockContext) -> pa.Array:
    return pa.array(block.row_indices() * options.step + options.start, type=pa.int64())


def sequence_capacity(options: SequenceField, locale: str) -> int:
    if options.step == 0:
        return 1
    # How many terms start + step * k stay inside int64.
    room = INT64_MAX - options.start if options.step > 0 else options.start - INT64_MIN
    return room // abs(options.step) + 1


def sequence_from_index(options: SequenceField, block: BlockContext, k: np.ndarray) -> pa.Array:
    # A sequence is unique by construction; numbering rows by k would only shuffle it, and
    # users expect a unique id column to stay in row order.
    return sequence_column(options, block)


def boolean_column(options: BooleanField, block: BlockContext) -> pa.Array:
    return pa.array(block.rng.random(block.size) < options.true_rate, type=pa.bool_())


def boolean_capacity(options: BooleanField, locale: str) -> int:
    return 2


def boolean_from_index(options: BooleanField, block: BlockContext, k: np.ndarray) -> pa.Array:
    return pa.array(k == 1, type=pa.bool_())


def choice_column(options: ChoiceField, block: BlockContext) -> pa.Array:
    values = pa.array(options.values, type=pa.string())
    if options.weights is None:
        picks = block.rng.integers(0, len(options.values), size=block.size, dtype=np.int32)
    else:
        picks = WeightedTable.from_weights(options.weights).draw(block.rng, block.size)
    return values.take(pa.array(picks))


def choice_capacity(options: ChoiceField, locale: str) -> int:
    return len(set(options.values))


def choice_from_index(options: ChoiceField, block: BlockContext, k: np.ndarray) -> pa.Array:
    distinct = pa.array(list(dict.fromkeys(options.values)), type=pa.string())
    return distinct.take(pa.array(k.astype(np.int64)))


def uuid4_column(options: Uuid4Field, block: BlockContext) -> pa.Array:
    # 122 random bits as hex; the version nibble is 4 and the variant nibble 8..b.
    return fixed_width_strings(block.rng, block.size, UUID4_TEMPLATE, {"x": HEX, "y": "89ab"})


def uuid4_capacity(options: Uuid4Field, locale: str) -> int:
    return 2**64


def uuid4_from_index(options: Uuid4Field, block: BlockContext, k: np.ndarray) -> pa.Array:
    """UUIDs whose 16 last free digits hold a bijective mix of k, the other 15 a hash of it.

    Nothing is drawn at random: the UUID is a function of k (and the seed) alone, so a
    reference to a unique uuid4 key can name any parent row's value.
    """
    size = len(k)
    keyed = k.astype(np.uint64) ^ np.uint64(block.seed % 2**64)
    mixed = mix64(keyed)
    filler = mix64(keyed ^ np.uint64(0x9E3779B97F4A7C15))
    hex_digits = np.frombuffer(HEX.encode("ascii"), dtype=np.uint8)
    template = np.frombuffer(UUID4_TEMPLATE.encode("ascii"), dtype=np.uint8)
    chars = np.broadcast_to(template, (size, 36)).copy()
    for digit, position in enumerate(UUID4_INDEX_POSITIONS):
        nibble = (mixed >> np.uint64(60 - 4 * digit)) & np.uint64(15)
        chars[:, position] = hex_digits[nibble.astype(np.intp)]
    others = [
        p for p, c in enumerate(UUID4_TEMPLATE) if c in "xy" and p not in UUID4_INDEX_POSITIONS
    ]
    for digit, position in enumerate(others):
        filled = ((filler >> np.uint64(60 - 4 * digit)) & np.uint64(15)).astype(np.intp)
        if UUID4_TEMPLATE[position] == "y":  # the variant: 8, 9, a or b
            filled = 8 + (filled & 3)
        chars[:, position] = hex_digits[filled]
    offsets = np.arange(0, (size + 1) * 36, 36, dtype=np.int32)
    return pa.StringArray.from_buffers(
        size, pa.py_buffer(offsets), pa.py_buffer(chars), null_count=0
    )


def mix64(values: np.ndarray) -> np.ndarray:
    """Return SplitMix64's finaliser of uint64 ``values``: a bijection that scatters bits."""
    with np.errstate(over="ignore"):
        z = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    mixed: np.ndarray = z
    return mixed


UUID4_TEMPLATE = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
# The last 16 free hex digits: 1 before the variant, 3 after it and the final 12.
UUID4_INDEX_POSITIONS = (17, 20, 21, 22, *range(24, 36))


TYPES = (
    FieldType(
        SequenceField,
        "number",
        "Consecutive integers from start by step, numbered by absolute row.",
        "1",
        sequence_column,
        sequence_capacity,
        sequence_from_index,
    ),
    FieldType(
        BooleanField,
        "basic",
        "true with probability true_rate.",
        "true",
        boolean_column,
        boolean_capacity,
        boolean_from_index,
    ),
    FieldType(
        ChoiceField,
        "basic",
        "One of values, uniformly or by relative weights.",
        "gold",
        choice_column,
        choice_capacity,
        choice_from_index,
    ),
    FieldType(
        Uuid4Field,
        "identifier",
        "Random version-4 UUID.",
        "3f2b8c1e-9a4d-4e57-b1c2-7d8e9f0a1b2c",
        uuid4_column,
        uuid4_capacity,
        uuid4_from_index,
    ),
)
