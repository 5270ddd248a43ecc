"""People: names, emails and phone numbers, from Faker's own word lists per locale."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from faker.providers.person.en_US import Provider as EnUsPerson
from faker.providers.person.ja_JP import Provider as JaJpPerson

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.vectors import WeightedTable, fixed_width_strings, join_by_take

# Emails get a numeric suffix from 0..EMAIL_SUFFIXES-1 so they rarely repeat.
EMAIL_SUFFIXES = 100_000
DIGITS = "0123456789"


@dataclass(frozen=True)
class NameList:
    """One list of names (first or last) with draw weights and an ASCII spelling for emails."""

    names: list[str]
    ascii_names: list[str]
    table: WeightedTable


@dataclass(frozen=True)
class PhoneFormat:
    """A fixed-width phone template; see ``vectors.fixed_width_strings``."""

    template: str
    alphabets: Mapping[str, str]


class StringLookup:
    """Several string lists concatenated into one Arrow array, each addressed by a base index."""

    def __init__(self, segments: Mapping[str, Sequence[str]]) -> None:
        self.base: dict[str, int] = {}
        combined: list[str] = []
        for key, strings in segments.items():
            self.base[key] = len(combined)
            combined.extend(strings)
        self.strings = pa.array(combined, type=pa.string())


@dataclass(frozen=True)
class PersonData:
    """Everything the person types need to know about one locale."""

    code: str
    first: NameList
    last: NameList
    family_name_first: bool
    email_domains: tuple[str, ...]
    phone: PhoneFormat

    @functools.cached_property
    def names(self) -> StringLookup:
        """Return first names, last names and a space as one lookup."""
        return StringLookup({"first": self.first.names, "last": self.last.names, "space": [" "]})

    @functools.cached_property
    def email_parts(self) -> StringLookup:
        """Return the pieces emails are joined from: ASCII names, ".", suffixes, "@domain"."""
        suffixes = pc.cast(pa.array(np.arange(EMAIL_SUFFIXES)), pa.string()).to_pylist()
        return StringLookup(
            {
                "first": [n.lower() for n in self.first.ascii_names],
                "last": [n.lower() for n in self.last.ascii_names],
                "dot": ["."],
                "suffix": suffixes,
                "domain": [f"@{d}" for d in self.email_domains],
            }
        )


def _weighted(names: Mapping[str, float]) -> NameList:
    return NameList(list(names), list(names), WeightedTable.from_weights(list(names.values())))


def _en_us() -> PersonData:
    return PersonData(
        code="en_US",
        first=_weighted(EnUsPerson.first_names),
        last=_weighted(EnUsPerson.last_names),
        family_name_first=False,
        email_domains=("example.com", "example.org", "example.net"),
        phone=PhoneFormat("N##-N##-####", {"N": "23456789", "#": DIGITS}),
    )


def _ja_jp() -> PersonData:
    # Faker's pairs are (kanji, katakana, romaji); last names carry weights, first names not.
    last_pairs: Mapping[tuple[str, str, str], float] = JaJpPerson.last_name_pairs
    first_pairs: Sequence[tuple[str, str, str]] = JaJpPerson.first_name_pairs
    return PersonData(
        code="ja_JP",
        first=NameList(
            [p[0] for p in first_pairs],
            [p[2] for p in first_pairs],
            WeightedTable.from_weights(np.ones(len(first_pairs))),
        ),
        last=NameList(
            [p[0] for p in last_pairs],
            [p[2] for p in last_pairs],
            WeightedTable.from_weights(list(last_pairs.values())),
        ),
        family_name_first=True,
        # Example domains reserved under .jp, so generated addresses reach no one.
        email_domains=("example.jp", "example.co.jp", "example.ne.jp"),
        phone=PhoneFormat("0M0-####-####", {"M": "789", "#": DIGITS}),
    )


_BUILDERS: dict[str, Callable[[], PersonData]] = {"en_US": _en_us, "ja_JP": _ja_jp}


@functools.cache
def person_data(code: str) -> PersonData:
    """Return the (cached) person data for a locale code such as ``"ja_JP"``."""
    return _BUILDERS[code]()


class FirstNameField(FieldOptions, tag="first_name", frozen=True):
    pass


class LastNameField(FieldOptions, tag="last_name", frozen=True):
    pass


class FullNameField(FieldOptions, tag="full_name", frozen=True):
    pass


class EmailField(FieldOptions, tag="email", frozen=True):
    pass


class PhoneField(FieldOptions, tag="phone", frozen=True):
    pass


def first_name_column(options: FirstNameField, block: BlockContext) -> pa.Array:
    data = person_data(block.locale)
    picks = data.first.table.draw(block.rng, block.size)
    return data.names.strings.take(pa.array(picks + data.names.base["first"]))


def last_name_column(options: LastNameField, block: BlockContext) -> pa.Array:
    data = person_data(block.locale)
    picks = data.last.table.draw(block.rng, block.size)
    return data.names.strings.take(pa.array(picks + data.names.base["last"]))


def full_name_column(options: FullNameField, block: BlockContext) -> pa.Array:
    data = person_data(block.locale)
    lookup = data.names
    first = data.first.table.draw(block.rng, block.size) + lookup.base["first"]
    last = data.last.table.draw(block.rng, block.size) + lookup.base["last"]
    space = np.full(block.size, lookup.base["space"], dtype=np.int32)
    parts = [last, space, first] if data.family_name_first else [first, space, last]
    return join_by_take(lookup.strings, parts)


def email_column(options: EmailField, block: BlockContext) -> pa.Array:
    data = person_data(block.locale)
    lookup = data.email_parts
    rng = block.rng
    first = data.first.table.draw(rng, block.size) + lookup.base["first"]
    last = data.last.table.draw(rng, block.size) + lookup.base["last"]
    dot = np.full(block.size, lookup.base["dot"], dtype=np.int32)
    suffix = rng.integers(0, EMAIL_SUFFIXES, size=block.size, dtype=np.int32)
    domain = rng.integers(0, len(data.email_domains), size=block.size, dtype=np.int32)
    parts = [
        first,
        dot,
        last,
        suffix + lookup.base["suffix"],
        domain + lookup.base["domain"],
    ]
    return join_by_take(lookup.strings, parts)


def phone_column(options: PhoneField, block: BlockContext) -> pa.Array:
    phone = person_data(block.locale).phone
    return fixed_width_strings(block.rng, block.size, phone.template, phone.alphabets)


TYPES = (
    FieldType(
        FirstNameField,
        "person",
        "Given name, weighted by frequency where the locale has weights.",
        "健太",
        first_name_column,
    ),
    FieldType(
        LastNameField,
        "person",
        "Family name, weighted by frequency.",
        "佐藤",
        last_name_column,
    ),
    FieldType(
        FullNameField,
        "person",
        "Given and family name in the locale's order (ja_JP: family name first).",
        "佐藤 健太",
        full_name_column,
    ),
    FieldType(
        EmailField,
        "contact",
        "Address from romanised names at a reserved example domain.",
        "kenta.sato4821@example.jp",
        email_column,
    ),
    FieldType(
        PhoneField,
        "contact",
        "Phone number in the locale's format (ja_JP: mobile 070/080/090).",
        "090-1234-5678",
        phone_column,
    ),
)
