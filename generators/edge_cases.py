"""Edge-case injection for QA: a share of a field's cells replaced by values that break things.

Which cells are replaced depends only on (seed, field name, block), from a stream of its own,
so the manifest of injected cells can be listed without generating the data, and turning
injection on or changing its rate never changes the values of the other cells.

The pool for a field is its type's own boundary values (``FieldType.edge_cases``: min−1,
min, max, max+1, …) and, for text, the hazards below: a selection from the Big List of
Naughty Strings (MIT) and the characters that break Japanese systems.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.fieldtype import FieldOptions, FieldType, stable_hash

# Each entry: (kind, value). The kind goes into the manifest so a tester knows what hit.
TEXT_HAZARDS: tuple[tuple[str, str], ...] = (
    ("empty", ""),
    ("whitespace", " "),
    ("whitespace", "\t\u3000 "),
    ("long", "x" * 10_000),
    ("sql_injection", "'; DROP TABLE users; --"),
    ("sql_injection", "1' OR '1'='1"),
    ("html_injection", "<script>alert(1)</script>"),
    ("html_injection", '"><img src=x onerror=alert(1)>'),
    ("format_string", "%s%s%s%n"),
    ("csv_injection", '=HYPERLINK("http://example.com","x")'),
    ("reserved_word", "NULL"),
    ("reserved_word", "undefined"),
    ("numeric_text", "1e309"),
    ("numeric_text", "-0"),
    ("quote", 'He said "hi", then left'),
    ("newline", "first line\nsecond line"),
    ("newline", "carriage\r\nreturn"),
    ("backslash", "C:\\path\\to\\file"),
    ("emoji", "😀👍🏽👨‍👩‍👧"),
    ("rtl", "\u202egnirts desrever"),
    ("zero_width", "zero\u200bwidth\ufeff"),
    ("combining", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚o"),
    # Japanese hazards: characters outside the BMP (4 bytes in UTF-8, surrogate pairs in
    # UTF-16), half-width kana, full-width digits and letters, and characters that have no
    # mapping in Shift_JIS or differ between Shift_JIS and CP932.
    ("ja_4byte", "𩸽"),
    ("ja_4byte", "𠮟る"),
    ("ja_4byte", "𠀋𡈽𡌛𡑮"),
    ("ja_halfwidth_kana", "ｱｲｳｴｵｶﾞｷﾞ"),
    ("ja_fullwidth_digits", "１２３４５６７８９０"),
    ("ja_fullwidth_latin", "ＡＢＣａｂｃ＠ｅｘａｍｐｌｅ．ｊｐ"),
    ("ja_wave_dash", "〜～"),
    ("ja_not_in_shift_jis", "①②髙﨑"),
    ("ja_not_in_cp932", "♡ⅰ🈁"),
    ("ja_ideographic_space", "山田\u3000太郎"),
    ("ja_dakuten_combining", "か\u3099き\u3099"),
)


@dataclass(frozen=True)
class Injection:
    """Which rows of a block get an edge case, and which value of the pool each gets."""

    rows: np.ndarray  # offsets within the block
    picks: np.ndarray  # indices into the pool


def edge_case_pool(
    field_type: FieldType, options: FieldOptions, arrow_type: pa.DataType
) -> tuple[list[str], pa.Array] | None:
    """The kinds and values a field's cells may be replaced by, in the column's type."""
    kinds: list[str] = []
    values: list[object] = []
    if field_type.edge_cases is not None:
        for kind, value in field_type.edge_cases(options):
            kinds.append(kind)
            values.append(value)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        for kind, value in TEXT_HAZARDS:
            kinds.append(kind)
            values.append(value)
    if not values:
        return None
    return kinds, pa.array(values, type=arrow_type)


def choose_injection(
    seed: int, field_name: str, block_index: int, size: int, rate: float, pool_size: int
) -> Injection:
    """The block's injected cells for one field, from a stream used for nothing else."""
    seeds = np.random.SeedSequence([seed, stable_hash("edge:" + field_name), block_index])
    rng = np.random.Generator(np.random.PCG64(seeds))
    hit = rng.random(size) < rate
    picks = rng.integers(0, pool_size, size=size, dtype=np.int32)
    rows = np.flatnonzero(hit)
    return Injection(rows=rows, picks=picks[rows])


def inject(values: pa.Array, pool: pa.Array, injection: Injection) -> pa.Array:
    """``values`` with the chosen cells replaced by their pool values."""
    if injection.rows.size == 0:
        return values
    # Build an index into [values ++ pool]: own row for most, pool entry for the chosen.
    index = np.arange(len(values), dtype=np.int64)
    index[injection.rows] = len(values) + injection.picks
    combined = pa.concat_arrays([values, pool.cast(values.type)])
    return pc.take(combined, pa.array(index))


def iter_injections(
    seed: int, field_name: str, rows: int, block_rows: int, rate: float, kinds: list[str]
) -> Iterator[tuple[int, str]]:
    """(absolute row, kind) of every injected cell of one field, block by block."""
    for block_index in range(-(-rows // block_rows)):
        first = block_index * block_rows
        size = min(rows, first + block_rows) - first
        injection = choose_injection(seed, field_name, block_index, size, rate, len(kinds))
        for row, pick in zip(injection.rows.tolist(), injection.picks.tolist(), strict=True):
            yield first + row, kinds[pick]
