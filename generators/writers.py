"""Output formats: turn blocks (Arrow tables) into bytes that concatenate into one file.

A writer's ``header`` is written once, before block 0; ``encode`` renders one block's rows
and depends only on that block, so blocks encoded by different workers join byte-identically.
"""

import csv
import io
from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

CSV_BATCH_ROWS = 65_536
_CSV_SPECIAL_BYTES = (b",", b'"', b"\r", b"\n")


class Writer(Protocol):
    """Encodes blocks of one file format."""

    content_type: str
    file_extension: str

    def header(self, schema: pa.Schema) -> bytes:
        """Return the bytes that start the file (may be empty)."""
        ...

    def encode(self, table: pa.Table) -> bytes:
        """Return one block's rows as bytes."""
        ...


class CsvWriter:
    """RFC 4180-style CSV: UTF-8, ``\\n`` line ends, a header line, quotes only where needed."""

    content_type = "text/csv; charset=utf-8"
    file_extension = "csv"

    def header(self, schema: pa.Schema) -> bytes:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(schema.names)
        return line.getvalue().encode("utf-8")

    def encode(self, table: pa.Table) -> bytes:
        # Arrow's "needed" style quotes every string; skipping quotes when no value can
        # need them keeps the file plain (and writes faster).
        quoting = "none" if _csv_safe(table) else "needed"
        options = pa_csv.WriteOptions(
            include_header=False, batch_size=CSV_BATCH_ROWS, quoting_style=quoting
        )
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, options)
        return bytes(sink.getvalue())


def _csv_safe(table: pa.Table) -> bool:
    """Return whether no string in ``table`` holds a delimiter, quote or line break or is empty."""
    for column in table.columns:
        if not pa.types.is_string(column.type):
            continue
        for chunk in column.chunks:
            if pc.min(pc.binary_length(chunk)).as_py() == 0:
                return False  # unquoted, an empty string would read back as null
            data = chunk.buffers()[2]
            if data is None:
                continue
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
            start, end = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
            raw = bytes(memoryview(data)[start:end])
            if any(special in raw for special in _CSV_SPECIAL_BYTES):
                return False
    return True


class JsonLinesWriter:
    """One JSON object per line, UTF-8 without ``\\u`` escapes; nulls as null, dates ISO."""

    content_type = "application/x-ndjson"
    file_extension = "jsonl"

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()

    def header(self, schema: pa.Schema) -> bytes:
        return b""

    def encode(self, table: pa.Table) -> bytes:
        return self._encoder.encode_lines(table.to_pylist())


WRITERS: Mapping[str, Writer] = MappingProxyType({"csv": CsvWriter(), "jsonl": JsonLinesWriter()})


def writer_for(format: str) -> Writer:
    """Return the writer for a format name such as ``"csv"``; KeyError if unknown."""
    return WRITERS[format]
