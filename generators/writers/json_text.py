"""JSON Lines and JSON arrays, rendered column by column rather than row by row.

Each column becomes an array of JSON literals (``text.json_text``) and one
``binary_join_element_wise`` interleaves them with the pre-encoded keys, so a block costs a
few Arrow passes instead of a Python dict per row. Keys keep the spec's field order; dates
and timestamps are ISO 8601 strings, decimals exact numbers, NaN and infinities null.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.writers.base import EncoderSettings, no_footer
from generators.writers.text import as_array, json_text, rows_bytes

# A JSON array file: "[\n" + rows joined by ",\n" + "\n]\n"; block i > 0 opens with the
# separator from the row before it, so every block is encoded on its own.
_ARRAY_OPEN = b"[\n"
_ARRAY_SEPARATOR = b",\n"
_ARRAY_CLOSE = b"\n]\n"


def json_objects(table: pa.Table) -> pa.Array:
    """Return one JSON object per row, as a string array, keys in column order."""
    parts: list[pa.Array | str] = []
    for i, (name, column) in enumerate(zip(table.schema.names, table.columns, strict=True)):
        key = msgspec.json.encode(name).decode()
        parts.append(("{" if i == 0 else ",") + key + ":")
        parts.append(json_text(as_array(column)))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


class JsonLinesEncoder:
    """One JSON object per line, ``\\n`` after each; no header, no footer."""

    def __init__(self, settings: EncoderSettings) -> None:
        self.settings = settings

    def encode(self, table: pa.Table, block_index: int) -> bytes:
        return rows_bytes(pc.binary_join_element_wise(json_objects(table), "\n", ""))

    def finish(self) -> Iterator[bytes]:
        return no_footer()


class JsonArrayEncoder:
    """One JSON array of objects, one object per line so the file stays readable."""

    def __init__(self, settings: EncoderSettings) -> None:
        self.settings = settings

    def encode(self, table: pa.Table, block_index: int) -> bytes:
        objects = json_objects(table)
        lead = _ARRAY_OPEN if block_index == 0 else _ARRAY_SEPARATOR
        if len(objects) == 0:
            return lead if block_index == 0 else b""
        body = rows_bytes(pc.binary_join_element_wise(objects, ",\n", ""))
        return lead + body[: -len(_ARRAY_SEPARATOR)]

    def finish(self) -> Iterator[bytes]:
        yield _ARRAY_CLOSE
