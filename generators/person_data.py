"""Name tables per locale and the one draw of a person that every person field of a row shares.

For ja_JP every name comes from one of Faker's (kanji, katakana, romaji) triples, so a row's
kanji, kana and romaji always belong together. Other locales take Faker's first and last
names (weighted where Faker has weights, by gender where Faker splits them) and spell them
in ASCII through Faker's own transliteration table for romaji fields and emails.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jaconv
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from faker.decode import unidecode

from generators.fieldtype import BlockContext
from generators.locales import provider_class
from generators.patterns import InverseCdf, bounded, bounded32, random_lanes

# Email and username suffixes are 0..EMAIL_SUFFIXES-1, written without padding.
EMAIL_SUFFIXES = 100_000
JA_DOMAINS = ("example.jp", "example.co.jp", "example.ne.jp")
# Reserved example domains (RFC 2606), so generated addresses reach no one.
DOMAINS = ("example.com", "example.org", "example.net")
FEMALE, MALE = 0, 1


Names = tuple[list[str], list[float]]  # names and their relative weights


@dataclass(frozen=True)
class NameTable:
    """Names of one kind (first or last): female entries first, then male ones.

    ``written`` is how the locale writes them (kanji for ja_JP), ``kana`` the katakana
    reading (ja_JP only; otherwise the written form), ``romaji`` a Latin spelling and
    ``ascii`` a lower-case ``[a-z]`` spelling for emails. ``split`` is the number of female
    entries, 0 when the names are not split by gender. ``either`` picks across both genders
    (each half of the draws); ``female``/``male`` pick within one.
    """

    written: list[str]
    kana: list[str]
    romaji: list[str]
    ascii: list[str]
    split: int
    either: InverseCdf
    female: InverseCdf
    male: InverseCdf

    def draw(self, lane: np.ndarray, gender: np.ndarray) -> np.ndarray:
        """Return int32 entry numbers from uint16 lanes, within each row's gender."""
        if not self.split:
            return self.either.draw(lane)
        picks: np.ndarray = np.where(gender == MALE, self.male.draw(lane), self.female.draw(lane))
        return picks

    @functools.cached_property
    def distinct_ascii(self) -> list[str]:
        """Return the distinct ASCII spellings (two names may share one, e.g. 斉藤/斎藤)."""
        return list(dict.fromkeys(self.ascii))


@dataclass(frozen=True)
class PersonData:
    """Everything the person fields need about one locale."""

    code: str
    first: NameTable
    last: NameTable
    family_name_first: bool
    domains: tuple[str, ...]
    prefixes: tuple[tuple[str, ...], tuple[str, ...]]  # (female, male)


@dataclass(frozen=True)
class PersonDraw:
    """One person per row of a block: entry numbers into the locale's tables."""

    gender: np.ndarray  # FEMALE / MALE
    first: np.ndarray
    last: np.ndarray
    suffix: np.ndarray  # email / username number
    domain: np.ndarray
    prefix: np.ndarray  # uint16 lane to pick a title


def ascii_spelling(name: str) -> str:
    """Return ``name`` as lower-case ``[a-z]`` letters ("" when nothing Latin remains)."""
    latin = unicodedata.normalize("NFKD", unidecode(name))
    return re.sub(r"[^a-z]", "", latin.lower())


def _names_and_weights(values: Any) -> tuple[list[str], list[float]]:
    if isinstance(values, Mapping):
        names = [str(n) for n in values]
        return names, [float(w) for w in values.values()]
    names = [str(n) for n in values if isinstance(n, str)]
    return names, [1.0] * len(names)


def _within(weights: Sequence[float], start: int, stop: int) -> np.ndarray:
    masked = np.zeros(len(weights), dtype=np.float64)
    masked[start:stop] = weights[start:stop]
    shares: np.ndarray = masked / masked.sum()
    return shares


def _table(
    female: tuple[list[str], list[float]],
    male: tuple[list[str], list[float]] | None = None,
    kana: Iterable[str] | None = None,
    romaji: Iterable[str] | None = None,
) -> NameTable:
    """Return a table; without ``male`` (or with the same list) both genders share one."""
    if male is None or male == female:
        male = ([], [])
        split = 0
    else:
        split = len(female[0])
    written = female[0] + male[0]
    weights = female[1] + male[1]
    latin = list(romaji) if romaji is not None else [unidecode(n).strip() for n in written]
    return NameTable(
        written=written,
        kana=list(kana) if kana is not None else written,
        romaji=latin,
        ascii=[ascii_spelling(n) or "user" for n in latin],
        split=split,
        either=InverseCdf.from_weights(
            _within(weights, 0, split) + _within(weights, split, len(written))
            if split
            else _within(weights, 0, len(written))
        ),
        female=InverseCdf.from_weights(_within(weights, 0, split or len(written))),
        male=InverseCdf.from_weights(_within(weights, split, len(written))),
    )


def _ja_jp() -> PersonData:
    provider = provider_class("person", "ja_JP")
    female_pairs = list(provider.first_name_female_pairs)
    male_pairs = list(provider.first_name_male_pairs)
    first_pairs = female_pairs + male_pairs
    last_pairs: Mapping[tuple[str, str, str], float] = provider.last_name_pairs
    last_list = list(last_pairs)
    last_weights = [float(w) for w in last_pairs.values()]
    return PersonData(
        code="ja_JP",
        first=_table(
            ([p[0] for p in female_pairs], [1.0] * len(female_pairs)),
            ([p[0] for p in male_pairs], [1.0] * len(male_pairs)),
            kana=[p[1] for p in first_pairs],
            romaji=[p[2] for p in first_pairs],
        ),
        # Family names are not gendered: the same table serves both.
        last=_table(
            ([p[0] for p in last_list], last_weights),
            kana=[p[1] for p in last_list],
            romaji=[p[2] for p in last_list],
        ),
        family_name_first=True,
        domains=JA_DOMAINS,
        prefixes=((), ()),
    )


def _gendered(provider: Any, kind: str) -> tuple[Names, Names]:
    both = getattr(provider, f"{kind}_names", ())
    female = getattr(provider, f"{kind}_names_female", None) or both
    male = getattr(provider, f"{kind}_names_male", None) or both
    return _names_and_weights(female), _names_and_weights(male)


def _from_faker(code: str) -> PersonData:
    provider = provider_class("person", code)
    prefixes = tuple(
        tuple(_names_and_weights(getattr(provider, f"prefixes_{g}", ()))[0])
        for g in ("female", "male")
    )
    return PersonData(
        code=code,
        first=_table(*_gendered(provider, "first")),
        last=_table(*_gendered(provider, "last")),
        family_name_first=code.split("_")[0] in {"ja", "zh", "ko", "hu", "vi"},
        domains=DOMAINS,
        prefixes=(prefixes[0], prefixes[1]),
    )


@functools.cache
def person_data(code: str) -> PersonData:
    """Return the (cached) name tables for a locale code such as ``"ja_JP"``."""
    return _ja_jp() if code == "ja_JP" else _from_faker(code)


def person_key(locale: str, entity: str | None) -> str:
    """Return the ``block.shared`` key of the person behind a row's fields."""
    return f"person:{locale}" if entity is None else f"person:{locale}:{entity}"


def draw_people(block: BlockContext, entity: str | None) -> PersonDraw:
    """Return the block's people for ``entity``: the same for every field that asks."""
    data = person_data(block.locale)

    def make(rng: np.random.Generator) -> PersonDraw:
        lanes = random_lanes(rng, block.size, 7)
        # The given name decides the gender where the locale splits names by gender.
        first = data.first.either.draw(lanes[:, 0])
        if data.first.split:
            gender = (first >= data.first.split).astype(np.int8)
        else:
            gender = (lanes[:, 1] & 1).astype(np.int8)
        return PersonDraw(
            gender=gender,
            first=first,
            last=data.last.draw(lanes[:, 2], gender),
            suffix=bounded32(lanes[:, 3], lanes[:, 4], EMAIL_SUFFIXES),
            domain=bounded(lanes[:, 5], len(data.domains)),
            prefix=lanes[:, 6],
        )

    return block.shared(person_key(block.locale, entity), make)


@functools.cache
def string_table(strings: tuple[str, ...]) -> pa.StringArray:
    """Return ``strings`` as one cached Arrow array."""
    return pa.array(strings, type=pa.string())


def kana_form(kana: Sequence[str], script: str, width: str) -> tuple[str, ...]:
    """Return katakana readings in the asked script ("katakana"/"hiragana") and width."""
    if script == "hiragana":
        return tuple(jaconv.kata2hira(k) for k in kana)
    if width == "half":
        return tuple(jaconv.z2h(k, kana=True, digit=True, ascii=True) for k in kana)
    return tuple(kana)
