"""Coordinates land in the locale's country, and agree across the fields of a row."""

from typing import Any

import pytest
from faker.providers.address import Provider as AddressProvider
from faker.providers.address.ja_JP import Provider as JaAddress

from tests.unit.making import made_table

JAPAN = ((20.0, 46.0), (122.0, 154.0))
US_BOXES = (
    ((24.4, 49.5), (-125.0, -66.9)),  # contiguous states
    ((51.0, 71.5), (-180.0, -129.9)),  # Alaska
    ((18.9, 22.3), (-160.3, -154.8)),  # Hawaii
)


def rows(fields: list[dict[str, Any]], locale: str, count: int = 20_000) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = made_table(fields, rows=count, seed=3, locale=locale).to_pylist()
    return result


def inside(lat: float, lon: float, box: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    (south, north), (west, east) = box
    return south <= lat <= north and west <= lon <= east


FIELDS = [
    {"name": "lat", "type": "latitude"},
    {"name": "lon", "type": "longitude"},
    {"name": "both", "type": "coordinates"},
]


def test_ja_jp_coordinates_lie_inside_japan() -> None:
    for row in rows(FIELDS, "ja_JP"):
        assert inside(row["lat"], row["lon"], JAPAN)


def test_en_us_coordinates_lie_inside_the_contiguous_us_alaska_or_hawaii() -> None:
    points = [(row["lat"], row["lon"]) for row in rows(FIELDS, "en_US")]
    assert all(any(inside(lat, lon, box) for box in US_BOXES) for lat, lon in points)
    assert len(set(points)) > 19_000  # spread out, not a handful of city centres


@pytest.mark.parametrize("locale", ["ja_JP", "en_US", "de_DE"])
def test_latitude_longitude_and_coordinates_of_a_row_are_one_point(locale: str) -> None:
    for row in rows(FIELDS, locale, 2000):
        lat_text, lon_text = row["both"].split(",")
        assert len(lat_text.split(".")[1]) == 6 and len(lon_text.split(".")[1]) == 6
        assert float(lat_text) == row["lat"] and float(lon_text) == row["lon"]


def test_coordinates_spell_negative_and_small_numbers_with_fixed_decimals() -> None:
    for row in rows([{"name": "c", "type": "coordinates", "decimals": 4}], "en_US", 2000):
        lat_text, lon_text = row["c"].split(",")
        assert lon_text.startswith("-") and not lat_text.startswith("-")
        assert len(lon_text.split(".")[1]) == 4
    points = rows([{"name": "c", "type": "coordinates", "decimals": 0}], "en_GB", 100)
    assert all("." not in row["c"] for row in points)


def test_world_countries_are_named_in_the_locale_and_codes_are_iso() -> None:
    names = {r["c"] for r in rows([{"name": "c", "type": "world_country"}], "ja_JP", 5000)}
    assert names <= set(JaAddress.countries) and len(names) > 200
    codes = {r["c"] for r in rows([{"name": "c", "type": "world_country_code"}], "en_US", 5000)}
    assert codes <= set(AddressProvider.alpha_2_country_codes)
    assert all(len(code) == 2 and code.isupper() for code in codes)
