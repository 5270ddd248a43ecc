"""Foreign keys between tables of one dataset: every reference resolves to a parent's key.

A reference names a parent table and one of its key fields: a ``sequence`` or a ``unique``
field. Such a key's value at any parent row is a pure function of the row number, so a
child row can name its parent's key without the parent's data being made or remembered.

``cardinality`` says how children spread over parents:
- ``poisson`` (default): each child picks a parent uniformly, so the number of children per
  parent follows a Poisson law with mean child rows ÷ parent rows;
- ``zipf``: a few parents have most children (counts follow a power law of exponent ``s``);
- ``even``: every parent gets the same number of children (±1), in parent order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Annotated, Literal, Protocol

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType, stable_hash
from generators.permutation import Permutation


class DatasetView(Protocol):
    """What a reference needs to know about the other tables of its dataset."""

    def rows_of(self, table: str) -> int: ...
    def key_values(self, table: str, field: str, rows: np.ndarray) -> pa.Array: ...


class ReferenceField(FieldOptions, tag="reference", frozen=True):
    table: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    field: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    cardinality: Literal["poisson", "zipf", "even"] = "poisson"
    s: Annotated[float, msgspec.Meta(gt=1.0, le=5.0)] = 1.5

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.unique:
            yield "unique", "a reference cannot be unique; make the parent's key unique instead"
        return


@functools.cache
def _zipf_table(parents: int, s: float) -> np.ndarray:
    """Cumulative weights of ranks 1..parents for a Zipf law (capped at 2**20 ranks)."""
    ranks = np.arange(1, min(parents, 2**20) + 1, dtype=np.float64)
    weights = ranks**-s
    cumulative: np.ndarray = np.cumsum(weights)
    normalised: np.ndarray = cumulative / cumulative[-1]
    return normalised


def parent_rows(
    options: ReferenceField, block: BlockContext, parents: int, children: int
) -> np.ndarray:
    """The parent row each child row of the block belongs to."""
    if options.cardinality == "even":
        # Row i of n children over p parents: parent floor(i * p / n), so counts differ by ≤ 1.
        rows = block.row_indices().astype(np.float64)
        even: np.ndarray = np.minimum((rows * parents / children).astype(np.int64), parents - 1)
        return even
    if options.cardinality == "zipf":
        ranks = np.searchsorted(_zipf_table(parents, options.s), block.rng.random(block.size))
        # Spread the busy ranks over the parents, so parent 0 is not always the busiest.
        spread = Permutation(
            parents, [block.seed, stable_hash(options.table + "." + options.field)]
        )
        spread_rows: np.ndarray = spread(ranks.astype(np.int64)).astype(np.int64)
        return spread_rows
    return block.rng.integers(0, parents, size=block.size, dtype=np.int64)


def reference_column(options: ReferenceField, block: BlockContext) -> pa.Array:
    dataset: DatasetView | None = block.dataset
    if dataset is None:
        raise RuntimeError("a reference needs the dataset's other tables")
    parents = dataset.rows_of(options.table)
    rows = parent_rows(options, block, parents, block.table_rows)
    return dataset.key_values(options.table, options.field, rows)


TYPES = (
    FieldType(
        ReferenceField,
        "relation",
        "A key of a row of another table (foreign key); children spread by cardinality.",
        "42",
        reference_column,
    ),
)
