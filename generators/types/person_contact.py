"""How to reach the row's person: username, email and phone number.

Username and email are built from the same person as the row's names (romaji for ja_JP,
ASCII spellings elsewhere): ``first.last<number>`` and ``first.last<number>@domain``. Both
can be unique: value number k is decomposed in mixed radix into (first, last, domain,
number) over the distinct ASCII spellings. A ja_JP phone is a mobile number or a landline
whose area code belongs to the prefecture of the row's address.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.address_data import draw_japan_addresses, numerify_formats
from generators.fieldtype import BlockContext, FieldType
from generators.japan_post import postal_records, prefecture_facts
from generators.locales import provider_class
from generators.patterns import NUMERIFY, TemplateTable
from generators.person_data import EMAIL_SUFFIXES, draw_people, person_data
from generators.types.person import CROSS_PRODUCT_LIMIT, PersonOptions
from generators.vectors import join_by_take

MOBILE_PREFIXES = ("070", "080", "090")
# An exchange (after the area code) never starts with 0 or 1, in Japan as in North America.
NANP_FORMAT = "N##-N##-####"
NANP_ALPHABETS = {**NUMERIFY, "N": "23456789"}


class UsernameField(PersonOptions, tag="username", frozen=True):
    pass


class EmailField(PersonOptions, tag="email", frozen=True):
    pass


class PhoneField(PersonOptions, tag="phone", frozen=True):
    """``kind``: ja_JP mobile, landline, or either (60 % mobile). ``hyphens``: keep the dashes."""

    kind: Literal["any", "mobile", "landline"] = "any"
    hyphens: bool = True


class LocalParts:
    """The pieces of ``first.last<number>@domain`` in one lookup.

    Where first × last is small (ja_JP) the lookup holds every ``first.last`` pair, so a
    value is three pieces; otherwise first names, last names and "." are separate pieces.
    """

    def __init__(self, first: list[str], last: list[str], domains: tuple[str, ...]) -> None:
        self.n_first, self.n_last = len(first), len(last)
        self.paired = len(first) * len(last) <= CROSS_PRODUCT_LIMIT
        names = [f"{f}.{ln}" for f in first for ln in last] if self.paired else [*first, *last, "."]
        self.number_base = len(names)
        self.domain_base = len(names) + EMAIL_SUFFIXES
        numbers = pa.array(np.arange(EMAIL_SUFFIXES, dtype=np.int64)).cast(pa.string())
        self.strings = pa.concat_arrays(
            [
                pa.array(names, type=pa.string()),
                numbers,
                pa.array([f"@{d}" for d in domains], type=pa.string()),
            ]
        )

    def join(
        self, first: np.ndarray, last: np.ndarray, number: np.ndarray, domain: np.ndarray | None
    ) -> pa.StringArray:
        if self.paired:
            parts = [first.astype(np.int64) * self.n_last + last]
        else:
            dot = np.full(first.size, self.n_first + self.n_last, dtype=np.int64)
            parts = [first.astype(np.int64), dot, last.astype(np.int64) + self.n_first]
        parts.append(number.astype(np.int64) + self.number_base)
        if domain is not None:
            parts.append(domain.astype(np.int64) + self.domain_base)
        return join_by_take(self.strings, [p.astype(np.int32) for p in parts])


@functools.cache
def _drawn_parts(locale: str) -> LocalParts:
    data = person_data(locale)
    return LocalParts(data.first.ascii, data.last.ascii, data.domains)


@functools.cache
def _distinct_parts(locale: str) -> LocalParts:
    data = person_data(locale)
    return LocalParts(data.first.distinct_ascii, data.last.distinct_ascii, data.domains)


def username_column(options: UsernameField, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return _drawn_parts(block.locale).join(people.first, people.last, people.suffix, None)


def email_column(options: EmailField, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    parts = _drawn_parts(block.locale)
    return parts.join(people.first, people.last, people.suffix, people.domain)


def _radix(locale: str) -> tuple[int, int, int]:
    data = person_data(locale)
    return len(data.first.distinct_ascii), len(data.last.distinct_ascii), len(data.domains)


def username_capacity(options: UsernameField, locale: str) -> int:
    first, last, _ = _radix(locale)
    return first * last * EMAIL_SUFFIXES


def email_capacity(options: EmailField, locale: str) -> int:
    first, last, domains = _radix(locale)
    return first * last * domains * EMAIL_SUFFIXES


def _decompose(locale: str, k: np.ndarray, domains: int) -> tuple[np.ndarray, ...]:
    # Name digits first, so small k already walk through many names.
    n_first, n_last, _ = _radix(locale)
    k = k.astype(np.uint64)
    first, k = k % n_first, k // n_first
    last, k = k % n_last, k // n_last
    domain, k = k % domains, k // domains
    return first, last, domain, k


def username_from_index(options: UsernameField, block: BlockContext, k: np.ndarray) -> pa.Array:
    first, last, _, number = _decompose(block.locale, k, 1)
    return _distinct_parts(block.locale).join(first, last, number, None)


def email_from_index(options: EmailField, block: BlockContext, k: np.ndarray) -> pa.Array:
    domains = len(person_data(block.locale).domains)
    first, last, domain, number = _decompose(block.locale, k, domains)
    return _distinct_parts(block.locale).join(first, last, number, domain)


@functools.cache
def _japan_phone_templates(hyphens: bool) -> tuple[TemplateTable, np.ndarray, np.ndarray]:
    """Return templates (mobile ones first), and per prefecture code its first landline
    template and how many it has."""
    facts = prefecture_facts()
    templates = [f"{p}-####-####" for p in MOBILE_PREFIXES]
    names = postal_records().prefecture.names.to_pylist()
    first = np.zeros(len(names), dtype=np.int64)
    count = np.zeros(len(names), dtype=np.int64)
    for code, name in enumerate(names):
        area_codes = facts[name].area_codes
        first[code], count[code] = len(templates), len(area_codes)
        # Area code and exchange together have 6 digits; an exchange never starts with 0/1.
        templates += [f"{a}-N{'#' * (5 - len(a))}-####" for a in area_codes]
    if not hyphens:
        templates = [t.replace("-", "") for t in templates]
    return TemplateTable.of(templates), first, count


def _japan_phone(options: PhoneField, block: BlockContext) -> pa.Array:
    table, first, count = _japan_phone_templates(options.hyphens)
    rng = block.rng
    size = block.size
    mobile = rng.integers(0, len(MOBILE_PREFIXES), size=size)
    pick = rng.random(size)
    if options.kind == "mobile":
        return table.render(rng, mobile, NANP_ALPHABETS)
    address = draw_japan_addresses(block, options.entity)
    prefecture = postal_records().prefecture.codes[address.record]
    landline = first[prefecture] + (pick * count[prefecture]).astype(np.int64)
    if options.kind == "landline":
        return table.render(rng, landline, NANP_ALPHABETS)
    is_mobile = rng.random(size) < 0.6
    return table.render(rng, np.where(is_mobile, mobile, landline), NANP_ALPHABETS)


@functools.cache
def _faker_phone_templates(locale: str, hyphens: bool) -> TemplateTable:
    if locale == "en_US":
        formats = [NANP_FORMAT]
    else:
        provider = provider_class("phone_number", locale)
        formats = numerify_formats(getattr(provider, "formats", ()), NANP_FORMAT)
    return TemplateTable.of([f if hyphens else f.replace("-", "") for f in formats])


def phone_column(options: PhoneField, block: BlockContext) -> pa.Array:
    if block.locale == "ja_JP":
        return _japan_phone(options, block)
    table = _faker_phone_templates(block.locale, options.hyphens)
    choice = block.rng.integers(0, len(table.lengths), size=block.size)
    return table.render(block.rng, choice, NANP_ALPHABETS)


TYPES = (
    FieldType(
        UsernameField,
        "contact",
        "first.last<number> from the row's person (romaji for ja_JP).",
        "kenta.sato4821",
        username_column,
        username_capacity,
        username_from_index,
    ),
    FieldType(
        EmailField,
        "contact",
        "Email of the row's person at a reserved example domain; unique up to "
        "hundreds of millions.",
        "kenta.sato4821@example.jp",
        email_column,
        email_capacity,
        email_from_index,
    ),
    FieldType(
        PhoneField,
        "contact",
        "Phone number (ja_JP: mobile 070/080/090 or a landline whose area code fits "
        "the row's prefecture).",
        "03-1234-5678",
        phone_column,
    ),
)
