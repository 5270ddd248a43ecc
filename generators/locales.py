"""Per-locale word lists and formats, taken from Faker's own providers, as Arrow arrays.

A locale's data is built once per process (``locale_data``) and shared by every block.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from faker.providers.person.en_US import Provider as EnUsPerson
from faker.providers.person.ja_JP import Provider as JaJpPerson

from generators.vectors import WeightedTable

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
class LocaleData:
    """Everything a column generator needs to know about one locale."""

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


def _en_us() -> LocaleData:
    return LocaleData(
        code="en_US",
        first=_weighted(EnUsPerson.first_names),
        last=_weighted(EnUsPerson.last_names),
        family_name_first=False,
        email_domains=("example.com", "example.org", "example.net"),
        phone=PhoneFormat("N##-N##-####", {"N": "23456789", "#": DIGITS}),
    )


def _ja_jp() -> LocaleData:
    # Faker's pairs are (kanji, katakana, romaji); last names carry weights, first names not.
    last_pairs: Mapping[tuple[str, str, str], float] = JaJpPerson.last_name_pairs
    first_pairs: Sequence[tuple[str, str, str]] = JaJpPerson.first_name_pairs
    return LocaleData(
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


_BUILDERS: dict[str, Callable[[], LocaleData]] = {"en_US": _en_us, "ja_JP": _ja_jp}
SUPPORTED_LOCALES: tuple[str, ...] = tuple(_BUILDERS)


@functools.cache
def locale_data(code: str) -> LocaleData:
    """Return the (cached) data for a supported locale code such as ``"ja_JP"``."""
    return _BUILDERS[code]()
