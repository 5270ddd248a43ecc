"""Finance values as a user sees them: cards, IBANs, routing numbers, currencies, amounts."""

import datetime as dt
import decimal
import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from generators.errors import SpecError
from tests.unit.making import made_table

# Issuer prefixes and lengths, written out here independently of the generator.
BRAND_RULES: dict[str, tuple[Callable[[str], bool], int]] = {
    "visa": (lambda n: n.startswith("4"), 16),
    "mastercard": (lambda n: 51 <= int(n[:2]) <= 55 or 2221 <= int(n[:4]) <= 2720, 16),
    "amex": (lambda n: n[:2] in {"34", "37"}, 15),
    "jcb": (lambda n: 3528 <= int(n[:4]) <= 3589, 16),
    "discover": (lambda n: n.startswith(("6011", "65")) or 644 <= int(n[:3]) <= 649, 16),
    "diners": (lambda n: 300 <= int(n[:3]) <= 305 or n[:2] in {"36", "38", "39"}, 14),
}
IBAN_LENGTHS = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "CH": 21, "NO": 15}


def table(fields: list[dict[str, Any]], rows: int = 3000, locale: str = "en_US") -> pa.Table:
    return made_table(fields, rows=rows, seed=5, locale=locale)


def values(field: dict[str, Any], rows: int = 3000, locale: str = "en_US") -> list[Any]:
    column: list[Any] = table([{"name": "x", **field}], rows, locale).column("x").to_pylist()
    return column


def luhn_valid(number: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(number)):
        digit = int(char) * (2 if i % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    (brand,) = [
        b for b, (fits, length) in BRAND_RULES.items() if fits(number) and len(number) == length
    ]
    return brand


@pytest.mark.parametrize("brand", list(BRAND_RULES))
def test_card_numbers_pass_luhn_with_their_brands_prefix_and_length(brand: str) -> None:
    fits, length = BRAND_RULES[brand]
    for number in values({"type": "credit_card_number", "brand": brand}):
        assert len(number) == length and number.isdigit()
        assert fits(number), number
        assert luhn_valid(number), number


def test_cards_without_brand_mix_brands_by_locale_and_cvv_follows_the_card() -> None:
    fields = [
        {"name": "card", "type": "credit_card_number"},
        {"name": "cvv", "type": "credit_card_cvv"},
    ]
    us = table(fields).to_pylist()
    assert all(luhn_valid(row["card"]) for row in us)
    for row in us:
        assert len(row["cvv"]) == (4 if brand_of(row["card"]) == "amex" else 3)
    us_brands = [brand_of(row["card"]) for row in us]
    jp_brands = [brand_of(row["card"]) for row in table(fields, locale="ja_JP").to_pylist()]
    assert set(us_brands) == set(BRAND_RULES)
    assert jp_brands.count("jcb") > 5 * us_brands.count("jcb")


def test_cvv_length_follows_the_brand_option() -> None:
    assert all(
        re.fullmatch(r"\d{4}", v) for v in values({"type": "credit_card_cvv", "brand": "amex"})
    )
    assert all(
        re.fullmatch(r"\d{3}", v) for v in values({"type": "credit_card_cvv", "brand": "visa"})
    )


def test_card_expiry_is_after_the_reference_date_not_the_clock() -> None:
    field = {"type": "credit_card_expiry", "reference_date": "2030-06-15", "years": 3}
    months = set()
    for text in values(field):
        assert re.fullmatch(r"(0[1-9]|1[0-2])/\d\d", text)
        month, year = int(text[:2]), 2000 + int(text[3:])
        assert dt.date(2030, 7, 1) <= dt.date(year, month, 1) <= dt.date(2033, 6, 1)
        months.add((year, month))
    assert len(months) == 36


@pytest.mark.parametrize("brand", ["visa", "amex", "diners"])
def test_unique_card_numbers_never_repeat_over_200k_rows(brand: str) -> None:
    drawn = values({"type": "credit_card_number", "brand": brand, "unique": True}, rows=200_000)
    assert len(set(drawn)) == 200_000
    assert all(luhn_valid(n) and BRAND_RULES[brand][0](n) for n in drawn[::101])


def iban_valid(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


@pytest.mark.parametrize("country", list(IBAN_LENGTHS))
def test_ibans_have_the_countrys_length_and_mod_97_check(country: str) -> None:
    for iban in values({"type": "iban", "country": country}, rows=1000):
        assert iban.startswith(country) and len(iban) == IBAN_LENGTHS[country]
        assert re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban)
        assert iban_valid(iban), iban


def test_iban_defaults_to_the_locales_country_and_can_be_unique() -> None:
    assert all(v.startswith("DE") for v in values({"type": "iban"}, rows=100, locale="de_DE"))
    drawn = values({"type": "iban", "country": "NL", "unique": True}, rows=200_000)
    assert len(set(drawn)) == 200_000
    assert all(iban_valid(v) for v in drawn[::101])


def test_bic_has_bank_country_location_and_optional_branch() -> None:
    assert all(
        re.fullmatch(r"[A-Z]{4}JP[A-Z1-9]{2}", v) for v in values({"type": "bic"}, locale="ja_JP")
    )
    branch = values({"type": "bic", "branch": True, "country": "DE"})
    assert all(re.fullmatch(r"[A-Z]{4}DE[A-Z1-9]{5}", v) for v in branch)


def aba_valid(routing: str) -> bool:
    d = [int(c) for c in routing]
    return (
        len(d) == 9
        and (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0
    )


def test_routing_and_us_account_numbers_pass_the_aba_checksum() -> None:
    assert all(aba_valid(v) for v in values({"type": "routing_number"}))
    for text in values({"type": "bank_account_number"}):
        routing, account = text.split(" ")
        assert aba_valid(routing) and re.fullmatch(r"\d{10}", account)
    alone = values({"type": "bank_account_number", "with_routing": False})
    assert all(re.fullmatch(r"\d{10}", v) for v in alone)


def test_japanese_account_numbers_have_7_digits_and_can_be_unique() -> None:
    assert all(
        re.fullmatch(r"\d{7}", v) for v in values({"type": "bank_account_number"}, locale="ja_JP")
    )
    drawn = values({"type": "bank_account_number", "unique": True}, rows=200_000, locale="ja_JP")
    assert len(set(drawn)) == 200_000


def test_currency_codes_are_iso_4217() -> None:
    drawn = values({"type": "currency_code"})
    assert {"USD", "EUR", "JPY"} <= set(drawn)
    assert all(re.fullmatch(r"[A-Z]{3}", v) for v in drawn)


def test_amounts_are_exact_decimals_with_the_currencys_minor_units() -> None:
    spec_fields: list[dict[str, Any]] = [
        {"name": "jpy", "type": "amount", "min": 100, "max": 5000},
        {"name": "usd", "type": "amount", "currency": "USD", "min": -10.5, "max": 10.5},
        {"name": "kwd", "type": "amount", "currency": "KWD"},
    ]
    drawn = table(spec_fields, locale="ja_JP")
    assert drawn.schema.field("jpy").type == pa.decimal128(18, 0)
    assert drawn.schema.field("usd").type == pa.decimal128(18, 2)
    assert drawn.schema.field("kwd").type == pa.decimal128(18, 3)
    jpy: list[decimal.Decimal] = drawn.column("jpy").to_pylist()
    usd: list[decimal.Decimal] = drawn.column("usd").to_pylist()
    assert all(100 <= v <= 5000 and v == v.to_integral_value() for v in jpy)
    assert all(decimal.Decimal("-10.5") <= v <= decimal.Decimal("10.5") for v in usd)
    assert min(usd) < 0 < max(usd)


def test_amount_refuses_an_unknown_currency() -> None:
    with pytest.raises(SpecError) as raised:
        values({"type": "amount", "currency": "XYZ"})
    assert raised.value.field == "fields[0].currency"
