"""Parquet through pyarrow, streamed: one row group per block, footer at the end.

Integers, floats, booleans, dates and timestamps keep their Arrow types. Dictionary
encoding is used only for string and integer columns whose first block is low-cardinality
(at most one distinct value in ten rows): building a dictionary for a column of unique
emails only to throw it away costs more than it saves. No statistics (min/max per page)
are written: they cost time, and test data is rarely filtered by row-group statistics.
Compression is snappy.

Not concatenable: the footer lists every row group's offset. The plan for sharding
(issue 4): each shard writes its row groups with this encoder and keeps the row groups'
metadata; the finaliser concatenates the shards' row-group bytes after one ``PAR1`` and
writes one footer whose column-chunk offsets are shifted by each shard's start.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from generators.writers.base import EncoderSettings

LOW_CARDINALITY_SHARE = 0.1


class _ChunkSink:
    """A write-only file that keeps what was written until it is drained."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class ParquetEncoder:
    """Encodes blocks as row groups of one Parquet file; the state is the open writer."""

    def __init__(self, settings: EncoderSettings) -> None:
        self.settings = settings
        self._sink = _ChunkSink()
        self._writer: pq.ParquetWriter | None = None

    def encode(self, table: pa.Table, block_index: int) -> bytes:
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self._sink,
                table.schema,
                compression="snappy",
                use_dictionary=low_cardinality_columns(table),
                write_statistics=False,
            )
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        return self._sink.drain()

    def finish(self) -> Iterator[bytes]:
        if self._writer is not None:
            self._writer.close()
        yield self._sink.drain()


def low_cardinality_columns(table: pa.Table) -> list[str]:
    """Return the names of string and integer columns with at most one distinct value in
    ten rows."""
    names = []
    limit = max(1, int(table.num_rows * LOW_CARDINALITY_SHARE))
    for name, column in zip(table.schema.names, table.columns, strict=True):
        kind = column.type
        if not (pa.types.is_string(kind) or pa.types.is_integer(kind)):
            continue
        if pc.count_distinct(column).as_py() <= limit:
            names.append(name)
    return names
