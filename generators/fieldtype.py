"""What every field type is made of: its options struct, its block context and its entry.

A field type lives in one module of ``generators/types/``: an options struct (a tagged
msgspec Struct whose tag is the type's name on the wire), a column function that turns the
options into an Arrow array for one block, and a ``FieldType`` entry in the module's
``TYPES``. The catalog collects every module's ``TYPES``; nothing else lists types.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
Rate = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
FieldName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
LocaleCode = Annotated[str, msgspec.Meta(min_length=2, max_length=16)]

T = TypeVar("T")


class FieldOptions(
    msgspec.Struct,
    tag_field="type",
    forbid_unknown_fields=True,
    frozen=True,
    kw_only=True,
):
    """Options every field type has.

    ``null_rate``: share of rows left null. ``unique``: no value repeats (the type must be
    able to give that many distinct values). ``locale``: overrides the dataset's locale for
    this field. ``edge_case_rate``: share of cells replaced by boundary values and hazardous
    text (overrides the dataset's rate; never applied to unique fields).
    """

    name: FieldName
    null_rate: Rate = 0.0
    unique: bool = False
    locale: LocaleCode | None = None
    edge_case_rate: Rate | None = None

    @property
    def type_name(self) -> str:
        """Return the field type's name, i.e. this struct's wire tag."""
        return str(self.__struct_config__.tag)

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        """Yield ``(option, detail)`` for each option value that cannot work."""
        return iter(())


def stable_hash(text: str) -> int:
    """Return a process-independent 32-bit hash of a name (CRC-32 of its UTF-8)."""
    return zlib.crc32(text.encode("utf-8"))


@dataclass
class BlockContext:
    """Where a column is being generated: its random stream, row range and locale.

    ``rng`` is the field's own stream for this block. ``shared(key, make)`` gives values
    that several fields of the same row must agree on (the same person behind a name, a
    kana reading and an email; one postal record behind a prefecture and a postcode): the
    first field to ask makes them from a stream seeded by (seed, key, block), the others
    get the same object. Keys name what is drawn and from which table, e.g.
    ``"person:ja_JP"``, so two fields asking for the same key always mean the same draw.
    """

    rng: np.random.Generator
    first_row: int
    size: int
    locale: str
    seed: int
    block_index: int
    _shared: dict[str, Any] = field(default_factory=dict)
    # Set by the engine: the values of another field of this row (or of a catalog type's
    # default for a name that is no field), for types derived from other values.
    resolve: Callable[[str], pa.Array] | None = None
    # Set by the engine for datasets of several tables: the other tables (for references),
    # and how many rows this block's table has in all.
    dataset: Any = None
    table_rows: int = 0

    def shared(self, key: str, make: Callable[[np.random.Generator], T]) -> T:
        """The block's value for ``key``, made once from a stream only that key uses."""
        if key not in self._shared:
            seeds = np.random.SeedSequence([self.seed, stable_hash(key), self.block_index])
            self._shared[key] = make(np.random.Generator(np.random.PCG64(seeds)))
        value: T = self._shared[key]
        return value

    def for_field(self, rng: np.random.Generator, locale: str) -> BlockContext:
        """The same block seen by another field: its own stream and locale, shared draws kept."""
        return BlockContext(
            rng,
            self.first_row,
            self.size,
            locale,
            self.seed,
            self.block_index,
            self._shared,
            self.resolve,
            self.dataset,
            self.table_rows,
        )

    def values_of(self, name: str) -> pa.Array:
        """The block's values of the field (or catalog type) called ``name``."""
        if self.resolve is None:
            raise RuntimeError("this block has no other fields to read")
        return self.resolve(name)

    def row_indices(self) -> np.ndarray:
        """Absolute row numbers of this block, as int64."""
        return np.arange(self.first_row, self.first_row + self.size, dtype=np.int64)


ColumnFunction = Callable[[Any, BlockContext], pa.Array]
# For unique fields: how many distinct values the options allow, and value number k (a
# bijection: distinct k give distinct values).
CapacityFunction = Callable[[Any, str], int]
FromIndexFunction = Callable[[Any, BlockContext, np.ndarray], pa.Array]
# Boundary values of a field's own limits, as (kind, value) pairs in the column's type:
# e.g. [("below_min", min - 1), ("min", min), ("max", max), ("above_max", max + 1)].
EdgeCasesFunction = Callable[[Any], list[tuple[str, Any]]]


@dataclass(frozen=True)
class FieldType:
    """One field type: what it is called, what it makes, its options and its generator."""

    options: type[FieldOptions]
    category: str
    description: str
    example: str
    column: ColumnFunction
    capacity: CapacityFunction | None = None
    from_index: FromIndexFunction | None = None
    edge_cases: EdgeCasesFunction | None = None

    @property
    def name(self) -> str:
        """Return the type's name as written in a spec (the options struct's tag)."""
        return str(self.options.__struct_config__.tag)

    @property
    def can_be_unique(self) -> bool:
        return self.capacity is not None and self.from_index is not None
