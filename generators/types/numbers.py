"""Numbers: integers, floats, exact decimals and percentages, uniform or shaped.

Each takes ``min``/``max`` and the ``distribution`` options of ``DistributionOptions``
(uniform, normal, lognormal, poisson), drawn truncated to [min, max].
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterator
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import INT64_MAX, INT64_MIN, BlockContext, FieldType, Int64
from generators.types.distributions import DistributionOptions, draw_integer, draw_real

Decimals = Annotated[int, msgspec.Meta(ge=0, le=10)]
DECIMAL_PRECISION = 38
# A decimal's value in units of its last place must fit int64 (18 significant digits).
MAX_DECIMAL_UNITS = 10**18


class IntegerField(DistributionOptions, tag="integer", frozen=True):
    min: Int64 = 0
    max: Int64 = 100

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.min > self.max:
            yield "min", f"min ({self.min}) is greater than max ({self.max})"
            return
        yield from self.distribution_problems(self.min, self.max)


class FloatField(DistributionOptions, tag="float", frozen=True):
    min: float = 0.0
    max: float = 100.0
    decimals: Decimals = 2

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        yield from real_range_problems(self.min, self.max)
        yield from grid_problems(self.min, self.max, self.decimals)
        if self.unique and max(abs(self.min), abs(self.max)) * 10**self.decimals > 2**53:
            yield (
                "unique",
                "unique floats need |min| and |max| × 10^decimals under 2^53, where float64 "
                "still tells every step apart; use decimal or fewer decimals",
            )
        yield from self.distribution_problems(self.min, self.max)


class PercentageField(DistributionOptions, tag="percentage", frozen=True):
    min: float = 0.0
    max: float = 100.0
    decimals: Decimals = 1

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if not 0 <= self.min <= self.max <= 100:
            yield "min", "a percentage needs 0 <= min <= max <= 100"
            return
        yield from grid_problems(self.min, self.max, self.decimals)
        yield from self.distribution_problems(self.min, self.max)


class DecimalField(DistributionOptions, tag="decimal", frozen=True):
    min: float = 0.0
    max: float = 1000.0
    decimals: Decimals = 2

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        yield from decimal_range_problems(self.min, self.max, self.decimals)
        yield from self.distribution_problems(self.min, self.max)


def real_range_problems(low: float, high: float) -> Iterator[tuple[str, str]]:
    """Yield problems of a [min, max] range of floats."""
    for option, value in (("min", low), ("max", high)):
        if not math.isfinite(value):
            yield option, f"{option} must be a finite number"
            return
    if low > high:
        yield "min", f"min ({low}) is greater than max ({high})"
    elif not math.isfinite(high - low):
        yield "max", "max - min is too large to draw from"


def decimal_range_problems(low: float, high: float, decimals: int) -> Iterator[tuple[str, str]]:
    """Yield problems of a [min, max] range of exact decimals with ``decimals`` places."""
    yield from real_range_problems(low, high)
    if max(abs(low), abs(high)) * 10**decimals >= MAX_DECIMAL_UNITS:
        yield "max", f"with {decimals} decimals, min and max must stay within ±1e{18 - decimals}"
        return
    yield from grid_problems(low, high, decimals)


def grid_problems(low: float, high: float, decimals: int) -> Iterator[tuple[str, str]]:
    """Yield a problem when no number with ``decimals`` places lies in [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return
    scale = 10**decimals
    if math.ceil(round(low * scale, 6)) > math.floor(round(high * scale, 6)):
        yield "decimals", f"no number with {decimals} decimal places lies in [{low}, {high}]"


def unit_range(low: float, high: float, decimals: int) -> tuple[int, int]:
    """Return the smallest and largest multiple of 10**-decimals inside [low, high], as units."""
    scale = 10**decimals
    first, last = math.ceil(round(low * scale, 6)), math.floor(round(high * scale, 6))
    return first, max(first, last)


def decimal_array(units: np.ndarray, decimals: int) -> pa.Array:
    """Return int64 ``units`` (value × 10**decimals) as an exact decimal128 array."""
    # decimal128 is a little-endian 128-bit two's complement integer: low word, sign word.
    words = np.empty((units.size, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    return pa.Array.from_buffers(
        pa.decimal128(DECIMAL_PRECISION, decimals),
        units.size,
        [None, pa.py_buffer(words)],
        null_count=0,
    )


def draw_units(
    options: DistributionOptions, block: BlockContext, low: float, high: float, decimals: int
) -> np.ndarray:
    """Return int64 counts of 10**-decimals for values in [low, high] shaped by ``options``."""
    first, last = unit_range(low, high, decimals)
    if options.distribution in ("uniform", "poisson"):
        return draw_integer(options, block.rng, block.size, first, last)
    scale = 10**decimals
    values = draw_real(options, block.rng, block.size, low, high)
    units: np.ndarray = np.clip(np.rint(values * scale), first, last).astype(np.int64)
    return units


def integer_column(options: IntegerField, block: BlockContext) -> pa.Array:
    values = draw_integer(options, block.rng, block.size, options.min, options.max)
    return pa.array(values, type=pa.int64())


def integer_capacity(options: IntegerField, locale: str) -> int:
    return options.max - options.min + 1


def integer_from_index(options: IntegerField, block: BlockContext, k: np.ndarray) -> pa.Array:
    # min + k in wrapping 64-bit arithmetic: exact for every k below the capacity.
    offset = np.uint64(options.min % 2**64)
    return pa.array((k.astype(np.uint64) + offset).view(np.int64), type=pa.int64())


def float_column(options: FloatField | PercentageField, block: BlockContext) -> pa.Array:
    if options.distribution == "poisson":
        values = draw_integer(
            options, block.rng, block.size, math.ceil(options.min), math.floor(options.max)
        ).astype(np.float64)
    else:
        values = draw_real(options, block.rng, block.size, options.min, options.max)
    return pa.array(np.round(values, options.decimals), type=pa.float64())


def float_capacity(options: FloatField | PercentageField, locale: str) -> int:
    first, last = unit_range(options.min, options.max, options.decimals)
    return last - first + 1


def float_from_index(
    options: FloatField | PercentageField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    first, _ = unit_range(options.min, options.max, options.decimals)
    units = k.astype(np.int64) + first
    return pa.array(np.round(units / 10**options.decimals, options.decimals), type=pa.float64())


def decimal_column(options: DecimalField, block: BlockContext) -> pa.Array:
    units = draw_units(options, block, options.min, options.max, options.decimals)
    return decimal_array(units, options.decimals)


def decimal_capacity(options: DecimalField, locale: str) -> int:
    first, last = unit_range(options.min, options.max, options.decimals)
    return last - first + 1


def decimal_from_index(options: DecimalField, block: BlockContext, k: np.ndarray) -> pa.Array:
    first, _ = unit_range(options.min, options.max, options.decimals)
    return decimal_array(k.astype(np.int64) + first, options.decimals)


def integer_edge_cases(options: IntegerField) -> list[tuple[str, object]]:
    """The range's ends and the values just outside them (where int64 has room)."""
    cases: list[tuple[str, object]] = [("min", options.min), ("max", options.max)]
    if options.min > INT64_MIN:
        cases.append(("below_min", options.min - 1))
    if options.max < INT64_MAX:
        cases.append(("above_max", options.max + 1))
    return cases


def real_edge_cases(options: FloatField | PercentageField) -> list[tuple[str, object]]:
    """The range's ends and one step of the last decimal place outside them."""
    step = 10.0**-options.decimals
    return [
        ("below_min", round(options.min - step, options.decimals)),
        ("min", options.min),
        ("max", options.max),
        ("above_max", round(options.max + step, options.decimals)),
    ]


def decimal_edge_cases(options: DecimalField) -> list[tuple[str, object]]:
    quantum = decimal.Decimal(1).scaleb(-options.decimals)
    low = decimal.Decimal(str(options.min)).quantize(quantum)
    high = decimal.Decimal(str(options.max)).quantize(quantum)
    return [
        ("below_min", low - quantum),
        ("min", low),
        ("max", high),
        ("above_max", high + quantum),
    ]


TYPES = (
    FieldType(
        IntegerField,
        "number",
        "Integer in [min, max]: uniform, or normal/lognormal/poisson truncated to the range.",
        "42",
        integer_column,
        integer_capacity,
        integer_from_index,
        integer_edge_cases,
    ),
    FieldType(
        FloatField,
        "number",
        "Number in [min, max] rounded to decimals places; uniform or shaped by distribution.",
        "37.25",
        float_column,
        float_capacity,
        float_from_index,
        real_edge_cases,
    ),
    FieldType(
        DecimalField,
        "number",
        "Exact decimal (decimal128) in [min, max] with decimals places; uniform or shaped.",
        "499.95",
        decimal_column,
        decimal_capacity,
        decimal_from_index,
        decimal_edge_cases,
    ),
    FieldType(
        PercentageField,
        "number",
        "Percentage in [0, 100] (or a narrower [min, max]) with decimals places.",
        "63.5",
        float_column,
        float_capacity,
        float_from_index,
        real_edge_cases,
    ),
)
