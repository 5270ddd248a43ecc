"""Dates and times as a user sees them: zones kept, ranges held, ages right, names localised."""

import datetime as dt
import zoneinfo
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from generators.engine import BLOCK_ROWS
from generators.errors import SpecError
from tests.unit.making import made_column


def values(field: dict[str, Any], rows: int = 5000, locale: str = "en_US") -> pa.Array:
    return made_column(field, rows=rows, seed=11, locale=locale)


def test_datetimes_carry_the_requested_zone_and_lie_in_its_wall_clock_range() -> None:
    column = values(
        {
            "type": "datetime",
            "timezone": "Asia/Tokyo",
            "start": "2024-03-01T09:00:00",
            "end": "2024-03-01T18:00:00",
        }
    )
    assert column.type == pa.timestamp("us", tz="Asia/Tokyo")
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    for moment in column.to_pylist():
        assert moment.utcoffset() == dt.timedelta(hours=9)
        assert dt.datetime(2024, 3, 1, 9, tzinfo=tokyo) <= moment
        assert moment <= dt.datetime(2024, 3, 1, 18, tzinfo=tokyo)


def test_a_range_with_an_offset_means_that_instant_in_any_zone() -> None:
    column = values(
        {
            "type": "datetime",
            "timezone": "America/New_York",
            "start": "2024-07-01T00:00:00Z",
            "end": "2024-07-01T01:00:00Z",
        }
    )
    start = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
    assert all(start <= m <= start + dt.timedelta(hours=1) for m in column.to_pylist())
    assert {m.utcoffset() for m in column.to_pylist()} == {dt.timedelta(hours=-4)}


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        values({"type": "datetime", "timezone": "Asia/Atlantis"})
    assert caught.value.field == "fields[0].timezone"


def test_normal_dates_cluster_around_the_center() -> None:
    column = values(
        {
            "type": "date",
            "start": "2020-01-01",
            "end": "2020-12-31",
            "distribution": "normal",
            "center": "2020-07-01",
            "stddev_days": 10,
        },
        rows=BLOCK_ROWS,
    )
    days = np.array([(d - dt.date(2020, 7, 1)).days for d in column.to_pylist()])
    assert abs(days.mean()) < 0.3
    assert abs(days.std() - 10) < 0.3


def test_normal_datetimes_stay_inside_the_range() -> None:
    column = values(
        {
            "type": "datetime",
            "start": "2024-01-01T00:00:00",
            "end": "2024-01-10T00:00:00",
            "distribution": "normal",
            "center": "2024-01-09T00:00:00",
            "stddev_days": 3,
        }
    )
    low, high = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 10, tzinfo=dt.UTC)
    assert all(low <= m <= high for m in column.to_pylist())


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@pytest.mark.parametrize("as_of", ["2026-01-01", "2024-02-29"])
def test_birth_dates_give_ages_within_bounds_on_as_of(as_of: str) -> None:
    column = values(
        {"type": "date_of_birth", "min_age": 20, "max_age": 29, "as_of": as_of}, rows=20_000
    )
    ages = {age_on(born, dt.date.fromisoformat(as_of)) for born in column.to_pylist()}
    assert ages == set(range(20, 30))


def test_birth_dates_do_not_depend_on_the_day_they_are_made() -> None:
    field = {"type": "date_of_birth"}
    assert values(field).equals(values(field))
    assert min(values(field).to_pylist()) >= dt.date(1945, 1, 2)


def test_times_and_unix_timestamps_lie_in_range() -> None:
    times = values({"type": "time", "start": "09:00:00", "end": "17:30:00"}).to_pylist()
    assert all(dt.time(9) <= t <= dt.time(17, 30) for t in times)
    stamps = values(
        {
            "type": "timestamp_unix",
            "unit": "ms",
            "start": "2024-01-01T00:00:00",
            "end": "2024-01-01T00:00:09",
        }
    ).to_pylist()
    assert min(stamps) >= 1_704_067_200_000 and max(stamps) <= 1_704_067_209_999


def test_month_and_weekday_names_are_localised() -> None:
    assert set(values({"type": "month_name"}, locale="ja_JP").to_pylist()) == {
        f"{m}月" for m in range(1, 13)
    }
    assert "月曜日" in values({"type": "day_of_week"}, locale="ja_JP").to_pylist()
    assert "March" in values({"type": "month_name"}).to_pylist()
    assert "Mittwoch" in values({"type": "day_of_week"}, locale="de_DE").to_pylist()


def test_time_zones_are_iana_names_weighted_to_the_locale() -> None:
    zones = values({"type": "timezone", "local_share": 0.6}, locale="ja_JP").to_pylist()
    assert all(zoneinfo.ZoneInfo(z) for z in set(zones))
    assert 0.57 < zones.count("Asia/Tokyo") / len(zones) < 0.63
    years = values({"type": "year", "min": 1990, "max": 1999}).to_pylist()
    assert set(years) == set(range(1990, 2000))


@pytest.mark.parametrize(
    "field",
    [
        {"type": "date", "start": "1400-01-01"},
        {"type": "datetime"},
        {"type": "timestamp_unix"},
    ],
)
def test_unique_dates_never_repeat_over_200_000_rows(field: dict[str, Any]) -> None:
    column = values({**field, "unique": True}, rows=200_000)
    assert len(column.unique()) == 200_000


def test_unique_times_and_names_fill_their_capacity() -> None:
    assert len(values({"type": "time", "unique": True}, rows=86_400).unique()) == 86_400
    births = values({"type": "date_of_birth", "min_age": 0, "max_age": 150, "unique": True}, 55_152)
    assert len(births.unique()) == 55_152
    assert len(values({"type": "month_name", "unique": True}, rows=12).unique()) == 12
    assert len(values({"type": "day_of_week", "unique": True}, rows=7).unique()) == 7
