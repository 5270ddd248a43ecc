"""People: names in writing, kana and romaji, gender and title, all of the same person.

Every field here reads the block's one draw of people (``person_data.draw_people``), keyed by
locale and the optional ``entity`` option: a row's full name, kana, romaji and email belong
to one person, and a spec can hold two people (``"entity": "manager"``) side by side.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.patterns import bounded
from generators.person_data import (
    MALE,
    PersonDraw,
    draw_people,
    kana_form,
    person_data,
    string_table,
)
from generators.vectors import join_by_take

Entity = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_]+$")]
NameForm = Literal["written", "kana", "romaji"]
# Precompute every full name when the locale's first × last product is at most this.
CROSS_PRODUCT_LIMIT = 200_000


class PersonOptions(FieldOptions, frozen=True):
    """``entity`` names the person when a row holds several (e.g. customer and manager)."""

    entity: Entity | None = None


class FullNameOptions(PersonOptions, frozen=True):
    separator: Annotated[str, msgspec.Meta(max_length=4)] = " "


class KanaOptions(PersonOptions, frozen=True):
    """``script``: katakana or hiragana. ``width``: half-width katakana ("half")."""

    script: Literal["katakana", "hiragana"] = "katakana"
    width: Literal["full", "half"] = "full"

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.script == "hiragana" and self.width == "half":
            yield "width", "hiragana has no half-width form; use script 'katakana'"


class FullNameKanaOptions(KanaOptions, frozen=True):
    separator: Annotated[str, msgspec.Meta(max_length=4)] = " "


class FirstNameField(PersonOptions, tag="first_name", frozen=True):
    pass


class LastNameField(PersonOptions, tag="last_name", frozen=True):
    pass


class FullNameField(FullNameOptions, tag="full_name", frozen=True):
    pass


class FirstNameKanaField(KanaOptions, tag="first_name_kana", frozen=True):
    pass


class LastNameKanaField(KanaOptions, tag="last_name_kana", frozen=True):
    pass


class FullNameKanaField(FullNameKanaOptions, tag="full_name_kana", frozen=True):
    pass


class FirstNameRomajiField(PersonOptions, tag="first_name_romaji", frozen=True):
    pass


class LastNameRomajiField(PersonOptions, tag="last_name_romaji", frozen=True):
    pass


class FullNameRomajiField(FullNameOptions, tag="full_name_romaji", frozen=True):
    """``order``: "locale" (ja_JP family name first), "given_first" or "family_first"."""

    order: Literal["locale", "given_first", "family_first"] = "locale"


class GenderField(PersonOptions, tag="gender", frozen=True):
    """``style``: "word" (female/male), "letter" (F/M) or "ja" (女性/男性)."""

    style: Literal["word", "letter", "ja"] = "word"


class PrefixField(PersonOptions, tag="prefix", frozen=True):
    pass


GENDER_WORDS = {"word": ("female", "male"), "letter": ("F", "M"), "ja": ("女性", "男性")}


@functools.cache
def _forms(locale: str, form: NameForm, script: str, width: str) -> tuple[tuple[str, ...], ...]:
    """Return (first names, last names) in one written form."""
    data = person_data(locale)
    tables = (data.first, data.last)
    if form == "written":
        return tuple(tuple(t.written) for t in tables)
    if form == "romaji":
        return tuple(tuple(t.romaji) for t in tables)
    if locale != "ja_JP":
        # Only ja_JP has readings; elsewhere a kana field gives the names as written.
        return tuple(tuple(t.written) for t in tables)
    return tuple(kana_form(t.kana, script, width) for t in tables)


@functools.cache
def _full_names(
    locale: str, form: NameForm, script: str, width: str, separator: str, family_first: bool
) -> tuple[pa.StringArray, int, bool]:
    """Return a lookup of full names or of their parts, the number of last names, and
    whether the lookup holds whole names.

    When first × last is small the lookup is every full name (index first × n_last +
    last); otherwise it is first names, last names, then the separator.
    """
    first, last = _forms(locale, form, script, width)
    if len(first) * len(last) <= CROSS_PRODUCT_LIMIT:
        if family_first:
            names = [f"{ln}{separator}{fn}" for fn in first for ln in last]
        else:
            names = [f"{fn}{separator}{ln}" for fn in first for ln in last]
        return pa.array(names, type=pa.string()), len(last), True
    return string_table((*first, *last, separator)), len(last), False


def _full_name(
    people: PersonDraw,
    locale: str,
    form: NameForm,
    separator: str,
    family_first: bool,
    script: str = "katakana",
    width: str = "full",
) -> pa.Array:
    lookup, n_last, whole = _full_names(locale, form, script, width, separator, family_first)
    if whole:
        return lookup.take(pa.array(people.first.astype(np.int64) * n_last + people.last))
    first = people.first
    last = people.last + len(lookup) - 1 - n_last
    space = np.full(first.size, len(lookup) - 1, dtype=np.int32)
    return join_by_take(lookup, [last, space, first] if family_first else [first, space, last])


def _one_name(
    people: PersonDraw, locale: str, form: NameForm, which: int, script: str, width: str
) -> pa.Array:
    names = string_table(_forms(locale, form, script, width)[which])
    return names.take(pa.array(people.first if which == 0 else people.last))


def first_name_column(options: PersonOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return _one_name(people, block.locale, "written", 0, "", "")


def last_name_column(options: PersonOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return _one_name(people, block.locale, "written", 1, "", "")


def full_name_column(options: FullNameOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    family_first = person_data(block.locale).family_name_first
    return _full_name(people, block.locale, "written", options.separator, family_first)


def first_name_kana_column(options: KanaOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return _one_name(people, block.locale, "kana", 0, options.script, options.width)


def last_name_kana_column(options: KanaOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return _one_name(people, block.locale, "kana", 1, options.script, options.width)


def full_name_kana_column(options: FullNameKanaOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    family_first = person_data(block.locale).family_name_first
    separator = " " if options.width == "half" and options.separator == "　" else options.separator
    return _full_name(
        people, block.locale, "kana", separator, family_first, options.script, options.width
    )


def first_name_romaji_column(options: PersonOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return _one_name(people, block.locale, "romaji", 0, "", "")


def last_name_romaji_column(options: PersonOptions, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return _one_name(people, block.locale, "romaji", 1, "", "")


def full_name_romaji_column(options: FullNameRomajiField, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    if options.order == "locale":
        family_first = person_data(block.locale).family_name_first
    else:
        family_first = options.order == "family_first"
    return _full_name(people, block.locale, "romaji", options.separator, family_first)


def gender_column(options: GenderField, block: BlockContext) -> pa.Array:
    people = draw_people(block, options.entity)
    return string_table(GENDER_WORDS[options.style]).take(pa.array(people.gender))


def prefix_column(options: PrefixField, block: BlockContext) -> pa.Array:
    """Titles by gender from Faker's lists ("" where the locale has none, as ja_JP)."""
    people = draw_people(block, options.entity)
    female, male = person_data(block.locale).prefixes
    if not female or not male:
        return string_table(("",)).take(pa.array(np.zeros(block.size, dtype=np.int32)))
    lookup = string_table((*female, *male))
    picks = np.where(
        people.gender == MALE,
        len(female) + bounded(people.prefix, len(male)),
        bounded(people.prefix, len(female)),
    )
    return lookup.take(pa.array(picks))


TYPES = (
    FieldType(
        FirstNameField,
        "person",
        "Given name of the row's person (weighted where Faker has weights).",
        "健太",
        first_name_column,
    ),
    FieldType(
        LastNameField,
        "person",
        "Family name of the row's person, weighted by frequency.",
        "佐藤",
        last_name_column,
    ),
    FieldType(
        FullNameField,
        "person",
        "Full name in the locale's order (ja_JP: family name first).",
        "佐藤 健太",
        full_name_column,
    ),
    FieldType(
        FirstNameKanaField,
        "person",
        "Katakana (or hiragana, or half-width) reading of the given name; ja_JP only, "
        "other locales give the name as written.",
        "ケンタ",
        first_name_kana_column,
    ),
    FieldType(
        LastNameKanaField,
        "person",
        "Reading of the family name; see first_name_kana.",
        "サトウ",
        last_name_kana_column,
    ),
    FieldType(
        FullNameKanaField,
        "person",
        "Reading of the full name, family name first.",
        "サトウ ケンタ",
        full_name_kana_column,
    ),
    FieldType(
        FirstNameRomajiField,
        "person",
        "Given name in Latin letters (ja_JP: Faker's romaji; others transliterated).",
        "Kenta",
        first_name_romaji_column,
    ),
    FieldType(
        LastNameRomajiField,
        "person",
        "Family name in Latin letters.",
        "Sato",
        last_name_romaji_column,
    ),
    FieldType(
        FullNameRomajiField,
        "person",
        "Full name in Latin letters; order option.",
        "Sato Kenta",
        full_name_romaji_column,
    ),
    FieldType(
        GenderField,
        "person",
        "Gender of the row's person, matching the given name.",
        "male",
        gender_column,
    ),
    FieldType(
        PrefixField,
        "person",
        "Title matching the person's gender (Mr., Ms., Dr.; none for ja_JP).",
        "Ms.",
        prefix_column,
    ),
)
