"""The one catalog of field types: name, description, options struct, example, generator.

The API, the docs and the spec parser all read ``FIELD_TYPES``; adding a type means
adding an options struct, a column function and one entry here.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from generators import columns
from generators.options import (
    BooleanField,
    ChoiceField,
    DateField,
    EmailField,
    FieldOptions,
    FirstNameField,
    FloatField,
    FullNameField,
    IntegerField,
    LastNameField,
    PhoneField,
    SequenceField,
    Uuid4Field,
)

ColumnFunction = Callable[[Any, columns.BlockContext], pa.Array]


@dataclass(frozen=True)
class FieldType:
    """One field type: what it is called, what it makes, its options and its generator."""

    options: type[FieldOptions]
    description: str
    example: str
    column: ColumnFunction

    @property
    def name(self) -> str:
        """Return the type's name as written in a spec (the options struct's tag)."""
        return str(self.options.__struct_config__.tag)


_ENTRIES = (
    FieldType(
        SequenceField,
        "Consecutive integers from start by step, numbered by absolute row.",
        "1",
        columns.sequence_column,
    ),
    FieldType(IntegerField, "Uniform integer in [min, max].", "42", columns.integer_column),
    FieldType(
        FloatField,
        "Uniform number in [min, max] rounded to decimals places.",
        "37.25",
        columns.float_column,
    ),
    FieldType(BooleanField, "true with probability true_rate.", "true", columns.boolean_column),
    FieldType(
        ChoiceField,
        "One of values, uniformly or by relative weights.",
        "gold",
        columns.choice_column,
    ),
    FieldType(
        Uuid4Field,
        "Random version-4 UUID.",
        "3f2b8c1e-9a4d-4e57-b1c2-7d8e9f0a1b2c",
        columns.uuid4_column,
    ),
    FieldType(
        DateField,
        "Uniform calendar date in [start, end], as YYYY-MM-DD.",
        "2017-08-23",
        columns.date_column,
    ),
    FieldType(
        FirstNameField,
        "Given name, weighted by frequency where the locale has weights.",
        "健太",
        columns.first_name_column,
    ),
    FieldType(
        LastNameField,
        "Family name, weighted by frequency.",
        "佐藤",
        columns.last_name_column,
    ),
    FieldType(
        FullNameField,
        "Given and family name in the locale's order (ja_JP: family name first).",
        "佐藤 健太",
        columns.full_name_column,
    ),
    FieldType(
        EmailField,
        "Address from romanised names at a reserved example domain.",
        "kenta.sato4821@example.jp",
        columns.email_column,
    ),
    FieldType(
        PhoneField,
        "Phone number in the locale's format (ja_JP: mobile 070/080/090).",
        "090-1234-5678",
        columns.phone_column,
    ),
)

FIELD_TYPES: Mapping[str, FieldType] = MappingProxyType({entry.name: entry for entry in _ENTRIES})


def field_type_names() -> list[str]:
    """Return every field type's name, in catalog order."""
    return list(FIELD_TYPES)
