"""Columns rendered as text, whole arrays at a time, for the text formats (CSV, JSON, SQL).

Each function takes one Arrow column and returns a string array of the same length, so a
writer can join columns into rows with ``binary_join_element_wise`` and take the rows'
bytes from the array's data buffer without a per-row Python loop.
"""

from __future__ import annotations

import re

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

_TZ_OFFSET = r"([+-]\d\d)(\d\d)$"
_JSON_ESCAPED = re.compile(rb'[\x00-\x1f"\\]')
_JSON_CONTROL = r"[\x00-\x1f]"


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Return ``column`` as one contiguous array (a block's column is small)."""
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column


def plain_text(column: pa.Array) -> pa.Array:
    """Return each value as the text Arrow's CSV writer would give it; nulls stay null.

    Timestamps read ``2024-01-01 09:00:00.000000+0900`` (local time and offset for a zone,
    ``Z`` for UTC), dates ``2024-01-01``, booleans ``true``/``false``.
    """
    if pa.types.is_string(column.type):
        return column
    return column.cast(pa.string())


def string_data(column: pa.Array) -> bytes:
    """Return the UTF-8 bytes of every value of a string array, back to back."""
    data = column.buffers()[2]
    if data is None or len(column) == 0:
        return b""
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)
    start, end = offsets[column.offset], offsets[column.offset + len(column)]
    return bytes(memoryview(data)[start:end])


def contains_any(column: pa.Array, specials: bytes) -> bool:
    """Return whether any value of a string array holds one of the bytes in ``specials``."""
    raw = string_data(column)
    return any(bytes((byte,)) in raw for byte in specials)


def json_text(column: pa.Array) -> pa.Array:
    """Return each value as a JSON literal (strings escaped and quoted); nulls as ``null``.

    Dates and timestamps are ISO 8601 strings, decimals exact numbers, NaN and infinities
    (which JSON cannot hold) ``null``.
    """
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        rendered = _json_strings(column.cast(pa.string()))
    elif pa.types.is_integer(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind):
        rendered = column.cast(pa.string())
    elif pa.types.is_floating(kind):
        finite = pc.is_finite(column)
        rendered = pc.if_else(finite, column.cast(pa.string()), pa.scalar(None, pa.string()))
    elif pa.types.is_date(kind) or pa.types.is_time(kind):
        rendered = _quoted(column.cast(pa.string()))
    elif pa.types.is_timestamp(kind):
        rendered = _quoted(iso_timestamps(column))
    else:
        # Rare types (lists, binary…) go through msgspec value by value.
        encode = msgspec.json.encode
        rendered = pa.array(
            [None if v is None else encode(v).decode() for v in column.to_pylist()], pa.string()
        )
    return rendered.fill_null("null")


def iso_timestamps(column: pa.Array) -> pa.Array:
    """Return timestamps as ``2024-01-01T09:00:00.000000+09:00`` (or ``…Z`` in UTC)."""
    text = pc.replace_substring(column.cast(pa.string()), " ", "T", max_replacements=1)
    return pc.replace_substring_regex(text, _TZ_OFFSET, r"\1:\2")


def _json_strings(column: pa.Array) -> pa.Array:
    if _JSON_ESCAPED.search(string_data(column)) is None:
        return _quoted(column)
    escaped = pc.replace_substring(column, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    control = pc.fill_null(pc.match_substring_regex(column, _JSON_CONTROL), False)
    if pc.any(control).as_py():
        # Control characters are rare: encode those few values one by one.
        encode = msgspec.json.encode
        odd = pc.filter(column, control).to_pylist()
        replaced = pa.array([encode(v).decode()[1:-1] for v in odd], pa.string())
        escaped = pc.replace_with_mask(escaped, control, replaced)
    return _quoted(escaped)


def _quoted(column: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', column, '"', "")


def rows_bytes(rows: pa.Array | pa.ChunkedArray) -> bytes:
    """Return the bytes of a string array with no nulls, values back to back."""
    return string_data(as_array(rows))
