"""Identifiers: time-ordered UUIDv7 and ULID, random hex and nanoid ids, and barcodes
(EAN-13, ISBN-13, JAN) with valid check digits. Every type here can be unique.

Also the small array tools the other code types (cards, IBANs, accounts) build on:
``scatter`` (spread value numbers over a range), ``decimal_digits`` and ``ascii_rows``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType

HEX = b"0123456789abcdef"
CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# nanoid's own URL-safe alphabet: 64 symbols, so each character carries 6 bits.
NANOID = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"
UINT64_SPAN = 2**64
# Multipliers for ``scatter``: primes, so most are coprime with any capacity.
_MULTIPLIERS = (6364136223846793005, 2862933555777941757, 1_000_003, 7919, 131, 7)


def scatter(k: np.ndarray, capacity: int) -> np.ndarray:
    """Return ``k`` (uint64 in ``[0, capacity)``) mapped one-to-one onto ``[0, capacity)``.

    Consecutive numbers land far apart, so value numbers 0, 1, 2 do not give
    0000…01, 0000…02. For a power of two this is an odd multiply plus an xorshift;
    otherwise an affine map modulo ``capacity`` with a multiplier coprime to it.
    """
    k = k.astype(np.uint64, copy=False)
    if capacity <= 1:
        return np.zeros_like(k)
    bits = capacity.bit_length() - 1
    if capacity == 1 << bits:
        mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(UINT64_SPAN - 1)
        x = (k * np.uint64(_MULTIPLIERS[0]) + np.uint64(0x9E3779B97F4A7C15)) & mask
        shift = np.uint64(max(bits // 2, 1))
        return x ^ (x >> shift)
    for multiplier in _MULTIPLIERS:
        if multiplier * capacity < UINT64_SPAN and math.gcd(multiplier, capacity) == 1:
            offset = np.uint64(capacity // 3)
            return (k * np.uint64(multiplier) + offset) % np.uint64(capacity)
    return k


def decimal_digits(values: np.ndarray, width: int) -> np.ndarray:
    """Return the last ``width`` decimal digits of each uint64 value as a (rows, width) uint8."""
    digits = np.empty((values.size, width), dtype=np.uint8)
    rest = values.astype(np.uint64, copy=True)
    for column in range(width - 1, -1, -1):
        digits[:, column] = rest % np.uint64(10)
        rest //= np.uint64(10)
    return digits


def ascii_rows(chars: np.ndarray) -> pa.StringArray:
    """Return one string per row of a (rows, width) uint8 matrix of ASCII codes."""
    rows, width = chars.shape
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        rows, pa.py_buffer(offsets), pa.py_buffer(data), null_count=0
    )


# Each byte as its two hex characters, first character in the low byte (little-endian).
_HEX_PAIRS = np.array([HEX[b >> 4] | HEX[b & 15] << 8 for b in range(256)], dtype=np.uint16)


def symbols(values: np.ndarray, alphabet: bytes, count: int) -> np.ndarray:
    """Return the last ``count`` base-``len(alphabet)`` symbols of each value, as ASCII codes.

    ``alphabet`` must have a power-of-two length; the first symbol is the most significant.
    """
    values = values.astype(np.uint64, copy=False)
    if alphabet == HEX:
        # Two characters per byte through a 256-entry table: several times faster.
        big_endian = values.astype(">u8").view(np.uint8).reshape(-1, 8)
        pairs: np.ndarray = _HEX_PAIRS[big_endian].view(np.uint8).reshape(-1, 16)
        return pairs[:, 16 - count :]
    bits = len(alphabet).bit_length() - 1
    table = np.frombuffer(alphabet, dtype=np.uint8)
    shifts = np.arange(count - 1, -1, -1, dtype=np.uint64) * np.uint64(bits)
    codes = ((values[:, None] >> shifts[None, :]) & np.uint64(len(alphabet) - 1)).astype(np.uint8)
    chars: np.ndarray = table[codes]
    return chars


def random_symbols(rng: np.random.Generator, shape: tuple[int, int], alphabet: bytes) -> np.ndarray:
    """Return uniformly drawn ASCII codes of a power-of-two-sized ``alphabet``, of ``shape``."""
    raw = np.frombuffer(rng.bytes(shape[0] * shape[1]), dtype=np.uint8).reshape(shape)
    chars: np.ndarray = np.frombuffer(alphabet, dtype=np.uint8)[raw & (len(alphabet) - 1)]
    return chars


def ean_check_digits(body: np.ndarray) -> np.ndarray:
    """Return the GS1 check digit of each row of a (rows, 12) digit matrix (EAN-13/JAN/ISBN-13)."""
    weights = np.tile(np.array([1, 3], dtype=np.int32), body.shape[1] // 2 + 1)[: body.shape[1]]
    total = body.astype(np.int32) @ weights
    return ((10 - total % 10) % 10).astype(np.uint8)


# --- time-ordered ids -------------------------------------------------------------------

DEFAULT_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DEFAULT_END = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MAX_MS = 2**48 - 1


def _epoch_ms(moment: dt.datetime) -> int:
    # A naive time is read as UTC, so a spec means the same instant on every machine.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return int(aware.timestamp() * 1000)


class _TimeOrderedOptions(FieldOptions, frozen=True):
    start: dt.datetime = DEFAULT_START
    end: dt.datetime = DEFAULT_END

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        first, last = _epoch_ms(self.start), _epoch_ms(self.end)
        if first > last:
            yield "start", f"start ({self.start}) is after end ({self.end})"
        for option, value in (("start", first), ("end", last)):
            if not 0 <= value <= MAX_MS:
                yield option, "must lie between 1970 and the year 10889 (48-bit milliseconds)"


class Uuid7Field(_TimeOrderedOptions, tag="uuid7", frozen=True):
    pass


class UlidField(_TimeOrderedOptions, tag="ulid", frozen=True):
    pass


def _timestamps(options: _TimeOrderedOptions, block: BlockContext) -> np.ndarray:
    first, last = _epoch_ms(options.start), _epoch_ms(options.end)
    stamps = block.rng.integers(first, last, size=block.size, dtype=np.int64, endpoint=True)
    return stamps.astype(np.uint64)


def _rising(
    stamps: np.ndarray, random_bits: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (timestamps, random bits) sorted together, so ids rise row by row.

    One sort of ``stamp << width | bits`` orders by time, then by the random bits that
    follow the timestamp in the id, so ids of the same millisecond keep row order too.
    """
    keys = np.sort((stamps << np.uint64(width)) | random_bits)
    return keys >> np.uint64(width), keys & np.uint64((1 << width) - 1)


_UUID_DASHES = (8, 13, 18, 23)
_UUID_HEX_COLUMNS = np.array([i for i in range(36) if i not in _UUID_DASHES])


def _uuid7_strings(stamps: np.ndarray, rand_a: np.ndarray, rand_b: np.ndarray) -> pa.Array:
    # RFC 9562: 48-bit ms | version 7 | 12 bits rand_a | variant 0b10 | 62 bits rand_b.
    high = (stamps << np.uint64(16)) | np.uint64(0x7000) | (rand_a & np.uint64(0x0FFF))
    low = np.uint64(0x8000000000000000) | (rand_b & np.uint64(0x3FFFFFFFFFFFFFFF))
    chars = np.full((stamps.size, 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_HEX_COLUMNS[:16]] = symbols(high, HEX, 16)
    chars[:, _UUID_HEX_COLUMNS[16:]] = symbols(low, HEX, 16)
    return ascii_rows(chars)


def uuid7_column(options: Uuid7Field, block: BlockContext) -> pa.Array:
    rand_a = block.rng.integers(0, 1 << 12, size=block.size, dtype=np.uint64)
    stamps, rand_a = _rising(_timestamps(options, block), rand_a, 12)
    rand_b = block.rng.integers(0, 1 << 62, size=block.size, dtype=np.uint64)
    return _uuid7_strings(stamps, rand_a, rand_b)


def uuid7_from_index(options: Uuid7Field, block: BlockContext, k: np.ndarray) -> pa.Array:
    rand_a = block.rng.integers(0, 1 << 12, size=block.size, dtype=np.uint64)
    stamps, rand_a = _rising(_timestamps(options, block), rand_a, 12)
    # Distinct k give distinct rand_b, so the UUIDs differ whatever the timestamps.
    return _uuid7_strings(stamps, rand_a, scatter(k, 2**62))


def _ulid_strings(stamps: np.ndarray, rand_high: np.ndarray, rand_low: np.ndarray) -> pa.Array:
    # 80 random bits = rand_high (16) + rand_low (64), written as two 40-bit halves.
    upper = ((rand_high & np.uint64(0xFFFF)) << np.uint64(24)) | (rand_low >> np.uint64(40))
    lower = rand_low & np.uint64((1 << 40) - 1)
    chars = np.empty((stamps.size, 26), dtype=np.uint8)
    chars[:, :10] = symbols(stamps, CROCKFORD, 10)
    chars[:, 10:18] = symbols(upper, CROCKFORD, 8)
    chars[:, 18:] = symbols(lower, CROCKFORD, 8)
    return ascii_rows(chars)


def ulid_column(options: UlidField, block: BlockContext) -> pa.Array:
    rand_high = block.rng.integers(0, 1 << 16, size=block.size, dtype=np.uint64)
    stamps, rand_high = _rising(_timestamps(options, block), rand_high, 16)
    rand_low = block.rng.integers(0, UINT64_SPAN, size=block.size, dtype=np.uint64)
    return _ulid_strings(stamps, rand_high, rand_low)


def ulid_from_index(options: UlidField, block: BlockContext, k: np.ndarray) -> pa.Array:
    rand_high = block.rng.integers(0, 1 << 16, size=block.size, dtype=np.uint64)
    stamps, rand_high = _rising(_timestamps(options, block), rand_high, 16)
    return _ulid_strings(stamps, rand_high, scatter(k, UINT64_SPAN))


# --- random ids -------------------------------------------------------------------------


class HexIdField(FieldOptions, tag="hex_id", frozen=True):
    length: Annotated[int, msgspec.Meta(ge=1, le=128)] = 32


class NanoidField(FieldOptions, tag="nanoid", frozen=True):
    length: Annotated[int, msgspec.Meta(ge=1, le=128)] = 21


def _alphabet(options: HexIdField | NanoidField) -> bytes:
    return HEX if isinstance(options, HexIdField) else NANOID


def _unique_symbols(options: HexIdField | NanoidField) -> int:
    """How many trailing symbols carry the value number (as many as fit in 64 bits)."""
    bits = len(_alphabet(options)).bit_length() - 1
    return min(options.length, 64 // bits)


def random_id_capacity(options: HexIdField | NanoidField, locale: str) -> int:
    bits = len(_alphabet(options)).bit_length() - 1
    return int(2 ** (bits * _unique_symbols(options)))


def random_id_column(options: HexIdField | NanoidField, block: BlockContext) -> pa.Array:
    return ascii_rows(random_symbols(block.rng, (block.size, options.length), _alphabet(options)))


def random_id_from_index(
    options: HexIdField | NanoidField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    alphabet = _alphabet(options)
    tail = _unique_symbols(options)
    chars = np.empty((block.size, options.length), dtype=np.uint8)
    head = options.length - tail
    chars[:, :head] = random_symbols(block.rng, (block.size, head), alphabet)
    chars[:, head:] = symbols(scatter(k, random_id_capacity(options, block.locale)), alphabet, tail)
    return ascii_rows(chars)


# --- barcodes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Gs1Code:
    """13-digit GS1 numbers: one of ``prefixes`` (all the same length), random body, check."""

    prefixes: Sequence[str]

    @property
    def body_digits(self) -> int:
        return 12 - len(self.prefixes[0])

    @property
    def capacity(self) -> int:
        return len(self.prefixes) * int(10**self.body_digits)

    def strings(self, numbers: np.ndarray) -> pa.Array:
        """Return the code for each number in ``[0, capacity)``: prefix, body, check digit."""
        span = np.uint64(10**self.body_digits)
        prefix_digits = np.array([[int(c) for c in p] for p in self.prefixes], dtype=np.uint8)
        digits = np.empty((numbers.size, 13), dtype=np.uint8)
        digits[:, : 12 - self.body_digits] = prefix_digits[(numbers // span).astype(np.intp)]
        digits[:, 12 - self.body_digits : 12] = decimal_digits(numbers % span, self.body_digits)
        digits[:, 12] = ean_check_digits(digits[:, :12])
        return ascii_rows(digits + ord("0"))


Digits = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{0,11}$")]


class Ean13Field(FieldOptions, tag="ean13", frozen=True):
    prefix: Digits = ""


class Isbn13Field(FieldOptions, tag="isbn13", frozen=True):
    pass


class JanCodeField(FieldOptions, tag="jan_code", frozen=True):
    pass


def _gs1(options: Ean13Field | Isbn13Field | JanCodeField) -> Gs1Code:
    if isinstance(options, Isbn13Field):
        return Gs1Code(("978", "979"))
    if isinstance(options, JanCodeField):
        # GS1 Japan's two national prefixes.
        return Gs1Code(("45", "49"))
    return Gs1Code((options.prefix,))


def gs1_capacity(options: Ean13Field | Isbn13Field | JanCodeField, locale: str) -> int:
    return _gs1(options).capacity


def gs1_column(options: Ean13Field | Isbn13Field | JanCodeField, block: BlockContext) -> pa.Array:
    code = _gs1(options)
    return code.strings(block.rng.integers(0, code.capacity, size=block.size, dtype=np.uint64))


def gs1_from_index(
    options: Ean13Field | Isbn13Field | JanCodeField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    code = _gs1(options)
    return code.strings(scatter(k, code.capacity))


TYPES = (
    FieldType(
        Uuid7Field,
        "identifier",
        "Time-ordered version-7 UUID (RFC 9562); timestamps in [start, end], rising row by row "
        "within each block of rows.",
        "01890a5d-ac96-774b-bcce-b302099a8057",
        uuid7_column,
        capacity=lambda options, locale: 2**62,
        from_index=uuid7_from_index,
    ),
    FieldType(
        UlidField,
        "identifier",
        "ULID: 48-bit millisecond timestamp in [start, end] and 80 random bits, 26 Crockford "
        "base-32 characters; rising row by row within each block of rows.",
        "01HQ3Z8K5X7M2N4P6R8T0V2W4Y",
        ulid_column,
        capacity=lambda options, locale: UINT64_SPAN,
        from_index=ulid_from_index,
    ),
    FieldType(
        HexIdField,
        "identifier",
        "Random lowercase hexadecimal id of length characters.",
        "9f86d081884c7d659a2feaa0c55ad015",
        random_id_column,
        capacity=random_id_capacity,
        from_index=random_id_from_index,
    ),
    FieldType(
        NanoidField,
        "identifier",
        "Random URL-safe id (nanoid's 64-symbol alphabet) of length characters.",
        "V1StGXR8_Z5jdHi6B-myT",
        random_id_column,
        capacity=random_id_capacity,
        from_index=random_id_from_index,
    ),
    FieldType(
        Ean13Field,
        "commerce",
        "EAN-13 barcode number starting with prefix, with a valid check digit.",
        "4006381333931",
        gs1_column,
        capacity=gs1_capacity,
        from_index=gs1_from_index,
    ),
    FieldType(
        Isbn13Field,
        "commerce",
        "ISBN-13 (978 or 979 prefix) with a valid check digit, without hyphens.",
        "9784101010014",
        gs1_column,
        capacity=gs1_capacity,
        from_index=gs1_from_index,
    ),
    FieldType(
        JanCodeField,
        "commerce",
        "Japanese JAN code: 13 digits starting 45 or 49, with a valid check digit.",
        "4901234567894",
        gs1_column,
        capacity=gs1_capacity,
        from_index=gs1_from_index,
    ),
)
