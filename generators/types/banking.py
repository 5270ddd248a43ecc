"""Banking: IBANs with valid check digits, BICs, account and ABA routing numbers,
ISO 4217 currency codes and exact money amounts in a currency's minor units.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from faker.providers.currency import Provider as CurrencyProvider

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.types.identifiers import ascii_rows, decimal_digits, scatter

DIGITS = b"0123456789"
LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
UINT64_SPAN = 2**64


@dataclass(frozen=True)
class CharTemplate:
    """Fixed-width strings whose positions each take one symbol of their own alphabet."""

    alphabets: tuple[bytes, ...]

    @classmethod
    def parse(cls, template: str, symbols: dict[str, bytes]) -> CharTemplate:
        """Return the template for e.g. ``"????####"`` with ``{"?": LETTERS, "#": DIGITS}``."""
        return cls(tuple(symbols.get(c, c.encode("ascii")) for c in template))

    @functools.cached_property
    def numbered(self) -> int:
        """How many trailing positions carry the value number (as many as fit in 64 bits)."""
        count, product = 0, 1
        for alphabet in reversed(self.alphabets):
            if product * len(alphabet) > UINT64_SPAN:
                break
            product *= len(alphabet)
            count += 1
        return count

    @property
    def capacity(self) -> int:
        return math.prod(len(a) for a in self.alphabets[len(self.alphabets) - self.numbered :])

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return ``size`` random rows of ASCII codes, as a (size, width) uint8 matrix."""
        chars = np.empty((size, len(self.alphabets)), dtype=np.uint8)
        for position, alphabet in enumerate(self.alphabets):
            table = np.frombuffer(alphabet, dtype=np.uint8)
            chars[:, position] = table[rng.integers(0, table.size, size=size)]
        return chars

    def from_numbers(self, rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
        """Like ``draw``, but distinct ``numbers`` (< capacity) give distinct rows."""
        chars = self.draw(rng, numbers.size)
        rest = scatter(numbers, self.capacity)
        for position in range(len(self.alphabets) - 1, len(self.alphabets) - self.numbered - 1, -1):
            table = np.frombuffer(self.alphabets[position], dtype=np.uint8)
            chars[:, position] = table[(rest % np.uint64(table.size)).astype(np.intp)]
            rest //= np.uint64(table.size)
        return chars


# --- IBAN -------------------------------------------------------------------------------

# BBAN layouts from the SWIFT IBAN registry: n digit, a capital letter. Alphanumeric
# parts ("c") are filled with digits, a valid subset that every bank system accepts.
IBAN_BBANS: dict[str, str] = {
    "AT": "nnnnnnnnnnnnnnnn",
    "BE": "nnnnnnnnnnnn",
    "CH": "nnnnnnnnnnnnnnnnn",
    "DE": "nnnnnnnnnnnnnnnnnn",
    "DK": "nnnnnnnnnnnnnn",
    "ES": "nnnnnnnnnnnnnnnnnnnn",
    "FI": "nnnnnnnnnnnnnn",
    "FR": "nnnnnnnnnnnnnnnnnnnnnnn",
    "GB": "aaaannnnnnnnnnnnnn",
    "IE": "aaaannnnnnnnnnnnnn",
    "IT": "annnnnnnnnnnnnnnnnnnnnn",
    "LU": "nnnnnnnnnnnnnnnn",
    "NL": "aaaannnnnnnnnn",
    "NO": "nnnnnnnnnnn",
    "PL": "nnnnnnnnnnnnnnnnnnnnnnnn",
    "PT": "nnnnnnnnnnnnnnnnnnnnn",
    "SE": "nnnnnnnnnnnnnnnnnnnn",
}
IbanCountry = Annotated[str, msgspec.Meta(pattern="^(" + "|".join(IBAN_BBANS) + ")$")]


class IbanField(FieldOptions, tag="iban", frozen=True):
    country: IbanCountry | None = None


def _iban_country(options: IbanField, locale: str) -> str:
    if options.country is not None:
        return options.country
    region = locale.rpartition("_")[2]
    return region if region in IBAN_BBANS else "GB"


def _bban_template(country: str) -> CharTemplate:
    return CharTemplate.parse(IBAN_BBANS[country], {"n": DIGITS, "a": LETTERS})


@functools.cache
def _mod97_terms(country: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Return per BBAN position (10**digits-after mod 97, ASCII offset), and the tail's share.

    ISO 13616 reads ``bban + country + "00"`` as one number, letters as 10..35 (two
    digits). The layout is fixed per country, so the number mod 97 is a dot product of
    the characters' values with precomputed powers of ten: one matrix product per block.
    """
    layout = IBAN_BBANS[country]
    tail = "".join(str(ord(c) - ord("A") + 10) for c in country) + "00"
    weights, after = [], len(tail)
    for kind in reversed(layout):
        weights.append(pow(10, after, 97))
        after += 2 if kind == "a" else 1
    offsets = [ord("A") - 10 if kind == "a" else ord("0") for kind in layout]
    return (
        np.array(weights[::-1], dtype=np.int32),
        np.array(offsets, dtype=np.uint8),
        int(tail) % 97,
    )


def _iban_strings(country: str, bban: np.ndarray) -> pa.Array:
    """Return ``country + check digits + bban`` with check digits that make mod 97 == 1."""
    weights, offsets, tail = _mod97_terms(country)
    # An integer product: a float one would go to a threaded BLAS, slow on a busy machine.
    remainder = (bban - offsets).astype(np.int32) @ weights + tail
    check = 98 - remainder % 97
    chars = np.empty((bban.shape[0], 4 + bban.shape[1]), dtype=np.uint8)
    chars[:, 0:2] = np.frombuffer(country.encode("ascii"), dtype=np.uint8)
    chars[:, 2:4] = decimal_digits(check.astype(np.uint64), 2) + ord("0")
    chars[:, 4:] = bban
    return ascii_rows(chars)


def iban_column(options: IbanField, block: BlockContext) -> pa.Array:
    country = _iban_country(options, block.locale)
    return _iban_strings(country, _bban_template(country).draw(block.rng, block.size))


def iban_capacity(options: IbanField, locale: str) -> int:
    return _bban_template(_iban_country(options, locale)).capacity


def iban_from_index(options: IbanField, block: BlockContext, k: np.ndarray) -> pa.Array:
    country = _iban_country(options, block.locale)
    return _iban_strings(country, _bban_template(country).from_numbers(block.rng, k))


# --- BIC --------------------------------------------------------------------------------


class BicField(FieldOptions, tag="bic", frozen=True):
    country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")] | None = None
    branch: bool = False


def bic_column(options: BicField, block: BlockContext) -> pa.Array:
    region = block.locale.rpartition("_")[2]
    country = options.country or (region if len(region) == 2 else "US")
    # Bank (4 letters), country, location (a second character "0" marks a test BIC),
    # then an optional 3-character branch.
    template = "????" + country + "?!" + ("!!!" if options.branch else "")
    symbols = {"?": LETTERS, "!": LETTERS[:-1] + DIGITS[1:]}
    return ascii_rows(CharTemplate.parse(template, symbols).draw(block.rng, block.size))


# --- account and routing numbers --------------------------------------------------------

# First two digits of ABA routing numbers in use: Federal Reserve districts and thrifts.
ABA_DISTRICTS = np.array([*range(1, 13), *range(21, 33), *range(61, 73), 80], dtype=np.uint64)
EN_US_ACCOUNT = "##########"
JA_JP_ACCOUNT = "#######"


class RoutingNumberField(FieldOptions, tag="routing_number", frozen=True):
    pass


class BankAccountField(FieldOptions, tag="bank_account_number", frozen=True):
    with_routing: bool = True


def routing_numbers(rng: np.random.Generator, size: int) -> np.ndarray:
    """Return ``size`` US ABA routing numbers as a (size, 9) digit matrix with valid checksums."""
    digits = np.empty((size, 9), dtype=np.uint8)
    digits[:, :2] = decimal_digits(ABA_DISTRICTS[rng.integers(0, ABA_DISTRICTS.size, size)], 2)
    digits[:, 2:8] = rng.integers(0, 10, size=(size, 6), dtype=np.uint8)
    # 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) must be a multiple of 10.
    total = digits[:, :8].astype(np.int32) @ np.array([3, 7, 1, 3, 7, 1, 3, 7], dtype=np.int32)
    digits[:, 8] = (10 - total % 10) % 10
    return digits


def routing_number_column(options: RoutingNumberField, block: BlockContext) -> pa.Array:
    return ascii_rows(routing_numbers(block.rng, block.size) + ord("0"))


def _account_template(locale: str) -> CharTemplate:
    if locale == "ja_JP":
        text = JA_JP_ACCOUNT
    elif locale == "en_US":
        text = EN_US_ACCOUNT
    else:
        text = provider_class("bank", locale).bban_format
    return CharTemplate.parse(text, {"#": DIGITS, "?": LETTERS})


def _account_strings(
    options: BankAccountField, block: BlockContext, account: np.ndarray
) -> pa.Array:
    if block.locale != "en_US" or not options.with_routing:
        return ascii_rows(account)
    chars = np.full((block.size, 10 + account.shape[1]), ord(" "), dtype=np.uint8)
    chars[:, :9] = routing_numbers(block.rng, block.size) + ord("0")
    chars[:, 10:] = account
    return ascii_rows(chars)


def bank_account_column(options: BankAccountField, block: BlockContext) -> pa.Array:
    account = _account_template(block.locale).draw(block.rng, block.size)
    return _account_strings(options, block, account)


def bank_account_capacity(options: BankAccountField, locale: str) -> int:
    return _account_template(locale).capacity


def bank_account_from_index(
    options: BankAccountField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    account = _account_template(block.locale).from_numbers(block.rng, k)
    return _account_strings(options, block, account)


# --- currencies and amounts -------------------------------------------------------------

CURRENCY_CODES: tuple[str, ...] = tuple(code for code, _ in CurrencyProvider.currencies)
# ISO 4217 minor units where they are not 2.
ZERO_DECIMALS = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                 "UYI", "VND", "VUV", "XAF", "XOF", "XPF")  # fmt: skip
THREE_DECIMALS = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
MINOR_UNITS = {**dict.fromkeys(ZERO_DECIMALS, 0), **dict.fromkeys(THREE_DECIMALS, 3)}
EURO_COUNTRIES = ("AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT",
                  "LU", "LV", "MT", "NL", "PT", "SI", "SK")  # fmt: skip
LOCALE_CURRENCY = {
    "JP": "JPY", "US": "USD", "GB": "GBP", "CH": "CHF", "CN": "CNY", "TW": "TWD", "KR": "KRW",
    "IN": "INR", "BR": "BRL", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "MX": "MXN", "RU": "RUB",
    "PL": "PLN", "SE": "SEK", "NO": "NOK", "DK": "DKK", "CZ": "CZK", "HU": "HUF", "TR": "TRY",
    "UA": "UAH", "TH": "THB", "VN": "VND", "ID": "IDR", "IL": "ILS", "IR": "IRR", "EG": "EGP",
    **dict.fromkeys(EURO_COUNTRIES, "EUR"),
}  # fmt: skip
# Largest amount whose minor units fit the decimal128(18, ·) type the column returns.
MAX_UNSCALED = 10**18 - 1


class CurrencyCodeField(FieldOptions, tag="currency_code", frozen=True):
    pass


def currency_code_column(options: CurrencyCodeField, block: BlockContext) -> pa.Array:
    codes = pa.array(CURRENCY_CODES, type=pa.string())
    return codes.take(block.rng.integers(0, len(CURRENCY_CODES), size=block.size))


class AmountField(FieldOptions, tag="amount", frozen=True):
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] | None = None
    min: float = 0.0
    max: float = 10_000.0

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.currency is not None and self.currency not in CURRENCY_CODES:
            yield "currency", f"unknown ISO 4217 currency code '{self.currency}'"
            return
        places = MINOR_UNITS.get(self.currency or "USD", 2)
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            yield "min", "min and max must be finite numbers"
        elif self.min > self.max:
            yield "min", f"min ({self.min}) is greater than max ({self.max})"
        elif max(abs(self.min), abs(self.max)) * 10**places > MAX_UNSCALED:
            yield "max", f"amounts are limited to {MAX_UNSCALED // 10**places:,} in size"
        elif math.ceil(self.min * 10**places) > math.floor(self.max * 10**places):
            yield "max", f"no amount with {places} decimals lies in [min, max]"


def amount_currency(options: AmountField, locale: str) -> str:
    """Return the field's currency: the option, else the locale's country's, else USD."""
    return options.currency or LOCALE_CURRENCY.get(locale.rpartition("_")[2], "USD")


def amount_column(options: AmountField, block: BlockContext) -> pa.Array:
    places = MINOR_UNITS.get(amount_currency(options, block.locale), 2)
    scale = 10**places
    low, high = math.ceil(options.min * scale), math.floor(options.max * scale)
    unscaled = block.rng.integers(low, high, size=block.size, dtype=np.int64, endpoint=True)
    # decimal128 is 16-byte little-endian two's complement: the int64 and its sign word.
    words = np.empty((block.size, 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = unscaled >> 63
    return pa.Array.from_buffers(pa.decimal128(18, places), block.size, [None, pa.py_buffer(words)])


TYPES = (
    FieldType(
        IbanField,
        "finance",
        "IBAN of country (AT BE CH DE DK ES FI FR GB IE IT LU NL NO PL PT SE; default the "
        "locale's country, else GB) with the country's length and valid mod-97 check digits.",
        "DE89370400440532013000",
        iban_column,
        capacity=iban_capacity,
        from_index=iban_from_index,
    ),
    FieldType(
        BicField,
        "finance",
        "BIC / SWIFT code of country (default the locale's); 11 characters with branch.",
        "DEUTDEFF",
        bic_column,
    ),
    FieldType(
        RoutingNumberField,
        "finance",
        "US ABA routing number (9 digits) with a valid checksum.",
        "021000021",
        routing_number_column,
    ),
    FieldType(
        BankAccountField,
        "finance",
        "Bank account number: 7 digits in ja_JP; in en_US an ABA routing number and a "
        "10-digit account, space-separated (account only with with_routing false); "
        "elsewhere the locale's BBAN layout from Faker.",
        "021000021 4829103746",
        bank_account_column,
        capacity=bank_account_capacity,
        from_index=bank_account_from_index,
    ),
    FieldType(
        CurrencyCodeField,
        "finance",
        "ISO 4217 currency code.",
        "JPY",
        currency_code_column,
    ),
    FieldType(
        AmountField,
        "finance",
        "Money amount uniform in [min, max] as an exact decimal with the currency's minor "
        "units (JPY 0, USD 2, KWD 3); currency defaults to the locale's country's.",
        "1234.50",
        amount_column,
    ),
)
