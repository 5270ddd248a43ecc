"""Calendar words: years, localised month and weekday names, and IANA time zone names."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from faker.providers.date_time import Provider as DateTimeProvider

from generators.fieldtype import BlockContext, FieldOptions, FieldType, Rate
from generators.locales import provider_class
from generators.vectors import WeightedTable

ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
ENGLISH_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
# Faker's ja_JP months are the kanji-numeral 一月; everyday Japanese (and forms) write 1月.
MONTH_OVERRIDES = {"ja": tuple(f"{month}月" for month in range(1, 13))}


class YearField(FieldOptions, tag="year", frozen=True):
    min: int = 1970
    max: int = 2030

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if not 1 <= self.min <= self.max <= 9999:
            yield "min", "years need 1 <= min <= max <= 9999"


class MonthNameField(FieldOptions, tag="month_name", frozen=True):
    pass


class DayOfWeekField(FieldOptions, tag="day_of_week", frozen=True):
    pass


class TimezoneField(FieldOptions, tag="timezone", frozen=True):
    """``local_share``: the share of values from the locale's own country's zones."""

    local_share: Rate = 0.5


@functools.cache
def month_names(locale: str) -> pa.StringArray:
    """Return the twelve month names of ``locale``, January first."""
    if (override := MONTH_OVERRIDES.get(locale.split("_")[0])) is not None:
        return pa.array(override, type=pa.string())
    names = getattr(provider_class("date_time", locale), "MONTH_NAMES", None)
    months = [names[f"{m:02d}"] for m in range(1, 13)] if names else ENGLISH_MONTHS
    return pa.array(months, type=pa.string())


@functools.cache
def day_names(locale: str) -> pa.StringArray:
    """Return the seven weekday names of ``locale``, Sunday first."""
    names = getattr(provider_class("date_time", locale), "DAY_NAMES", None)
    days = [names[str(d)] for d in range(7)] if names else ENGLISH_DAYS
    return pa.array(days, type=pa.string())


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Return every IANA zone name of Faker's country list, sorted (fixed per Faker version)."""
    return tuple(sorted({zone for c in DateTimeProvider.countries for zone in c.timezones}))


@functools.cache
def zone_table(locale: str, local_share: float) -> WeightedTable:
    """Return draws over ``zone_names()`` with ``local_share`` on the locale's country."""
    country = locale.split("_")[-1] if "_" in locale else ""
    local = {
        zone
        for c in DateTimeProvider.countries
        if c.alpha_2_code == country
        for zone in c.timezones
    }
    names = zone_names()
    if not local or len(local) == len(names):
        return WeightedTable.from_weights(np.ones(len(names)))
    is_local = np.array([name in local for name in names])
    weights = np.where(
        is_local, local_share / len(local), (1 - local_share) / (len(names) - len(local))
    )
    return WeightedTable.from_weights(weights)


def _from_list(names: pa.StringArray, picks: np.ndarray) -> pa.Array:
    return names.take(pa.array(picks.astype(np.int64)))


def year_column(options: YearField, block: BlockContext) -> pa.Array:
    years = block.rng.integers(options.min, options.max, size=block.size, endpoint=True)
    return pa.array(years, type=pa.int64())


def year_capacity(options: YearField, locale: str) -> int:
    return options.max - options.min + 1


def year_from_index(options: YearField, block: BlockContext, k: np.ndarray) -> pa.Array:
    return pa.array(k.astype(np.int64) + options.min, type=pa.int64())


def month_name_column(options: MonthNameField, block: BlockContext) -> pa.Array:
    return _from_list(month_names(block.locale), block.rng.integers(0, 12, size=block.size))


def month_name_from_index(options: MonthNameField, block: BlockContext, k: np.ndarray) -> pa.Array:
    return _from_list(month_names(block.locale), k)


def day_of_week_column(options: DayOfWeekField, block: BlockContext) -> pa.Array:
    return _from_list(day_names(block.locale), block.rng.integers(0, 7, size=block.size))


def day_of_week_from_index(options: DayOfWeekField, block: BlockContext, k: np.ndarray) -> pa.Array:
    return _from_list(day_names(block.locale), k)


def timezone_column(options: TimezoneField, block: BlockContext) -> pa.Array:
    picks = zone_table(block.locale, options.local_share).draw(block.rng, block.size)
    return _from_list(pa.array(zone_names(), type=pa.string()), picks)


def timezone_from_index(options: TimezoneField, block: BlockContext, k: np.ndarray) -> pa.Array:
    return _from_list(pa.array(zone_names(), type=pa.string()), k)


TYPES = (
    FieldType(
        YearField,
        "datetime",
        "Year in [min, max] as an integer.",
        "1994",
        year_column,
        year_capacity,
        year_from_index,
    ),
    FieldType(
        MonthNameField,
        "datetime",
        "Month name in the locale's language (ja_JP: 1月).",
        "March",
        month_name_column,
        lambda options, locale: 12,
        month_name_from_index,
    ),
    FieldType(
        DayOfWeekField,
        "datetime",
        "Weekday name in the locale's language (ja_JP: 月曜日).",
        "Tuesday",
        day_of_week_column,
        lambda options, locale: 7,
        day_of_week_from_index,
    ),
    FieldType(
        TimezoneField,
        "datetime",
        "IANA time zone name; local_share of them from the locale's country.",
        "Asia/Tokyo",
        timezone_column,
        lambda options, locale: len(zone_names()),
        timezone_from_index,
    ),
)
