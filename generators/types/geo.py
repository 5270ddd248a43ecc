"""Places: coordinates inside the locale's country; any country of the world by name or code.

(The locale's own country is ``country`` / ``country_code`` in ``address.py``.)

Coordinates start from Faker's ``land_coords`` (cities with their country code) for the
locale's country and move up to ``JITTER_DEGREES`` from the city, so every point is near
a real town of that country (inside its land, or just off its coast), which a bounding
box of the country cannot promise. Latitude, longitude and coordinates of one row agree:
they come from one shared draw per country.
"""

from __future__ import annotations

import functools
from typing import Annotated

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from faker.providers.address import Provider as AddressProvider
from faker.providers.geo import Provider as GeoProvider

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.locales import provider_class
from generators.vectors import join_by_take

JITTER_DEGREES = 0.05  # about 5.5 km north-south: a suburb of the city, not the next country
Decimals = Annotated[int, msgspec.Meta(ge=0, le=9)]
MAX_WHOLE_DEGREES = 180


@functools.cache
def city_points(country: str) -> np.ndarray:
    """Return (n, 2) latitude/longitude of Faker's land points in ``country`` (all if none)."""
    points = [(float(p[0]), float(p[1])) for p in GeoProvider.land_coords if p[3] == country]
    if not points:
        points = [(float(p[0]), float(p[1])) for p in GeoProvider.land_coords]
    return np.array(points, dtype=np.float64)


def locale_country(locale: str) -> str:
    return locale.split("_")[-1] if "_" in locale else ""


def block_points(block: BlockContext) -> tuple[np.ndarray, np.ndarray]:
    """Return this block's (latitudes, longitudes), the same for every field of a row."""
    country = locale_country(block.locale)

    def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cities = city_points(country)
        picks = rng.integers(0, len(cities), size=block.size)
        jitter = rng.uniform(-JITTER_DEGREES, JITTER_DEGREES, size=(2, block.size))
        latitudes = np.clip(cities[picks, 0] + jitter[0], -90.0, 90.0)
        longitudes = (cities[picks, 1] + jitter[1] + 180.0) % 360.0 - 180.0
        return latitudes, longitudes

    return block.shared(f"geo:{country}", draw)


class LatitudeField(FieldOptions, tag="latitude", frozen=True):
    decimals: Decimals = 6


class LongitudeField(FieldOptions, tag="longitude", frozen=True):
    decimals: Decimals = 6


class CoordinatesField(FieldOptions, tag="coordinates", frozen=True):
    decimals: Decimals = 6


class WorldCountryField(FieldOptions, tag="world_country", frozen=True):
    pass


class WorldCountryCodeField(FieldOptions, tag="world_country_code", frozen=True):
    pass


@functools.cache
def number_pieces() -> tuple[pa.StringArray, dict[str, int]]:
    """Return the pieces fixed-point numbers are joined from, with each kind's base index.

    "whole": "0".."180" then "-0".."-180"; "digits3"/"digits2"/"digits1": zero-padded
    groups of fraction digits; ".", and "," between latitude and longitude.
    """
    whole = [str(n) for n in range(MAX_WHOLE_DEGREES + 1)]
    segments = {
        "whole": whole + ["-" + w for w in whole],
        "digits3": [f"{n:03d}" for n in range(1000)],
        "digits2": [f"{n:02d}" for n in range(100)],
        "digits1": [str(n) for n in range(10)],
        ".": ["."],
        ",": [","],
    }
    bases: dict[str, int] = {}
    pieces: list[str] = []
    for kind, strings in segments.items():
        bases[kind] = len(pieces)
        pieces.extend(strings)
    return pa.array(pieces, type=pa.string()), bases


def fixed_point_parts(values: np.ndarray, decimals: int) -> list[np.ndarray]:
    """Return lookup indices that spell each of ``values`` with exactly ``decimals`` places."""
    _, bases = number_pieces()
    scale = 10**decimals
    units = np.rint(np.abs(values) * scale).astype(np.int64)
    negative = (values < 0) & (units > 0)  # never "-0.000000"
    whole = units // scale + np.where(negative, MAX_WHOLE_DEGREES + 1, 0) + bases["whole"]
    parts = [whole.astype(np.int32)]
    if decimals == 0:
        return parts
    parts.append(np.full(values.size, bases["."], dtype=np.int32))
    fraction = units % scale
    remaining = decimals
    while remaining:
        width = min(3, remaining)
        remaining -= width
        group = fraction // 10**remaining % 10**width
        parts.append((group + bases[f"digits{width}"]).astype(np.int32))
    return parts


def latitude_column(options: LatitudeField, block: BlockContext) -> pa.Array:
    latitudes, _ = block_points(block)
    return pa.array(np.round(latitudes, options.decimals), type=pa.float64())


def longitude_column(options: LongitudeField, block: BlockContext) -> pa.Array:
    _, longitudes = block_points(block)
    return pa.array(np.round(longitudes, options.decimals), type=pa.float64())


def coordinates_column(options: CoordinatesField, block: BlockContext) -> pa.Array:
    latitudes, longitudes = block_points(block)
    lookup, bases = number_pieces()
    comma = np.full(block.size, bases[","], dtype=np.int32)
    parts = [
        *fixed_point_parts(latitudes, options.decimals),
        comma,
        *fixed_point_parts(longitudes, options.decimals),
    ]
    return join_by_take(lookup, parts)


@functools.cache
def country_names(locale: str) -> pa.StringArray:
    names = provider_class("address", locale).countries
    return pa.array(list(dict.fromkeys(names)), type=pa.string())


@functools.cache
def country_codes() -> pa.StringArray:
    return pa.array(sorted(set(AddressProvider.alpha_2_country_codes)), type=pa.string())


def country_column(options: WorldCountryField, block: BlockContext) -> pa.Array:
    names = country_names(block.locale)
    return names.take(pa.array(block.rng.integers(0, len(names), size=block.size)))


def country_code_column(options: WorldCountryCodeField, block: BlockContext) -> pa.Array:
    codes = country_codes()
    return codes.take(pa.array(block.rng.integers(0, len(codes), size=block.size)))


TYPES = (
    FieldType(
        LatitudeField,
        "geo",
        "Latitude near a town of the locale's country (agrees with longitude in the row).",
        "35.689487",
        latitude_column,
    ),
    FieldType(
        LongitudeField,
        "geo",
        "Longitude near a town of the locale's country (agrees with latitude in the row).",
        "139.691706",
        longitude_column,
    ),
    FieldType(
        CoordinatesField,
        "geo",
        "'latitude,longitude' with decimals places, near a town of the locale's country.",
        "35.689487,139.691706",
        coordinates_column,
    ),
    FieldType(
        WorldCountryField,
        "geo",
        "Any country of the world, named in the locale's language (ja_JP: in Japanese).",
        "ニュージーランド",
        country_column,
        lambda options, locale: len(country_names(locale)),
        lambda options, block, k: country_names(block.locale).take(pa.array(k.astype(np.int64))),
    ),
    FieldType(
        WorldCountryCodeField,
        "geo",
        "Any country's ISO 3166-1 alpha-2 code.",
        "NZ",
        country_code_column,
        lambda options, locale: len(country_codes()),
        lambda options, block, k: country_codes().take(pa.array(k.astype(np.int64))),
    ),
)
