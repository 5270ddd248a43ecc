"""Payment cards: Luhn-valid numbers per brand with prefixes and lengths that fit the
brand, expiry dates relative to a fixed date, and security codes.

Banking (IBAN, BIC, account numbers, currencies, amounts) lives in ``banking.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.types.identifiers import ascii_rows, decimal_digits, scatter
from generators.vectors import WeightedTable

Brand = Literal["visa", "mastercard", "amex", "jcb", "discover", "diners"]
BRANDS: tuple[Brand, ...] = ("visa", "mastercard", "amex", "jcb", "discover", "diners")


def _range(first: int, last: int, length: int) -> list[tuple[str, int]]:
    return [(str(prefix), length) for prefix in range(first, last + 1)]


# Issuer prefixes (IINs) and number lengths per brand.
BRAND_PREFIXES: dict[Brand, list[tuple[str, int]]] = {
    "visa": [("4", 16)],
    "mastercard": _range(51, 55, 16) + _range(2221, 2720, 16),
    "amex": [("34", 15), ("37", 15)],
    "jcb": _range(3528, 3589, 16),
    "discover": [("6011", 16), *_range(644, 649, 16), ("65", 16)],
    "diners": [*_range(300, 305, 14), ("36", 14), ("38", 14), ("39", 14)],
}
# Share of cards per brand when no brand is asked for: rough market shares per country.
BRAND_WEIGHTS: dict[str, tuple[float, ...]] = {
    "en_US": (52, 26, 11, 1, 8, 2),
    "ja_JP": (46, 22, 6, 23, 1, 2),
}
WIDTH = 16  # the longest number made here; shorter ones are right-aligned behind zeros


@dataclass(frozen=True)
class CardNumbers:
    """Every number of some brands, numbered ``0..capacity-1`` prefix by prefix."""

    lengths: np.ndarray  # per prefix entry: card number length
    prefix_digits: np.ndarray  # per entry: (15,) digits placed where that prefix goes
    starts: np.ndarray  # per entry: first value number (uint64)
    brand_starts: np.ndarray  # per brand: first value number, and the total at the end

    @property
    def capacity(self) -> int:
        return int(self.brand_starts[-1])

    def strings(self, numbers: np.ndarray) -> pa.Array:
        """Return the card number for each value number in ``[0, capacity)``."""
        entry = np.searchsorted(self.starts, numbers, side="right") - 1
        body = numbers - self.starts[entry]
        # Body digits fill the right of the 15 payload columns; prefix columns are zero there.
        payload = decimal_digits(body, 15) + self.prefix_digits[entry]
        digits = np.empty((numbers.size, WIDTH), dtype=np.uint8)
        digits[:, :15] = payload
        digits[:, 15] = luhn_check_digits(payload)
        lengths = self.lengths[entry]
        keep = np.arange(WIDTH)[None, :] >= (WIDTH - lengths)[:, None]
        offsets = np.zeros(numbers.size + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        data = (digits + ord("0"))[keep]
        return pa.StringArray.from_buffers(
            numbers.size, pa.py_buffer(offsets), pa.py_buffer(data), null_count=0
        )


# Payload columns whose digit Luhn doubles: every second one leftwards from the check digit.
# Integer products on purpose: a float product goes to a threaded BLAS, which is many
# times slower on a busy machine.
_DOUBLED = (np.arange(15) % 2 == 0).astype(np.int32)


def luhn_check_digits(payload: np.ndarray) -> np.ndarray:
    """Return the Luhn check digit for each row of 15 right-aligned payload digits.

    Leading zero padding does not change the sum, so numbers of different lengths can
    share one matrix.
    """
    # A doubled digit d adds 2d, less 9 when 2d has two digits (d >= 5).
    digits = payload.astype(np.int32)
    total = digits @ (1 + _DOUBLED) - 9 * ((payload >= 5).astype(np.int32) @ _DOUBLED)
    check: np.ndarray = ((10 - total % 10) % 10).astype(np.uint8)
    return check


@functools.cache
def card_numbers(brands: tuple[Brand, ...]) -> CardNumbers:
    """Return the numbering of all card numbers of ``brands`` (built once per process)."""
    lengths: list[int] = []
    prefixes: list[np.ndarray] = []
    sizes: list[int] = []
    brand_starts = [0]
    for brand in brands:
        for prefix, length in BRAND_PREFIXES[brand]:
            row = np.zeros(15, dtype=np.uint8)
            start = WIDTH - length
            row[start : start + len(prefix)] = [int(c) for c in prefix]
            lengths.append(length)
            prefixes.append(row)
            sizes.append(10 ** (length - len(prefix) - 1))
        brand_starts.append(sum(sizes))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.uint64)
    return CardNumbers(
        np.array(lengths, dtype=np.int32),
        np.array(prefixes),
        starts,
        np.array(brand_starts, dtype=np.uint64),
    )


def shared_brands(block: BlockContext) -> np.ndarray:
    """Return this block's brand per row (index into BRANDS), the same for every card field."""
    weights = BRAND_WEIGHTS.get(block.locale, BRAND_WEIGHTS["en_US"])
    table = WeightedTable.from_weights(weights)
    return block.shared(f"card-brand:{block.locale}", lambda rng: table.draw(rng, block.size))


class CardNumberField(FieldOptions, tag="credit_card_number", frozen=True):
    brand: Brand | None = None


def _brands(options: CardNumberField) -> tuple[Brand, ...]:
    return BRANDS if options.brand is None else (options.brand,)


def card_number_column(options: CardNumberField, block: BlockContext) -> pa.Array:
    cards = card_numbers(_brands(options))
    # With one brand, its numbers are all of the table; without, the row's shared brand.
    one = np.zeros(block.size, dtype=np.int32)
    brand = shared_brands(block) if options.brand is None else one
    low, high = cards.brand_starts[brand], cards.brand_starts[brand + 1]
    return cards.strings(block.rng.integers(low, high, dtype=np.uint64))


def card_number_capacity(options: CardNumberField, locale: str) -> int:
    return card_numbers(_brands(options)).capacity


def card_number_from_index(
    options: CardNumberField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    # Without a brand, unique numbers spread over all brands by their number space
    # (mostly Visa), not by market share, so the numbering stays a bijection.
    cards = card_numbers(_brands(options))
    return cards.strings(scatter(k, cards.capacity))


class CardExpiryField(FieldOptions, tag="credit_card_expiry", frozen=True):
    reference_date: dt.date = dt.date(2026, 1, 1)
    years: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.reference_date.year + self.years > 2099:
            yield "reference_date", "expiry years have two digits; keep the last one before 2100"


def card_expiry_column(options: CardExpiryField, block: BlockContext) -> pa.Array:
    # Months strictly after the reference month, so every card is still valid on it.
    ahead = block.rng.integers(1, options.years * 12, size=block.size, endpoint=True)
    month_number = options.reference_date.year * 12 + options.reference_date.month - 1 + ahead
    chars = np.full((block.size, 5), ord("/"), dtype=np.uint8)
    chars[:, :2] = decimal_digits((month_number % 12 + 1).astype(np.uint64), 2) + ord("0")
    chars[:, 3:] = decimal_digits((month_number // 12 % 100).astype(np.uint64), 2) + ord("0")
    return ascii_rows(chars)


class CardCvvField(FieldOptions, tag="credit_card_cvv", frozen=True):
    brand: Brand | None = None


def card_cvv_column(options: CardCvvField, block: BlockContext) -> pa.Array:
    if options.brand is None:
        # The same brands as a brandless credit_card_number field in this row.
        four = shared_brands(block) == BRANDS.index("amex")
    else:
        four = np.full(block.size, options.brand == "amex")
    digits = block.rng.integers(0, 10, size=(block.size, 4), dtype=np.uint8) + ord("0")
    lengths = np.where(four, 4, 3).astype(np.int32)
    keep = np.ones((block.size, 4), dtype=bool)
    keep[:, 3] = four
    offsets = np.zeros(block.size + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(
        block.size, pa.py_buffer(offsets), pa.py_buffer(digits[keep]), null_count=0
    )


TYPES = (
    FieldType(
        CardNumberField,
        "finance",
        "Payment card number that passes the Luhn check, with the prefix and length of brand "
        "(visa, mastercard, amex, jcb, discover, diners; by market share when not given).",
        "4539578763621486",
        card_number_column,
        capacity=card_number_capacity,
        from_index=card_number_from_index,
    ),
    FieldType(
        CardExpiryField,
        "finance",
        "Card expiry MM/YY, 1 month to years after reference_date (not today's date).",
        "09/28",
        card_expiry_column,
    ),
    FieldType(
        CardCvvField,
        "finance",
        "Card security code: 4 digits for amex, 3 otherwise; without a brand it follows the "
        "brand of a brandless credit_card_number in the same row.",
        "372",
        card_cvv_column,
    ),
)
