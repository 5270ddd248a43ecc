"""Strings from per-row templates of different lengths, with placeholders filled at random.

``vectors.fixed_width_strings`` serves one template for all rows; phone numbers and
postcodes need a template per row (a mobile or a landline number, a Tokyo or a Sapporo
area code, one of a locale's several formats). Templates are padded into one byte matrix,
each row takes its template's row, placeholders are filled column-wise, and the padding is
dropped when the rows are laid into one Arrow buffer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

DIGITS = "0123456789"
# Faker's numerify placeholders: "#" any digit, "%" a digit other than 0.
NUMERIFY: Mapping[str, str] = {"#": DIGITS, "%": "123456789"}


@dataclass(frozen=True)
class TemplateTable:
    """ASCII templates as a padded byte matrix, with each template's length."""

    chars: np.ndarray  # (templates, width) uint8
    lengths: np.ndarray  # (templates,) int32

    @classmethod
    def of(cls, templates: Sequence[str]) -> TemplateTable:
        """Return the table for ``templates`` (ASCII only)."""
        width = max(len(t) for t in templates)
        chars = np.zeros((len(templates), width), dtype=np.uint8)
        for row, template in enumerate(templates):
            chars[row, : len(template)] = np.frombuffer(template.encode("ascii"), np.uint8)
        return cls(chars, np.array([len(t) for t in templates], dtype=np.int32))

    def render(
        self,
        rng: np.random.Generator,
        choice: np.ndarray,
        alphabets: Mapping[str, str] = NUMERIFY,
    ) -> pa.StringArray:
        """Return one string per entry of ``choice`` (template numbers), placeholders filled."""
        size = choice.size
        rows = self.chars[choice]
        # One random byte per cell, drawn whatever the templates, so the draws consumed
        # depend only on the block size; a byte b picks letter (b × len) >> 8.
        noise = np.frombuffer(rng.bytes(rows.size), dtype=np.uint8).reshape(rows.shape)
        # table[c, b]: the letter random byte b picks for template character c; characters
        # that are no placeholder map to themselves, so one gather fills every cell.
        table = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 256, axis=1)
        for placeholder, alphabet in alphabets.items():
            letters = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
            table[ord(placeholder)] = letters[(np.arange(256) * letters.size) >> 8]
        # A flat take beats numpy's two-dimensional fancy indexing several times over.
        flat = (rows.astype(np.uint16) << np.uint16(8)) | noise
        rows = np.take(table.ravel(), flat)
        lengths = self.lengths[choice]
        keep = np.arange(rows.shape[1]) < lengths[:, None]
        offsets = np.zeros(size + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        return pa.StringArray.from_buffers(
            size, pa.py_buffer(offsets), pa.py_buffer(rows[keep]), null_count=0
        )


def random_lanes(rng: np.random.Generator, size: int, lanes: int) -> np.ndarray:
    """Return a (size, lanes) uint16 matrix of random bits, cut from the raw 64-bit stream.

    Much cheaper than ``rng.random`` or ``rng.integers`` per value; a 16-bit lane is plenty
    for a weighted pick through an ``InverseCdf`` or a small bounded integer.
    """
    words = -(-lanes // 4)
    raw = rng.bit_generator.random_raw(size * words)
    return np.asarray(raw).view(np.uint16).reshape(size, words * 4)[:, :lanes]


def bounded(lane: np.ndarray, bound: int) -> np.ndarray:
    """Return integers in ``[0, bound)`` from uint16 lanes by multiply-shift (bound < 2**16)."""
    return ((lane.astype(np.uint32) * np.uint32(bound)) >> np.uint32(16)).astype(np.int32)


def bounded32(high: np.ndarray, low: np.ndarray, bound: int) -> np.ndarray:
    """Return integers in ``[0, bound)`` from two uint16 lanes taken as one 32-bit value."""
    value = (high.astype(np.uint64) << np.uint64(16)) | low.astype(np.uint64)
    return ((value * np.uint64(bound)) >> np.uint64(32)).astype(np.int64)


@dataclass(frozen=True)
class InverseCdf:
    """Weighted picks from one 16-bit lane: a 65,536-entry table of entry numbers.

    Each entry's share is its weight rounded to 1/65,536, which is finer than any
    frequency list we draw from needs.
    """

    table: np.ndarray  # int32, 65,536 entries

    @classmethod
    def from_weights(cls, weights: Sequence[float] | np.ndarray) -> InverseCdf:
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
        cumulative /= cumulative[-1]
        points = (np.arange(65_536, dtype=np.float64) + 0.5) / 65_536
        picks = np.searchsorted(cumulative, points, side="right")
        np.minimum(picks, cumulative.size - 1, out=picks)
        return cls(picks.astype(np.int32))

    def draw(self, lane: np.ndarray) -> np.ndarray:
        """Return int32 entry numbers for uint16 lanes."""
        return np.asarray(self.table[lane])
