"""Datasets of several tables: each table as a one-table spec, and the keys references use.

A dataset is a table of its own plus the further ``tables`` of its spec. Each table gets a
seed of its own, derived from the dataset's seed and the table's name, so fields of the
same name in two tables do not repeat each other. A ``reference`` field reads a key of
another table: a ``sequence``, or a ``unique`` field whose value is a pure function of the
row number. Either can be computed for any parent row without making the parent's data, so
every reference resolves, on any worker, at any size.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.engine import InjectedCell, edge_case_manifest, key_values_at
from generators.errors import SpecError
from generators.fieldtype import FieldOptions, stable_hash
from generators.spec import MAX_SEED, DatasetSpec
from generators.types.basic import SequenceField
from generators.types.reference import ReferenceField


def table_seed(seed: int, table: str) -> int:
    """The seed of a further table: its own stream, fixed by the dataset seed and its name."""
    state = np.random.SeedSequence([seed, stable_hash("table:" + table)]).generate_state(2)
    return int((int(state[0]) << 32 | int(state[1])) & MAX_SEED)


def table_specs(spec: DatasetSpec) -> list[DatasetSpec]:
    """Every table of the dataset as a one-table spec: the dataset's own table first."""
    first = msgspec.structs.replace(spec, tables=[])
    others = [
        msgspec.structs.replace(
            spec,
            name=table.name,
            rows=table.rows,
            fields=table.fields,
            tables=[],
            seed=None if spec.seed is None else table_seed(spec.seed, table.name),
        )
        for table in spec.tables
    ]
    return [first, *others]


def total_rows(spec: DatasetSpec) -> int:
    """Rows of all the dataset's tables together."""
    return spec.rows + sum(table.rows for table in spec.tables)


class Dataset:
    """The tables of one dataset, as references see them."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.tables = {table.name: table for table in table_specs(spec)}

    def rows_of(self, table: str) -> int:
        return self.tables[table].rows

    def key_values(self, table: str, field: str, rows: np.ndarray) -> pa.Array:
        """The key ``field`` of ``table`` at the given parent rows."""
        parent = self.tables[table]
        options = next(f for f in parent.fields if f.name == field)
        return key_values_at(parent, options, rows)


def edge_case_cells(spec: DatasetSpec) -> Iterator[InjectedCell]:
    """Every injected edge case of every table of the dataset, table after table."""
    dataset = Dataset(spec)
    for table in dataset.tables.values():
        yield from edge_case_manifest(table, dataset)


def _key_problem(parent: DatasetSpec, key: FieldOptions) -> str | None:
    """Why ``key`` cannot be referenced, or None when it can."""
    if key.null_rate > 0:
        return "a key with a null_rate would leave references dangling"
    if isinstance(key, SequenceField):
        return "a sequence with step 0 repeats its value" if key.step == 0 else None
    if not key.unique:
        return "only a sequence or a unique field can be referenced (a key)"
    # A key must be a function of the row alone; try it with two different random states.
    probe = msgspec.structs.replace(parent, seed=parent.seed or 0)
    rows = np.arange(min(parent.rows, 64), dtype=np.int64)
    first = key_values_at(probe, key, rows, probe_state=1)
    if not first.equals(key_values_at(probe, key, rows, probe_state=2)):
        return (
            f"type '{key.type_name}' draws part of its unique values at random, so a "
            "reference could not reproduce them; use a sequence or another key type"
        )
    return None


def check_references(spec: DatasetSpec) -> None:
    """Raise SpecError for a reference to a table, field or key that cannot be resolved."""
    tables = {table.name: table for table in table_specs(spec)}
    # A key is probed once, however many fields refer to it: a probe draws rows.
    problems: dict[tuple[str, str], str | None] = {}
    for t, table in enumerate(table_specs(spec)):
        prefix = "" if t == 0 else f"tables[{t - 1}]."
        for i, field in enumerate(table.fields):
            if not isinstance(field, ReferenceField):
                continue
            path = f"{prefix}fields[{i}]"
            parent = tables.get(field.table)
            if parent is None:
                raise SpecError(
                    f"{path}.table",
                    f"no table '{field.table}' in this dataset; tables: {', '.join(tables)}",
                )
            key = next((f for f in parent.fields if f.name == field.field), None)
            if key is None:
                names = ", ".join(f.name for f in parent.fields)
                raise SpecError(
                    f"{path}.field", f"table '{field.table}' has no field '{field.field}' ({names})"
                )
            if (field.table, field.field) not in problems:
                problems[field.table, field.field] = _key_problem(parent, key)
            problem = problems[field.table, field.field]
            if problem is not None:
                raise SpecError(f"{path}.field", f"'{field.table}.{field.field}': {problem}")
