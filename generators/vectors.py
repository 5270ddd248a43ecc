"""Array building blocks for column generators: weighted draws, fixed-width strings,
strings joined by one ``take``, and null masks. Nothing here loops over rows in Python.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]


@dataclass(frozen=True)
class WeightedTable:
    """Draws indices ``0..k-1`` with given relative weights (cumulative table + searchsorted)."""

    cumulative: np.ndarray

    @classmethod
    def from_weights(cls, weights: Sequence[float] | np.ndarray) -> "WeightedTable":
        """Return a table for ``weights`` (non-negative, not all zero)."""
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
        return cls(cumulative / cumulative[-1])

    def __len__(self) -> int:
        return int(self.cumulative.size)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return ``size`` int32 indices drawn with the table's weights."""
        picks = np.searchsorted(self.cumulative, rng.random(size), side="right")
        # Rounding can leave the last cumulative value a hair under 1.0.
        np.minimum(picks, self.cumulative.size - 1, out=picks)
        return picks.astype(np.int32, copy=False)


def fixed_width_strings(
    rng: np.random.Generator, size: int, template: str, alphabets: Mapping[str, str]
) -> pa.StringArray:
    """Return ``size`` ASCII strings shaped like ``template``.

    Each character of ``template`` that is a key of ``alphabets`` is replaced by a
    uniformly drawn character of that alphabet; all other characters are kept.
    E.g. ``("0M0-####-####", {"M": "789", "#": "0123456789"})``.
    """
    pattern = np.frombuffer(template.encode("ascii"), dtype=np.uint8)
    width = pattern.size
    chars = np.broadcast_to(pattern, (size, width)).copy()
    for placeholder, alphabet in alphabets.items():
        positions = np.flatnonzero(pattern == ord(placeholder))
        if positions.size == 0:
            continue
        letters = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
        picks = rng.integers(0, letters.size, size=(size, positions.size), dtype=np.uint8)
        chars[:, positions] = letters[picks]
    offsets = np.arange(0, (size + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        size, pa.py_buffer(offsets), pa.py_buffer(chars), null_count=0
    )


def join_by_take(lookup: pa.StringArray, parts: Sequence[np.ndarray]) -> pa.StringArray:
    """Return strings ``lookup[parts[0][i]] + lookup[parts[1][i]] + ...`` for every row i.

    One ``take`` over interleaved indices lays the pieces out row after row in one data
    buffer; keeping every k-th offset then makes each row's pieces one string. This is
    markedly faster than joining k separate string arrays.
    """
    size = len(parts[0])
    width = len(parts)
    indices = np.empty((size, width), dtype=np.int32)
    for column, part in enumerate(parts):
        indices[:, column] = part
    pieces = lookup.take(pa.array(indices.ravel()))
    all_offsets = np.frombuffer(pieces.buffers()[1], dtype=np.int32)
    start = pieces.offset
    row_offsets = np.ascontiguousarray(all_offsets[start : start + size * width + 1 : width])
    return pa.StringArray.from_buffers(
        size, pa.py_buffer(row_offsets), pieces.buffers()[2], null_count=0
    )


def with_nulls(values: pa.Array, is_null: np.ndarray) -> pa.Array:
    """Return ``values`` with the rows where ``is_null`` is true set to null."""
    if not is_null.any():
        return values
    if values.null_count or values.offset:
        return pc.if_else(pa.array(is_null), pa.scalar(None, values.type), values)
    # Swap in a validity bitmap; the value buffers are shared, not copied.
    validity = np.packbits(~is_null, bitorder="little")
    return pa.Array.from_buffers(
        values.type,
        len(values),
        [pa.py_buffer(validity), *values.buffers()[1:]],
        null_count=int(is_null.sum()),
    )
