"""People as a user of the data sees them: one person behind every name field of a row."""

import re
import unicodedata
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from faker.providers.person.en_US import Provider as EnUsPerson
from faker.providers.person.ja_JP import Provider as JaJpPerson

from generators.catalog import FIELD_TYPES
from generators.fieldtype import BlockContext
from generators.japan_post import prefecture_facts
from generators.spec import parse_spec
from tests.unit.making import made_table

JA_FIRST = {
    p[0]: p for p in (*JaJpPerson.first_name_female_pairs, *JaJpPerson.first_name_male_pairs)
}
JA_LAST = {p[0]: p for p in JaJpPerson.last_name_pairs}
JA_FEMALE = {p[0] for p in JaJpPerson.first_name_female_pairs}


def rows(
    fields: list[dict[str, Any]], locale: str = "ja_JP", count: int = 2000
) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = made_table(fields, rows=count, seed=3, locale=locale).to_pylist()
    return made


def same_type(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "type": n} for n in names]


def test_kanji_kana_romaji_and_gender_of_a_row_come_from_one_faker_pair() -> None:
    fields = same_type(
        "full_name", "full_name_kana", "full_name_romaji", "first_name", "last_name_kana", "gender"
    )
    fields.append({"name": "hira", "type": "full_name_kana", "script": "hiragana"})
    for row in rows(fields):
        last, first = row["full_name"].split(" ")
        assert first == row["first_name"]
        kana_last, kana_first = row["full_name_kana"].split(" ")
        romaji_last, romaji_first = row["full_name_romaji"].split(" ")
        assert JA_FIRST[first][1:] == (kana_first, romaji_first)
        assert JA_LAST[last][1:] == (kana_last, romaji_last)
        assert row["last_name_kana"] == kana_last
        assert row["hira"] == "".join(
            chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in row["full_name_kana"]
        )
        assert row["gender"] == ("female" if first in JA_FEMALE else "male")


def test_half_width_kana_is_half_width_katakana_of_the_same_reading() -> None:
    fields = [
        {"name": "full", "type": "first_name_kana"},
        {"name": "half", "type": "first_name_kana", "width": "half"},
    ]
    for row in rows(fields, count=500):
        assert all("\uff61" <= c <= "\uff9f" for c in row["half"])
        assert unicodedata.normalize("NFKC", row["half"]) == row["full"]


def test_hiragana_cannot_be_half_width() -> None:
    with pytest.raises(Exception, match="hiragana"):
        rows([{"name": "k", "type": "full_name_kana", "script": "hiragana", "width": "half"}])


@pytest.mark.parametrize("locale", ["ja_JP", "en_US"])
def test_email_and_username_are_the_rows_own_names(locale: str) -> None:
    fields = same_type("first_name_romaji", "last_name_romaji", "username", "email")
    for row in rows(fields, locale=locale):
        local, _, domain = row["email"].partition("@")
        assert local == row["username"]
        first, last = row["first_name_romaji"], row["last_name_romaji"]
        spelled = [re.sub(r"[^a-z]", "", n.lower()) for n in (first, last)]
        assert re.fullmatch(rf"{spelled[0]}\.{spelled[1]}\d+", local)
        assert domain.startswith("example.")


def test_en_us_names_follow_fakers_lists_given_name_first() -> None:
    for row in rows(same_type("full_name", "gender", "prefix"), locale="en_US"):
        given, family = row["full_name"].split(" ")
        assert family in EnUsPerson.last_names
        listed = (
            EnUsPerson.first_names_female
            if row["gender"] == "female"
            else EnUsPerson.first_names_male
        )
        assert given in listed
        assert (
            row["prefix"] in ("Mr.", "Dr.") if row["gender"] == "male" else row["prefix"] != "Mr."
        )


def test_entities_are_different_people_in_the_same_row() -> None:
    fields = [
        {"name": "customer", "type": "full_name"},
        {"name": "customer_email", "type": "email"},
        {"name": "manager", "type": "full_name", "entity": "manager"},
        {"name": "manager_romaji", "type": "last_name_romaji", "entity": "manager"},
    ]
    table = rows(fields)
    assert sum(r["customer"] != r["manager"] for r in table) > 0.9 * len(table)
    for row in table:
        assert JA_LAST[row["manager"].split(" ")[0]][2] == row["manager_romaji"]


@pytest.mark.parametrize("locale", ["ru_RU", "zh_CN", "de_DE", "el_GR"])
def test_other_locales_give_their_own_names_and_ascii_emails(locale: str) -> None:
    table = rows(same_type("full_name", "email", "first_name_romaji"), locale=locale, count=300)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org|net)", r["email"]) for r in table)
    assert all(r["first_name_romaji"].isascii() for r in table)


def unique_values(type_name: str, count: int, locale: str = "ja_JP") -> list[str]:
    entry = FIELD_TYPES[type_name]
    assert entry.capacity is not None and entry.from_index is not None
    options = parse_spec(
        {
            "name": "t",
            "rows": 1,
            "format": "csv",
            "locale": locale,
            "seed": 1,
            "fields": [{"name": "x", "type": type_name}],
        }
    ).fields[0]
    capacity = entry.capacity(options, locale)
    assert capacity >= 100_000_000
    block = BlockContext(np.random.default_rng(0), 0, count, locale, 1, 0)
    # Scattered value numbers, as a permutation of the row index would give.
    k = (np.arange(count, dtype=np.uint64) * np.uint64(2_654_435_761)) % np.uint64(capacity)
    values: pa.Array = entry.from_index(options, block, k)
    result: list[str] = values.to_pylist()
    return result


@pytest.mark.parametrize("type_name", ["email", "username"])
def test_unique_emails_and_usernames_never_repeat(type_name: str) -> None:
    values = unique_values(type_name, 200_000)
    assert len(set(values)) == len(values)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d+(@example\.[a-z.]+)?", v) for v in values[:2000])


def test_ja_jp_phones_are_mobile_or_a_landline_of_the_rows_prefecture() -> None:
    fields = same_type("phone", "prefecture")
    fields.append({"name": "bare", "type": "phone", "kind": "landline", "hyphens": False})
    facts = prefecture_facts()
    landlines = 0
    for row in rows(fields, count=5000):
        phone = row["phone"]
        assert len(phone.replace("-", "")) in (10, 11)
        if len(phone) == 13:
            assert re.fullmatch(r"0[789]0-\d{4}-\d{4}", phone)
        else:
            landlines += 1
            area, exchange, line = phone.split("-")
            assert area in facts[row["prefecture"]].area_codes
            assert len(area) + len(exchange) == 6 and exchange[0] not in "01" and len(line) == 4
        bare = row["bare"]
        assert bare.isdigit() and len(bare) == 10
        assert any(bare.startswith(a) for a in facts[row["prefecture"]].area_codes)
    assert 0.3 < landlines / 5000 < 0.5
