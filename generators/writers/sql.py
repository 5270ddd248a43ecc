"""SQL scripts for PostgreSQL and MySQL/MariaDB: ``CREATE TABLE``, then multi-row ``INSERT``s.

The script sets its client encoding, creates the table with column types taken from the
Arrow schema, and inserts in one transaction, ``batch_size`` rows per ``INSERT`` (batches
restart at each block, so blocks encode independently). Strings are single-quoted with
quotes doubled; for MySQL backslashes are doubled too (backslash is an escape there, not in
PostgreSQL with ``standard_conforming_strings``). MySQL has no time zones in ``DATETIME``,
so zoned timestamps are written in UTC there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.writers.base import EncoderSettings
from generators.writers.options import SQL_IDENTIFIER_BYTES, SqlDialect
from generators.writers.text import as_array, contains_any, rows_bytes

DEFAULT_BATCH_SIZE = 1_000
_PREAMBLE = {
    "postgresql": "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n",
    "mysql": "SET NAMES utf8mb4;\n",
}
_BEGIN = {"postgresql": "BEGIN;\n", "mysql": "START TRANSACTION;\n"}
_TABLE_SUFFIX = {"postgresql": "", "mysql": " DEFAULT CHARSET=utf8mb4"}


@dataclass(frozen=True)
class SqlStyle:
    """The resolved options of one SQL script."""

    dialect: SqlDialect
    table: str
    batch_size: int


def open_sql(settings: EncoderSettings) -> SqlEncoder:
    """Return an encoder for an SQL script with the settings' options."""
    options = settings.options
    return SqlEncoder(
        SqlStyle(
            dialect=options.dialect or "postgresql",
            table=options.table or table_name_for(settings.dataset_name),
            batch_size=options.batch_size or DEFAULT_BATCH_SIZE,
        )
    )


def table_name_for(dataset_name: str) -> str:
    """Return a table name from a dataset name: lower case, runs of non-word characters as
    ``_``, at most 63 bytes (letters of any script are kept; the name is always quoted)."""
    name = re.sub(r"\W+", "_", dataset_name.lower()).strip("_")
    name = name.encode()[:SQL_IDENTIFIER_BYTES].decode(errors="ignore").rstrip("_")
    return name or "dataset"


def quote_identifier(name: str, dialect: SqlDialect) -> str:
    """Return ``name`` as a quoted identifier of the dialect (``"a""b"`` or ``\\`a``b\\```)."""
    mark = "`" if dialect == "mysql" else '"'
    return mark + name.replace(mark, mark * 2) + mark


def column_type(kind: pa.DataType, dialect: SqlDialect) -> str:
    """Return the SQL column type for an Arrow type."""
    mysql = dialect == "mysql"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_integer(kind):
        return {8: "SMALLINT", 16: "SMALLINT", 32: "INTEGER"}.get(kind.bit_width, "BIGINT")
    if pa.types.is_floating(kind):
        return "DOUBLE" if mysql else "DOUBLE PRECISION"
    if pa.types.is_decimal(kind):
        return (
            f"DECIMAL({min(kind.precision, 65)}, {kind.scale})"
            if mysql
            else (f"NUMERIC({kind.precision}, {kind.scale})")
        )
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_time(kind):
        return "TIME(6)" if mysql else "TIME"
    if pa.types.is_timestamp(kind):
        if mysql:
            return "DATETIME(6)"
        return "TIMESTAMPTZ" if kind.tz is not None else "TIMESTAMP"
    return "TEXT"


class SqlEncoder:
    """Encodes blocks as ``INSERT`` batches; block 0 carries the header, finish the COMMIT."""

    def __init__(self, style: SqlStyle) -> None:
        self.style = style

    def header(self, schema: pa.Schema) -> str:
        """Return the preamble, the ``CREATE TABLE`` and the transaction's start."""
        dialect = self.style.dialect
        columns = ",\n".join(
            f"  {quote_identifier(field.name, dialect)} {column_type(field.type, dialect)}"
            for field in schema
        )
        table = quote_identifier(self.style.table, dialect)
        return (
            _PREAMBLE[dialect]
            + f"CREATE TABLE {table} (\n{columns}\n){_TABLE_SUFFIX[dialect]};\n"
            + _BEGIN[dialect]
        )

    def encode(self, table: pa.Table, block_index: int) -> bytes:
        head = self.header(table.schema).encode() if block_index == 0 else b""
        if table.num_rows == 0:
            return head
        literals = [sql_literals(as_array(column), self.style.dialect) for column in table.columns]
        values = pc.binary_join_element_wise(*literals, ", ")
        values = pc.binary_join_element_wise("(", values, ")", "")
        return head + rows_bytes(self._batched(values, table.schema.names))

    def finish(self) -> Iterator[bytes]:
        yield b"COMMIT;\n"

    def _batched(self, values: pa.Array, names: list[str]) -> pa.Array:
        """Return the rows with an ``INSERT … VALUES`` before each batch and ``;`` after it."""
        dialect = self.style.dialect
        columns = ", ".join(quote_identifier(name, dialect) for name in names)
        insert = f"INSERT INTO {quote_identifier(self.style.table, dialect)} ({columns}) VALUES\n"
        position = np.arange(len(values)) % self.style.batch_size
        starts = position == 0
        ends = (position == self.style.batch_size - 1) | (np.arange(len(values)) == len(values) - 1)
        lead = pc.take(pa.array(["", insert]), pa.array(starts.astype(np.int8)))
        tail = pc.take(pa.array([",\n", ";\n"]), pa.array(ends.astype(np.int8)))
        return pc.binary_join_element_wise(lead, values, tail, "")


def sql_literals(column: pa.Array, dialect: SqlDialect) -> pa.Array:
    """Return each value as an SQL literal of the dialect; nulls as ``NULL``."""
    kind = column.type
    if pa.types.is_dictionary(kind) or pa.types.is_large_string(kind):
        column, kind = column.cast(pa.string()), pa.string()
    if pa.types.is_string(kind):
        rendered = _string_literals(column, dialect)
    elif pa.types.is_integer(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind):
        rendered = column.cast(pa.string())
    elif pa.types.is_floating(kind):
        text = column.cast(pa.string())
        # PostgreSQL stores 'nan' and 'inf' (quoted); MySQL has no such values.
        odd = pa.scalar(None, pa.string()) if dialect == "mysql" else _quoted(text)
        rendered = pc.if_else(pc.is_finite(column), text, odd)
    elif pa.types.is_timestamp(kind):
        if dialect == "mysql" and kind.tz is not None:
            column = column.cast(pa.timestamp(kind.unit))  # the same instant, in UTC
        rendered = _quoted(column.cast(pa.string()))
    elif pa.types.is_date(kind) or pa.types.is_time(kind):
        rendered = _quoted(column.cast(pa.string()))
    else:
        text = pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
        rendered = _string_literals(text, dialect)
    return rendered.fill_null("NULL")


def _string_literals(column: pa.Array, dialect: SqlDialect) -> pa.Array:
    if dialect == "mysql" and contains_any(column, b"\\"):
        column = pc.replace_substring(column, "\\", "\\\\")
    if contains_any(column, b"'"):
        column = pc.replace_substring(column, "'", "''")
    return _quoted(column)


def _quoted(column: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise("'", column, "'", "")
