"""Generate a dataset block by block as Arrow tables (``generators.output`` encodes them).

A block is a fixed run of ``BLOCK_ROWS`` rows. Each column of a block is drawn from its
own generator seeded by ``(seed, crc32(field name), block index)``, so a block depends
only on (spec, seed, block index): blocks made by different workers concatenate into the
same bytes, and adding a field leaves the other columns unchanged.
"""

from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.catalog import FIELD_TYPES
from generators.edge_cases import choose_injection, edge_case_pool, inject, iter_injections
from generators.fieldtype import BlockContext, FieldOptions, stable_hash
from generators.permutation import Permutation
from generators.spec import DatasetSpec
from generators.vectors import with_nulls

# Recorded on every job; raised whenever the same spec and seed would give other bytes.
ENGINE_VERSION = "0.2.0"
BLOCK_ROWS = 65_536


def block_count(spec: DatasetSpec) -> int:
    """Return how many blocks the spec's rows span (the last may be short)."""
    return -(-spec.rows // BLOCK_ROWS)


def generate_block(spec: DatasetSpec, block_index: int, dataset: Any = None) -> pa.Table:
    """Return block ``block_index`` as a table with the spec's columns in order.

    The block holds rows ``[block_index * BLOCK_ROWS, min(rows, (block_index + 1) * BLOCK_ROWS))``.
    The spec must carry a seed (see ``spec.with_seed``).
    """
    if spec.seed is None:
        raise ValueError("spec has no seed; set one with with_seed() first")
    if not 0 <= block_index < block_count(spec):
        raise IndexError(f"block {block_index} is outside 0..{block_count(spec) - 1}")
    first_row = block_index * BLOCK_ROWS
    size = min(spec.rows, first_row + BLOCK_ROWS) - first_row
    # One context per block: fields of a row share its draws (the same person, the same
    # address); each field still has its own stream for everything else.
    shared = BlockContext(
        np.random.Generator(np.random.PCG64(0)),
        first_row,
        size,
        spec.locale,
        spec.seed,
        block_index,
    )
    fields = {field.name: field for field in spec.fields}
    made: dict[str, pa.Array] = {}

    seed = spec.seed

    def values_of(name: str) -> pa.Array:
        # Fields are made on first use, so a derived field may read one listed after it;
        # each field's stream depends on its name only, so the order of making is free.
        if name not in made:
            field = fields.get(name) or hidden_field(name)
            seeds = np.random.SeedSequence([seed, stable_hash(field.name), block_index])
            rng = np.random.Generator(np.random.PCG64(seeds))
            values = _column(field, shared.for_field(rng, field.locale or spec.locale))
            if field.null_rate > 0:
                # Drawn after the values, so changing null_rate never changes the values.
                values = with_nulls(values, rng.random(size) < field.null_rate)
            made[name] = _with_edge_cases(spec, field, block_index, values)
        return made[name]

    shared.resolve = values_of
    shared.dataset = dataset
    shared.table_rows = spec.rows
    try:
        return pa.Table.from_arrays(
            [values_of(field.name) for field in spec.fields], names=list(fields)
        )
    finally:
        # values_of and the context refer to each other: break the cycle now, or every
        # block's columns wait for the cyclic garbage collector and memory climbs.
        shared.resolve = None
        made.clear()


def hidden_field(type_name: str) -> FieldOptions:
    """A field of catalog type ``type_name`` with its default options, named after the type.

    Templates use such fields for values that are no column of the table.
    """
    options: FieldOptions = msgspec.convert(
        {"type": type_name, "name": type_name}, FIELD_TYPES[type_name].options
    )
    return options


def _column(field: FieldOptions, block: BlockContext) -> pa.Array:
    """One field's values for the block: drawn, or for a unique field numbered by a permutation."""
    field_type = FIELD_TYPES[field.type_name]
    if not field.unique:
        return field_type.column(field, block)
    # The spec check made sure the type can be unique and has room for every row.
    assert field_type.capacity is not None and field_type.from_index is not None
    capacity = field_type.capacity(field, block.locale)
    numbering = Permutation(capacity, [block.seed, stable_hash(field.name)])
    return field_type.from_index(field, block, numbering(block.row_indices()))


def _edge_case_rate(spec: DatasetSpec, field: FieldOptions) -> float:
    if field.unique:
        return 0.0  # a replaced cell could repeat a value the user was promised is unique
    return spec.edge_case_rate if field.edge_case_rate is None else field.edge_case_rate


def _with_edge_cases(
    spec: DatasetSpec, field: FieldOptions, block_index: int, values: pa.Array
) -> pa.Array:
    rate = _edge_case_rate(spec, field)
    if rate == 0:
        return values
    pool = edge_case_pool(FIELD_TYPES[field.type_name], field, values.type)
    if pool is None:
        return values
    assert spec.seed is not None
    chosen = choose_injection(spec.seed, field.name, block_index, len(values), rate, len(pool[1]))
    return inject(values, pool[1], chosen)


class InjectedCell(msgspec.Struct, frozen=True):
    """One cell an edge case was put into: its table, field, row (from 0) and kind of case."""

    table: str
    field: str
    row: int
    kind: str


def edge_case_manifest(spec: DatasetSpec, dataset: Any = None) -> Iterator[InjectedCell]:
    """Every cell of one table that holds an injected edge case, without making the data.

    For a dataset of several tables, ``generators.dataset.edge_case_cells`` covers them all.
    """
    assert spec.seed is not None
    schema = generate_block(msgspec.structs.replace(spec, rows=1), 0, dataset).schema
    for field in spec.fields:
        rate = _edge_case_rate(spec, field)
        pool = edge_case_pool(FIELD_TYPES[field.type_name], field, schema.field(field.name).type)
        if rate == 0 or pool is None:
            continue
        kinds = pool[0]
        for row, kind in iter_injections(spec.seed, field.name, spec.rows, BLOCK_ROWS, rate, kinds):
            yield InjectedCell(spec.name, field.name, row, kind)


def key_values_at(
    spec: DatasetSpec, field: FieldOptions, rows: np.ndarray, probe_state: int = 0
) -> pa.Array:
    """A key field's values at any rows, without making its blocks.

    A sequence is arithmetic; a unique field is value number permute(row), exactly as
    ``_column`` numbers it. ``probe_state`` varies the random state and block a type's
    ``from_index`` could (wrongly) depend on, to test that it does not.
    """
    if field.type_name == "sequence":
        start, step = getattr(field, "start"), getattr(field, "step")  # noqa: B009
        return pa.array(rows.astype(np.int64) * step + start, type=pa.int64())
    field_type = FIELD_TYPES[field.type_name]
    assert field_type.capacity is not None and field_type.from_index is not None
    assert spec.seed is not None
    locale = field.locale or spec.locale
    numbering = Permutation(
        field_type.capacity(field, locale), [spec.seed, stable_hash(field.name)]
    )
    block = BlockContext(
        np.random.Generator(np.random.PCG64(probe_state)),
        probe_state * BLOCK_ROWS,
        len(rows),
        locale,
        spec.seed,
        probe_state,
    )
    return field_type.from_index(field, block, numbering(rows))
