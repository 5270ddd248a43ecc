"""Addresses whose parts agree: ja_JP from one real Japan Post record per row, en_US with a
ZIP inside the row's state, other locales from their Faker address provider.

Every field reads the block's one address draw (``address_data``), keyed by locale and the
optional ``entity``, so a row's postcode, prefecture, city and full address belong together.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import jaconv
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.address_data import (
    BUILDING_NAMES,
    MAX_BANCHI,
    MAX_CHOME,
    MAX_FLOORS,
    MAX_GO,
    ROOMS_PER_FLOOR,
    FakerAddressData,
    FakerAddressDraw,
    JapanAddressDraw,
    country_code,
    country_names,
    draw_faker_addresses,
    draw_japan_addresses,
    faker_address_data,
)
from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.japan_post import half_width, half_width_digits, postal_records
from generators.person_data import person_data, string_table
from generators.types.person import KanaOptions, PersonOptions
from generators.vectors import join_by_take

Digits = Literal["half", "full"]


class AddressOptions(PersonOptions, frozen=True):
    """``entity`` names the address when a row holds several (e.g. home and office)."""


class WrittenAddressOptions(AddressOptions, frozen=True):
    """``digits``: ja_JP house numbers (and Japan Post's own digits) half- or full-width."""

    digits: Digits = "half"


class PostcodeField(AddressOptions, tag="postcode", frozen=True):
    """``hyphen``: ja_JP postcodes as NNN-NNNN (true) or NNNNNNN."""

    hyphen: bool = True


class PrefectureField(AddressOptions, tag="prefecture", frozen=True):
    pass


class StateField(AddressOptions, tag="state", frozen=True):
    pass


class StateAbbrField(AddressOptions, tag="state_abbr", frozen=True):
    pass


class CityField(AddressOptions, tag="city", frozen=True):
    pass


class TownField(WrittenAddressOptions, tag="town", frozen=True):
    pass


class StreetAddressField(WrittenAddressOptions, tag="street_address", frozen=True):
    pass


class BuildingField(WrittenAddressOptions, tag="building", frozen=True):
    pass


class AddressField(WrittenAddressOptions, tag="address", frozen=True):
    pass


class PrefectureKanaField(KanaOptions, tag="prefecture_kana", frozen=True):
    pass


class CityKanaField(KanaOptions, tag="city_kana", frozen=True):
    pass


class TownKanaField(KanaOptions, tag="town_kana", frozen=True):
    pass


class CountryField(FieldOptions, tag="country", frozen=True):
    """``language``: the country's name in the locale's language ("local") or English."""

    language: Literal["local", "en"] = "local"


class CountryCodeField(FieldOptions, tag="country_code", frozen=True):
    pass


# --- ja_JP -------------------------------------------------------------------------------


class JapanLookup:
    """Every piece a ja_JP address is joined from, in one Arrow array with a base per kind.

    Pieces are pre-joined so an address is three lookups: prefecture + city + town per
    record, one string per (丁目, 番, 号), and one per (building, room) with its space.
    """

    def __init__(self, digits: Digits) -> None:
        records = postal_records()
        full = digits == "full"

        def number(n: int) -> str:
            return str(jaconv.h2z(str(n), digit=True)) if full else str(n)

        dash, space = ("－", "　") if full else ("-", " ")
        towns = records.town if full else half_width_digits(records.town)
        prefectures = records.prefecture.names.take(pa.array(records.prefecture.codes))
        cities = records.city.names.take(pa.array(records.city.codes))
        places = pc.binary_join_element_wise(prefectures, cities, towns, "")
        chome = [""] + [number(c) + "丁目" for c in range(1, MAX_CHOME + 1)]
        numbers = [number(n) for n in range(MAX_BANCHI + 1)]
        houses = [
            f"{c}{b}{dash}{numbers[g]}"
            for c in chome
            for b in numbers
            for g in range(1, MAX_GO + 1)
        ]
        rooms = [
            number(floor * 100 + room) + "号室"
            for floor in range(1, MAX_FLOORS + 1)
            for room in range(1, ROOMS_PER_FLOOR + 1)
        ]
        buildings = [f"{name}{room}" for name in BUILDING_NAMES for room in rooms]
        pieces: dict[str, pa.Array] = {
            "place": places,
            "town": towns,
            "house": pa.array(houses),
            "building": pa.array(["", *buildings]),
            "spaced_building": pa.array(["", *(space + b for b in buildings)]),
        }
        self.base: dict[str, int] = {}
        start = 0
        for kind, strings in pieces.items():
            self.base[kind] = start
            start += len(strings)
        self.strings = pa.concat_arrays([p.cast(pa.string()) for p in pieces.values()])

    def house(self, draw: JapanAddressDraw) -> np.ndarray:
        """Return lookup numbers of each row's "1丁目2-3" (or "402-3" without 丁目)."""
        number: np.ndarray = (draw.chome * (MAX_BANCHI + 1) + draw.ban) * MAX_GO + draw.go - 1
        return number + self.base["house"]

    def building(self, draw: JapanAddressDraw, spaced: bool) -> np.ndarray:
        """Return lookup numbers of each row's building and room ("" for a house)."""
        room = (draw.floor - 1) * ROOMS_PER_FLOOR + draw.room - 1
        number: np.ndarray = np.where(
            draw.floor == 0, 0, 1 + draw.building * MAX_FLOORS * ROOMS_PER_FLOOR + room
        )
        return number + self.base["spaced_building" if spaced else "building"]


@functools.cache
def japan_lookup(digits: Digits) -> JapanLookup:
    """Return the (cached) ja_JP address pieces with digits in the asked width."""
    return JapanLookup(digits)


@functools.cache
def _hyphenless_postcodes() -> pa.StringArray:
    return pc.replace_substring(postal_records().postcode, "-", "")


@functools.cache
def _japan_kana(level: str, script: str, width: str) -> pa.StringArray:
    records = postal_records()
    kana = {
        "prefecture": records.prefecture.kana,
        "city": records.city.kana,
        "town": records.town_kana,
    }[level]
    if script == "hiragana":
        return pa.array([jaconv.kata2hira(k) for k in kana.to_pylist()], type=pa.string())
    return half_width(kana) if width == "half" else kana


def _japan_level_codes(level: str, record: np.ndarray) -> np.ndarray:
    records = postal_records()
    if level == "prefecture":
        return np.asarray(records.prefecture.codes[record])
    if level == "city":
        return np.asarray(records.city.codes[record])
    return record


# --- other locales -----------------------------------------------------------------------


def _faker_city(block: BlockContext, draw: FakerAddressDraw) -> pa.Array:
    data = faker_address_data(block.locale)
    if not data.city_prefixes:
        return string_table(data.cities).take(pa.array(draw.city % len(data.cities)))
    # Faker's en_US city formats: "{prefix} {first}{suffix}", "{prefix} {first}",
    # "{first}{suffix}", "{last}{suffix}".
    people = person_data(block.locale)
    first, last = people.first.written, people.last.written
    lookup = string_table((*data.city_prefixes, *first, *last, *data.city_suffixes, " ", ""))
    empty, space = len(lookup) - 1, len(lookup) - 2
    form = draw.city_form
    prefix = (draw.city >> 20) % len(data.city_prefixes)
    suffix = (draw.city >> 10) % len(data.city_suffixes) + len(lookup) - 2 - len(data.city_suffixes)
    given = draw.city % len(first) + len(data.city_prefixes)
    family = draw.city % len(last) + len(data.city_prefixes) + len(first)
    has_prefix = form <= 1
    return join_by_take(
        lookup,
        [
            np.where(has_prefix, prefix, empty),
            np.where(has_prefix, space, empty),
            np.where(form == 3, family, given),
            np.where(form == 1, empty, suffix),
        ],
    )


def _faker_street(block: BlockContext, draw: FakerAddressDraw) -> pa.Array:
    data = faker_address_data(block.locale)
    streets = string_table(data.streets).take(pa.array(draw.street))
    suffixes = string_table(data.street_suffixes).take(pa.array(draw.street_suffix))
    name = pc.binary_join_element_wise(streets, suffixes, " ")
    name = pc.utf8_rtrim(name, characters=" ")
    if data.number_first:
        return pc.binary_join_element_wise(draw.number, name, " ")
    return pc.binary_join_element_wise(name, draw.number, " ")


# --- columns -----------------------------------------------------------------------------


def postcode_column(options: PostcodeField, block: BlockContext) -> pa.Array:
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        codes = postal_records().postcode if options.hyphen else _hyphenless_postcodes()
        return codes.take(pa.array(draw.record))
    return draw_faker_addresses(block, options.entity).postcode


def prefecture_column(options: PersonOptions, block: BlockContext) -> pa.Array:
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        codes = _japan_level_codes("prefecture", draw.record)
        return postal_records().prefecture.names.take(pa.array(codes))
    draw_other = draw_faker_addresses(block, options.entity)
    return string_table(faker_address_data(block.locale).states).take(pa.array(draw_other.state))


def state_abbr_column(options: AddressOptions, block: BlockContext) -> pa.Array:
    """ja_JP: the JIS X 0401 prefecture code ("13" for Tokyo)."""
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        codes = _japan_level_codes("prefecture", draw.record)
        return _jis_codes().take(pa.array(codes))
    draw_other = draw_faker_addresses(block, options.entity)
    abbrs = faker_address_data(block.locale).state_abbrs
    return string_table(abbrs).take(pa.array(draw_other.state))


@functools.cache
def _jis_codes() -> pa.StringArray:
    from generators.japan_post import prefecture_facts

    order = list(prefecture_facts())
    names = postal_records().prefecture.names.to_pylist()
    return pa.array([f"{order.index(n) + 1:02d}" for n in names], type=pa.string())


def city_column(options: PersonOptions, block: BlockContext) -> pa.Array:
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        codes = _japan_level_codes("city", draw.record)
        return postal_records().city.names.take(pa.array(codes))
    return _faker_city(block, draw_faker_addresses(block, options.entity))


def town_column(options: WrittenAddressOptions, block: BlockContext) -> pa.Array:
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        lookup = japan_lookup(options.digits)
        return lookup.strings.take(pa.array(draw.record + lookup.base["town"]))
    return city_column(options, block)


def street_address_column(options: WrittenAddressOptions, block: BlockContext) -> pa.Array:
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        lookup = japan_lookup(options.digits)
        return join_by_take(lookup.strings, [draw.record + lookup.base["town"], lookup.house(draw)])
    return _faker_street(block, draw_faker_addresses(block, options.entity))


def building_column(options: WrittenAddressOptions, block: BlockContext) -> pa.Array:
    """Building and room (ja_JP) or secondary line (Apt. 123); null for a house."""
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        lookup = japan_lookup(options.digits)
        values = lookup.strings.take(pa.array(lookup.building(draw, spaced=False)))
    else:
        values = draw_faker_addresses(block, options.entity).secondary
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def address_column(options: WrittenAddressOptions, block: BlockContext) -> pa.Array:
    if block.locale == "ja_JP":
        draw = draw_japan_addresses(block, options.entity)
        lookup = japan_lookup(options.digits)
        parts = [
            draw.record + lookup.base["place"],
            lookup.house(draw),
            lookup.building(draw, spaced=True),
        ]
        return join_by_take(lookup.strings, parts)
    return _faker_address(block, draw_faker_addresses(block, options.entity))


@dataclass(frozen=True)
class PieceLookup:
    """String lists laid end to end in one Arrow array; ``base`` is where each list starts."""

    strings: pa.StringArray
    base: dict[str, int]

    @classmethod
    def of(cls, segments: dict[str, Sequence[str]]) -> PieceLookup:
        base: dict[str, int] = {}
        combined: list[str] = []
        for key, strings in segments.items():
            base[key] = len(combined)
            combined.extend(strings)
        return cls(pa.array(combined, type=pa.string()), base)


@functools.cache
def _faker_address_lookup(locale: str) -> PieceLookup:
    """Every fixed piece an address of a Faker locale is made of, as one lookup."""
    data = faker_address_data(locale)
    people = person_data(locale)
    return PieceLookup.of(
        {
            "street": data.streets,
            # A suffix with the space before it (none when the locale's suffix is empty).
            "suffix": [f" {s}" if s else "" for s in data.street_suffixes],
            # A city prefix with the space after it.
            "prefix": [f"{p} " for p in data.city_prefixes],
            "first": people.first.written,
            "last": people.last.written,
            "city_suffix": data.city_suffixes,
            "city": data.cities,
            # ", IA " : the comma before the state, the state and the space before the ZIP.
            "abbr": [f", {a} " for a in data.state_abbrs],
            "space": [" "],
            "comma": [", "],
            "empty": [""],
        }
    )


def _faker_address(block: BlockContext, draw: FakerAddressDraw) -> pa.Array:
    """The whole address line by one ``take`` over the fixed pieces and the block's numbers.

    The rendered parts of this block (house numbers, secondary lines, postcodes) are
    appended to the fixed lookup, so every part of every row is an index into one array.
    """
    data = faker_address_data(block.locale)
    fixed = _faker_address_lookup(block.locale)
    size = block.size
    rows = np.arange(size, dtype=np.int64)
    numbers = len(fixed.strings)
    secondaries, postcodes = numbers + size, numbers + 2 * size
    lookup = pa.concat_arrays([fixed.strings, draw.number, draw.secondary, draw.postcode])
    base = fixed.base

    def constant(name: str) -> np.ndarray:
        return np.full(size, base[name], dtype=np.int64)

    space, comma, empty = constant("space"), constant("comma"), constant("empty")
    name = [draw.street + base["street"], draw.street_suffix + base["suffix"]]
    number = rows + numbers
    street = [number, space, *name] if data.number_first else [*name, space, number]
    has_secondary = np.asarray(pc.binary_length(draw.secondary)) > 0
    street += [np.where(has_secondary, space, empty), rows + secondaries]
    city = _faker_city_parts(data, draw, base, size)
    if data.zip_ranges is not None:
        tail = [comma, *city, draw.state + base["abbr"], rows + postcodes]
    else:
        tail = [comma, rows + postcodes, space, *city]
    return join_by_take(lookup, [*street, *tail])


def _faker_city_parts(
    data: FakerAddressData, draw: FakerAddressDraw, base: dict[str, int], size: int
) -> list[np.ndarray]:
    """Three lookup indices per row that spell the row's city (unused ones are empty)."""
    empty = np.full(size, base["empty"], dtype=np.int64)
    if not data.city_prefixes:
        return [draw.city % len(data.cities) + base["city"], empty, empty]
    # Faker's en_US city formats: "{prefix} {first}{suffix}", "{prefix} {first}",
    # "{first}{suffix}", "{last}{suffix}" (the same draws as _faker_city).
    first_count = base["last"] - base["first"]
    last_count = base["city_suffix"] - base["last"]
    form = draw.city_form
    prefix = (draw.city >> 20) % len(data.city_prefixes) + base["prefix"]
    suffix = (draw.city >> 10) % len(data.city_suffixes) + base["city_suffix"]
    given = draw.city % first_count + base["first"]
    family = draw.city % last_count + base["last"]
    has_prefix = form <= 1
    return [
        np.where(has_prefix, prefix, empty),
        np.where(form == 3, family, given),
        np.where(form == 1, empty, suffix),
    ]


def _kana_column(level: str) -> Callable[[KanaOptions, BlockContext], pa.Array]:
    def column(options: KanaOptions, block: BlockContext) -> pa.Array:
        if block.locale != "ja_JP":
            # Only Japan Post's data has readings; elsewhere give the names as written.
            plain = {"prefecture": prefecture_column, "city": city_column, "town": city_column}
            return plain[level](options, block)
        draw = draw_japan_addresses(block, options.entity)
        kana = _japan_kana(level, options.script, options.width)
        return kana.take(pa.array(_japan_level_codes(level, draw.record)))

    return column


def country_column(options: CountryField, block: BlockContext) -> pa.Array:
    english, local = country_names()
    code = country_code(block.locale)
    name = local.get(block.locale, "") if options.language == "local" else ""
    name = name or english.get(code, "")
    return pa.array(np.full(block.size, name, dtype=object), type=pa.string())


def country_code_column(options: CountryCodeField, block: BlockContext) -> pa.Array:
    code = country_code(block.locale)
    return pa.array(np.full(block.size, code, dtype=object), type=pa.string())


TYPES = (
    FieldType(
        PostcodeField,
        "address",
        "Postcode of the row's address (ja_JP: a real Japan Post code; en_US: a ZIP "
        "in the row's state).",
        "100-0005",
        postcode_column,
    ),
    FieldType(
        PrefectureField,
        "address",
        "Prefecture (ja_JP, weighted by population) or state/region elsewhere.",
        "東京都",
        prefecture_column,
    ),
    FieldType(
        StateField,
        "address",
        "State, province or region of the row's address (ja_JP: prefecture).",
        "California",
        prefecture_column,
    ),
    FieldType(
        StateAbbrField,
        "address",
        "State abbreviation (en_US: CA; ja_JP: JIS prefecture code 13).",
        "CA",
        state_abbr_column,
    ),
    FieldType(
        CityField,
        "address",
        "City of the row's address (ja_JP: Japan Post's city, ward or district).",
        "千代田区",
        city_column,
    ),
    FieldType(
        TownField,
        "address",
        "Town (町域) of the row's Japan Post record; other locales give the city.",
        "丸の内",
        town_column,
    ),
    FieldType(
        StreetAddressField,
        "address",
        "Street part: ja_JP town + 丁目-番-号; elsewhere number and street.",
        "丸の内1丁目2-3",
        street_address_column,
    ),
    FieldType(
        BuildingField,
        "address",
        "Building and room (ja_JP) or secondary line; null for a house.",
        "グリーンハイツ203号室",
        building_column,
    ),
    FieldType(
        AddressField,
        "address",
        "Whole address on one line, every part from the same draw.",
        "東京都千代田区丸の内1丁目2-3",
        address_column,
    ),
    FieldType(
        PrefectureKanaField,
        "address",
        "Katakana (or hiragana, half-width) reading of the prefecture (ja_JP).",
        "トウキョウト",
        _kana_column("prefecture"),
    ),
    FieldType(
        CityKanaField, "address", "Reading of the city (ja_JP).", "チヨダク", _kana_column("city")
    ),
    FieldType(
        TownKanaField, "address", "Reading of the town (ja_JP).", "マルノウチ", _kana_column("town")
    ),
    FieldType(
        CountryField,
        "address",
        "Country of the locale (local name or English).",
        "日本",
        country_column,
    ),
    FieldType(
        CountryCodeField,
        "address",
        "ISO 3166-1 alpha-2 code of the locale's country.",
        "JP",
        country_code_column,
    ),
)
