"""Column generators: each turns one field's options into an Arrow array for one block.

Every function draws only from ``block.rng`` (the field's own stream for this block) and
always draws the same amount for a given block size, so a column depends only on
(spec, seed, field name, block index).
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.locales import EMAIL_SUFFIXES, LocaleData
from generators.options import (
    BooleanField,
    ChoiceField,
    DateField,
    EmailField,
    FirstNameField,
    FloatField,
    FullNameField,
    IntegerField,
    LastNameField,
    PhoneField,
    SequenceField,
    Uuid4Field,
)
from generators.vectors import WeightedTable, fixed_width_strings, join_by_take

EPOCH = dt.date(1970, 1, 1)
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class BlockContext:
    """Where a column is being generated: its random stream, row range and locale."""

    rng: np.random.Generator
    first_row: int
    size: int
    locale: LocaleData


def sequence_column(options: SequenceField, block: BlockContext) -> pa.Array:
    rows = np.arange(block.first_row, block.first_row + block.size, dtype=np.int64)
    return pa.array(rows * options.step + options.start, type=pa.int64())


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


def first_name_column(options: FirstNameField, block: BlockContext) -> pa.Array:
    locale = block.locale
    picks = locale.first.table.draw(block.rng, block.size)
    return locale.names.strings.take(pa.array(picks + locale.names.base["first"]))


def last_name_column(options: LastNameField, block: BlockContext) -> pa.Array:
    locale = block.locale
    picks = locale.last.table.draw(block.rng, block.size)
    return locale.names.strings.take(pa.array(picks + locale.names.base["last"]))


def full_name_column(options: FullNameField, block: BlockContext) -> pa.Array:
    locale = block.locale
    lookup = locale.names
    first = locale.first.table.draw(block.rng, block.size) + lookup.base["first"]
    last = locale.last.table.draw(block.rng, block.size) + lookup.base["last"]
    space = np.full(block.size, lookup.base["space"], dtype=np.int32)
    parts = [last, space, first] if locale.family_name_first else [first, space, last]
    return join_by_take(lookup.strings, parts)


def email_column(options: EmailField, block: BlockContext) -> pa.Array:
    locale = block.locale
    lookup = locale.email_parts
    rng = block.rng
    first = locale.first.table.draw(rng, block.size) + lookup.base["first"]
    last = locale.last.table.draw(rng, block.size) + lookup.base["last"]
    dot = np.full(block.size, lookup.base["dot"], dtype=np.int32)
    suffix = rng.integers(0, EMAIL_SUFFIXES, size=block.size, dtype=np.int32)
    domain = rng.integers(0, len(locale.email_domains), size=block.size, dtype=np.int32)
    parts = [
        first,
        dot,
        last,
        suffix + lookup.base["suffix"],
        domain + lookup.base["domain"],
    ]
    return join_by_take(lookup.strings, parts)


def phone_column(options: PhoneField, block: BlockContext) -> pa.Array:
    phone = block.locale.phone
    return fixed_width_strings(block.rng, block.size, phone.template, phone.alphabets)
