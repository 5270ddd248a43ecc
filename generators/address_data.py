"""The one draw of an address that every address field of a row shares, per locale.

ja_JP draws one Japan Post record per row (prefectures weighted by population) plus house
numbers and an optional building; en_US draws a state and a ZIP inside that state's range
(Faker's ``states_postcode``); other locales draw from their Faker address provider's lists
as best they can. Random parts that several fields show (a postcode, a house number) are
drawn here, once, so ``postcode`` and ``address`` of a row agree.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext
from generators.japan_post import postal_records
from generators.locales import provider_class
from generators.patterns import NUMERIFY, TemplateTable, bounded, random_lanes
from generators.person_data import person_data

BUILDING_NAMES = tuple(
    f"{head}{tail}"
    for head in ("サン", "グリーン", "パーク", "ロイヤル", "メゾン", "グラン", "リバー", "エクセル")
    for tail in ("ハイツ", "コーポ", "マンション", "レジデンス", "コート", "パレス", "ハウス")
)
BUILDING_RATE = 0.4  # share of ja_JP addresses in an apartment building
MAX_FLOORS, ROOMS_PER_FLOOR = 12, 8
MAX_CHOME, MAX_BAN, MAX_BANCHI, MAX_GO = 5, 30, 999, 20


@dataclass(frozen=True)
class JapanAddressDraw:
    """One Japan Post record and house number per row; ``floor`` 0 means no building."""

    record: np.ndarray
    chome: np.ndarray  # 1.. for towns with 丁目, 0 otherwise
    ban: np.ndarray  # 番 (or 番地 where the town has no 丁目)
    go: np.ndarray  # 号
    building: np.ndarray
    floor: np.ndarray
    room: np.ndarray


@dataclass(frozen=True)
class FakerAddressDraw:
    """A state, city, street and postcode per row from a Faker address provider."""

    state: np.ndarray
    city: np.ndarray  # into the locale's city lookup
    city_form: np.ndarray  # en_US: which of Faker's four city formats
    street: np.ndarray  # into the locale's street lookup
    street_suffix: np.ndarray
    number: pa.StringArray
    postcode: pa.StringArray
    secondary: pa.StringArray  # "" where the address has none


@dataclass(frozen=True)
class FakerAddressData:
    """Lists one Faker locale's address fields draw from."""

    states: tuple[str, ...]
    state_abbrs: tuple[str, ...]  # the names themselves where the locale has none
    zip_ranges: np.ndarray | None  # (states, 2) inclusive, en_US only
    cities: tuple[str, ...]
    city_prefixes: tuple[str, ...]
    city_suffixes: tuple[str, ...]
    streets: tuple[str, ...]
    street_suffixes: tuple[str, ...]
    number_first: bool
    postcode_formats: TemplateTable
    number_formats: TemplateTable
    secondary_formats: TemplateTable


def numerify_formats(formats: Any, fallback: str) -> list[str]:
    """Return Faker formats that only numerify (ASCII, no method calls), or the fallback."""
    usable = [
        f
        for f in (formats or ())
        if isinstance(f, str) and f.isascii() and "{" not in f and "?" not in f
    ]
    return usable or [fallback]


def _plain(formats: Any, fallback: str) -> TemplateTable:
    return TemplateTable.of(numerify_formats(formats, fallback))


def _strings(values: Any) -> tuple[str, ...]:
    if isinstance(values, dict):
        values = values.values()
    return tuple(str(v) for v in (values or ()) if isinstance(v, str))


def _is_range(value: object) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
    )


@functools.cache
def faker_address_data(locale: str) -> FakerAddressData:
    """Return the (cached) address lists of a Faker locale other than ja_JP."""
    provider = provider_class("address", locale)
    states: tuple[str, ...] = ()
    for attribute in ("states", "provinces", "regions", "prefectures", "departments"):
        states = _strings(getattr(provider, attribute, ()))
        if states:
            break
    abbrs = _strings(getattr(provider, "states_abbr", ()))
    if "DC" in abbrs and len(abbrs) == len(states) + 1:
        # en_US lists DC among the abbreviations (with a ZIP range) but not among the names.
        at = abbrs.index("DC")
        states = (*states[:at], "District of Columbia", *states[at:])
    ranges = getattr(provider, "states_postcode", None)
    zip_ranges = None
    # Only (low, high) pairs per state: some locales (en_MS) keep lists of ranges instead.
    if (
        ranges
        and abbrs
        and len(abbrs) == len(states)
        and all(a in ranges for a in abbrs)
        and all(_is_range(ranges[a]) for a in abbrs)
    ):
        zip_ranges = np.array([ranges[a] for a in abbrs], dtype=np.int64)
    people = person_data(locale)
    cities = _strings(getattr(provider, "cities", ())) or _strings(
        getattr(provider, "city_names", ())
    )
    return FakerAddressData(
        states=states or ("",),
        state_abbrs=abbrs if len(abbrs) == len(states) and abbrs else states or ("",),
        zip_ranges=zip_ranges,
        cities=cities or tuple(people.last.written),
        city_prefixes=_strings(getattr(provider, "city_prefixes", ())),
        city_suffixes=_strings(getattr(provider, "city_suffixes", ())) or ("",),
        streets=_strings(getattr(provider, "street_names", ())) or tuple(people.last.written),
        street_suffixes=_strings(getattr(provider, "street_suffixes", ())) or ("",),
        number_first=locale.split("_")[0] in {"en", "fr"},
        postcode_formats=_plain(getattr(provider, "postcode_formats", ()), "#####"),
        number_formats=_plain(getattr(provider, "building_number_formats", ()), "###"),
        secondary_formats=_plain(getattr(provider, "secondary_address_formats", ()), ""),
    )


def address_key(locale: str, entity: str | None) -> str:
    """Return the ``block.shared`` key of the address behind a row's fields."""
    return f"address:{locale}" if entity is None else f"address:{locale}:{entity}"


def draw_japan_addresses(block: BlockContext, entity: str | None) -> JapanAddressDraw:
    """Return the block's ja_JP addresses for ``entity``, the same for every field."""

    def make(rng: np.random.Generator) -> JapanAddressDraw:
        records = postal_records()
        lanes = random_lanes(rng, block.size, 10)
        record = records.draw(lanes[:, 0:3])
        has_chome = records.has_chome[record]
        in_building = lanes[:, 7] < int(BUILDING_RATE * 65_536)
        return JapanAddressDraw(
            record=record,
            chome=np.where(has_chome, bounded(lanes[:, 3], MAX_CHOME) + 1, 0),
            ban=np.where(
                has_chome, bounded(lanes[:, 4], MAX_BAN) + 1, bounded(lanes[:, 4], MAX_BANCHI) + 1
            ),
            go=bounded(lanes[:, 5], MAX_GO) + 1,
            building=bounded(lanes[:, 6], len(BUILDING_NAMES)),
            floor=np.where(in_building, bounded(lanes[:, 8], MAX_FLOORS) + 1, 0),
            room=bounded(lanes[:, 9], ROOMS_PER_FLOOR) + 1,
        )

    return block.shared(address_key("ja_JP", entity), make)


@functools.cache
def _five_digit_table() -> np.ndarray:
    """The five ASCII digits of every number 0..99999, one row each (500 kB, made once)."""
    places = np.array([10_000, 1_000, 100, 10, 1], dtype=np.int64)
    return ((np.arange(100_000)[:, None] // places) % 10 + ord("0")).astype(np.uint8)


def _five_digits(codes: np.ndarray) -> pa.StringArray:
    """ZIP codes 0..99999 as five ASCII digits each, leading zeros kept, without Python strings."""
    digits = _five_digit_table()[codes]
    offsets = np.arange(0, 5 * (len(codes) + 1), 5, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(codes), pa.py_buffer(offsets), pa.py_buffer(digits.tobytes()), null_count=0
    )


def draw_faker_addresses(block: BlockContext, entity: str | None) -> FakerAddressDraw:
    """Return the block's addresses in a Faker locale for ``entity``."""
    data = faker_address_data(block.locale)

    def make(rng: np.random.Generator) -> FakerAddressDraw:
        size = block.size
        # Every small draw of a row from one read of raw random bits, cut into 16-bit lanes:
        # far cheaper than a numpy call per draw.
        lanes = random_lanes(rng, size, 12)

        def pick(lane: int, bound: int) -> np.ndarray:
            if bound < 1 << 16:
                return bounded(lanes[:, lane], bound)
            return rng.integers(0, bound, size=size, dtype=np.int32)

        state = pick(0, len(data.states))
        if data.zip_ranges is not None:
            low, high = data.zip_ranges[state, 0], data.zip_ranges[state, 1]
            fraction = (lanes[:, 1].astype(np.uint64) << np.uint64(16)) | lanes[:, 2]
            code = low + ((high - low + 1) * fraction.astype(np.int64) >> 32)
            postcode = _five_digits(code)
        else:
            formats = data.postcode_formats
            postcode = formats.render(rng, pick(1, len(formats.lengths)))
        numbers = data.number_formats
        secondary = data.secondary_formats
        with_secondary = lanes[:, 3] < int(0.3 * 65_536)
        kinds = pick(4, len(secondary.lengths))
        # Only the rows that have a secondary line get one rendered.
        rendered = secondary.render(rng, kinds[with_secondary])
        city = ((lanes[:, 5].astype(np.int64) << 14) | (lanes[:, 6] >> 2)) & ((1 << 30) - 1)
        return FakerAddressDraw(
            state=state,
            city=city,
            city_form=pick(7, 4),
            street=pick(8, len(data.streets)),
            street_suffix=pick(9, len(data.street_suffixes)),
            number=numbers.render(rng, pick(10, len(numbers.lengths)), NUMERIFY),
            postcode=postcode,
            secondary=pc.replace_with_mask(
                pa.StringArray.from_buffers(
                    size, pa.py_buffer(np.zeros(size + 1, dtype=np.int32)), pa.py_buffer(b"")
                ),
                pa.array(with_secondary),
                rendered,
            ),
        )

    return block.shared(address_key(block.locale, entity), make)


@functools.cache
def country_names() -> tuple[dict[str, str], dict[str, str]]:
    """Return (English name per territory code, local name per locale)."""
    text = resources.files("generators").joinpath("data/countries.json").read_text("utf-8")
    table = json.loads(text)
    return dict(table["names"]), dict(table["local_names"])


def country_code(locale: str) -> str:
    """Return the ISO 3166 code of a locale's territory ("" when it has none, e.g. ar_AA)."""
    territory = locale.split("_")[1] if "_" in locale else ""
    if territory == "QC":
        return "CA"
    return territory if territory in country_names()[0] else ""
