"""Dates and times: calendar dates, zoned datetimes, times of day, Unix timestamps, birth dates.

Nothing here reads the wall clock: every range is fixed by the spec (``date_of_birth``
counts ages from its ``as_of`` option), so the same spec and seed give the same file on
any day. Dates and datetimes are uniform in their range, or normal around a ``center``
(``stddev_days`` wide) truncated to the range.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from generators.fieldtype import BlockContext, FieldOptions, FieldType
from generators.types.distributions import normal_from_uniform

EPOCH = dt.date(1970, 1, 1)
UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SECONDS_PER_DAY = 86_400
MICROS = 1_000_000
Age = Annotated[int, msgspec.Meta(ge=0, le=150)]
DateShape = Literal["uniform", "normal"]


class ShapedDates(FieldOptions, frozen=True):
    """``distribution``: "uniform" (default) or "normal" around ``center`` (default: the
    range's midpoint) with ``stddev_days`` (default: a sixth of the range), truncated to it."""

    distribution: DateShape = "uniform"
    stddev_days: Annotated[float, msgspec.Meta(gt=0)] | None = None


class DateField(ShapedDates, tag="date", frozen=True):
    start: dt.date = dt.date(2000, 1, 1)
    end: dt.date = dt.date(2030, 12, 31)
    center: dt.date | None = None

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.start > self.end:
            yield "start", f"start ({self.start}) is after end ({self.end})"


class DatetimeField(ShapedDates, tag="datetime", frozen=True):
    """A range without an offset is wall-clock time in ``timezone``."""

    start: dt.datetime = dt.datetime(2000, 1, 1)
    end: dt.datetime = dt.datetime(2030, 12, 31, 23, 59, 59)
    center: dt.datetime | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if (zone := known_zone(self.timezone)) is None:
            yield "timezone", f"unknown time zone '{self.timezone}'; use an IANA name"
        elif to_epoch_seconds(self.start, zone, round_up=True) > to_epoch_seconds(self.end, zone):
            yield "start", f"no whole second lies from start ({self.start}) to end ({self.end})"


class TimeField(FieldOptions, tag="time", frozen=True):
    start: dt.time = dt.time(0, 0, 0)
    end: dt.time = dt.time(23, 59, 59)

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.start > self.end:
            yield "start", f"start ({self.start}) is after end ({self.end})"


class TimestampUnixField(FieldOptions, tag="timestamp_unix", frozen=True):
    """A range without an offset is UTC."""

    start: dt.datetime = dt.datetime(2000, 1, 1)
    end: dt.datetime = dt.datetime(2030, 12, 31, 23, 59, 59)
    unit: Literal["s", "ms"] = "s"

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if to_epoch_seconds(self.start, dt.UTC, round_up=True) > to_epoch_seconds(self.end, dt.UTC):
            yield "start", f"no whole second lies from start ({self.start}) to end ({self.end})"


class DateOfBirthField(FieldOptions, tag="date_of_birth", frozen=True):
    min_age: Age = 18
    max_age: Age = 80
    as_of: dt.date = dt.date(2026, 1, 1)

    def problems(self, rows: int) -> Iterator[tuple[str, str]]:
        if self.min_age > self.max_age:
            yield "min_age", f"min_age ({self.min_age}) is greater than max_age ({self.max_age})"
        elif self.as_of.year - self.max_age - 1 < dt.MINYEAR:
            yield "max_age", "the oldest birth date would fall before year 1"


@functools.cache
def known_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """Return the IANA time zone called ``name``, or None if there is none."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def to_epoch_seconds(moment: dt.datetime, zone: dt.tzinfo, round_up: bool = False) -> int:
    """Return whole seconds since 1970 UTC; a naive ``moment`` is wall time in ``zone``.

    ``round_up`` for the start of a range: a start with a fraction of a second must not let
    a value fall before it.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    seconds, fraction = divmod(moment - UTC_EPOCH, dt.timedelta(seconds=1))
    return seconds + (1 if round_up and fraction else 0)


def years_before(day: dt.date, years: int) -> dt.date:
    """Return the same day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def birth_day_range(options: DateOfBirthField) -> tuple[int, int]:
    """Return the first and last birth date, as days since 1970, of ages in [min, max]."""
    # Aged max_age until the day before the (max_age + 1)th birthday.
    earliest = years_before(options.as_of, options.max_age + 1) + dt.timedelta(days=1)
    latest = years_before(options.as_of, options.min_age)
    return (earliest - EPOCH).days, (latest - EPOCH).days


def shaped_steps(
    options: ShapedDates, block: BlockContext, first: int, last: int, center: int | None, day: int
) -> np.ndarray:
    """Return int64 steps in [first, last], uniform or normal around ``center``.

    ``day`` is how many steps make a day (1 for dates, 86,400 for datetimes).
    """
    if options.distribution == "uniform":
        return block.rng.integers(first, last, size=block.size, dtype=np.int64, endpoint=True)
    mean = (first + last) / 2 if center is None else center
    stddev = options.stddev_days * day if options.stddev_days else max((last - first) / 6, 1.0)
    # Each step n owns [n - 0.5, n + 0.5), so rounding keeps the continuous shape.
    values = normal_from_uniform(
        block.rng.random(block.size), mean, stddev, first - 0.5, last + 0.5
    )
    steps: np.ndarray = np.clip(np.rint(values), first, last).astype(np.int64)
    return steps


def date_days(options: DateField) -> tuple[int, int]:
    return (options.start - EPOCH).days, (options.end - EPOCH).days


def date_column(options: DateField, block: BlockContext) -> pa.Array:
    first, last = date_days(options)
    center = None if options.center is None else (options.center - EPOCH).days
    days = shaped_steps(options, block, first, last, center, 1).astype(np.int32)
    return pa.array(days, type=pa.date32())


def date_capacity(options: DateField, locale: str) -> int:
    first, last = date_days(options)
    return last - first + 1


def date_from_index(options: DateField, block: BlockContext, k: np.ndarray) -> pa.Array:
    first, _ = date_days(options)
    return pa.array((k.astype(np.int64) + first).astype(np.int32), type=pa.date32())


def datetime_seconds(options: DatetimeField) -> tuple[dt.tzinfo, int, int]:
    zone = known_zone(options.timezone) or dt.UTC
    first = to_epoch_seconds(options.start, zone, round_up=True)
    return zone, first, to_epoch_seconds(options.end, zone)


def datetime_column(options: DatetimeField, block: BlockContext) -> pa.Array:
    zone, first, last = datetime_seconds(options)
    center = None if options.center is None else to_epoch_seconds(options.center, zone)
    seconds = shaped_steps(options, block, first, last, center, SECONDS_PER_DAY)
    return zoned_timestamps(seconds, options.timezone)


def zoned_timestamps(seconds: np.ndarray, timezone: str) -> pa.Array:
    return pa.array(seconds * MICROS, type=pa.timestamp("us", tz=timezone))


def datetime_capacity(options: DatetimeField, locale: str) -> int:
    _, first, last = datetime_seconds(options)
    return last - first + 1


def datetime_from_index(options: DatetimeField, block: BlockContext, k: np.ndarray) -> pa.Array:
    _, first, _ = datetime_seconds(options)
    return zoned_timestamps(k.astype(np.int64) + first, options.timezone)


def time_seconds(options: TimeField) -> tuple[int, int]:
    def of(moment: dt.time) -> int:
        return moment.hour * 3600 + moment.minute * 60 + moment.second

    return of(options.start), of(options.end)


def time_column(options: TimeField, block: BlockContext) -> pa.Array:
    first, last = time_seconds(options)
    seconds = block.rng.integers(first, last, size=block.size, dtype=np.int32, endpoint=True)
    return pa.array(seconds, type=pa.time32("s"))


def time_capacity(options: TimeField, locale: str) -> int:
    first, last = time_seconds(options)
    return last - first + 1


def time_from_index(options: TimeField, block: BlockContext, k: np.ndarray) -> pa.Array:
    first, _ = time_seconds(options)
    return pa.array((k.astype(np.int64) + first).astype(np.int32), type=pa.time32("s"))


def unix_range(options: TimestampUnixField) -> tuple[int, int, int]:
    """Return (first, last, units per second) in the option's unit."""
    per_second = 1000 if options.unit == "ms" else 1
    first = to_epoch_seconds(options.start, dt.UTC, round_up=True) * per_second
    return first, to_epoch_seconds(options.end, dt.UTC) * per_second, per_second


def timestamp_unix_column(options: TimestampUnixField, block: BlockContext) -> pa.Array:
    first, last, _ = unix_range(options)
    values = block.rng.integers(first, last, size=block.size, dtype=np.int64, endpoint=True)
    return pa.array(values, type=pa.int64())


def timestamp_unix_capacity(options: TimestampUnixField, locale: str) -> int:
    first, last, _ = unix_range(options)
    return last - first + 1


def timestamp_unix_from_index(
    options: TimestampUnixField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    first, _, _ = unix_range(options)
    return pa.array(k.astype(np.int64) + first, type=pa.int64())


def date_of_birth_column(options: DateOfBirthField, block: BlockContext) -> pa.Array:
    first, last = birth_day_range(options)
    days = block.rng.integers(first, last, size=block.size, dtype=np.int32, endpoint=True)
    return pa.array(days, type=pa.date32())


def date_of_birth_capacity(options: DateOfBirthField, locale: str) -> int:
    first, last = birth_day_range(options)
    return last - first + 1


def date_of_birth_from_index(
    options: DateOfBirthField, block: BlockContext, k: np.ndarray
) -> pa.Array:
    first, _ = birth_day_range(options)
    return pa.array((k.astype(np.int64) + first).astype(np.int32), type=pa.date32())


def date_edge_cases(options: DateField) -> list[tuple[str, object]]:
    """The range's first and last days, the days just outside, and dates that break code."""
    day = dt.timedelta(days=1)
    cases: list[tuple[str, object]] = [("min", options.start), ("max", options.end)]
    if options.start > dt.date.min:
        cases.append(("below_min", options.start - day))
    if options.end < dt.date.max:
        cases.append(("above_max", options.end + day))
    cases += [
        ("leap_day", dt.date(2024, 2, 29)),
        ("unix_epoch", dt.date(1970, 1, 1)),
        ("y2038", dt.date(2038, 1, 19)),
    ]
    return cases


TYPES = (
    FieldType(
        DateField,
        "datetime",
        "Calendar date in [start, end] as YYYY-MM-DD; uniform or normal around center.",
        "2017-08-23",
        date_column,
        date_capacity,
        date_from_index,
        date_edge_cases,
    ),
    FieldType(
        DatetimeField,
        "datetime",
        "Moment in [start, end] to the second, in an IANA timezone (default UTC); "
        "uniform or normal around center.",
        "2024-03-09T14:05:31+09:00",
        datetime_column,
        datetime_capacity,
        datetime_from_index,
    ),
    FieldType(
        TimeField,
        "datetime",
        "Time of day in [start, end] to the second, as HH:MM:SS.",
        "14:05:31",
        time_column,
        time_capacity,
        time_from_index,
    ),
    FieldType(
        TimestampUnixField,
        "datetime",
        "Unix time (seconds, or milliseconds with unit 'ms') in [start, end].",
        "1709960731",
        timestamp_unix_column,
        timestamp_unix_capacity,
        timestamp_unix_from_index,
    ),
    FieldType(
        DateOfBirthField,
        "datetime",
        "Birth date of someone aged min_age..max_age on as_of (default 2026-01-01).",
        "1987-06-14",
        date_of_birth_column,
        date_of_birth_capacity,
        date_of_birth_from_index,
    ),
)
