"""The service's daily statistics: each UTC day's ended jobs rolled up into daily_statistics
(the whole service) and usage_statistics (per user), and read back for a range of days.

A job counts on the UTC day it ended (succeeded, failed or was cancelled). Rolling up a day
again replaces its rows, so a late or repeated roll-up is always safe.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import asyncpg
import msgspec

from storage.queries import query

# A job that ends at 23:59:59 commits a moment later with that time: a day is rolled up by
# `roll_up_since_last` only once this much of the next one has passed.
SETTLE = dt.timedelta(minutes=10)


class FormatCount(msgspec.Struct, frozen=True):
    jobs: int  # that ended, whatever their outcome
    rows: int  # generated: by the jobs that made a file of their own
    bytes: int


class FieldTypeCount(msgspec.Struct, frozen=True):
    jobs: int  # with at least one field of the type
    fields: int  # of the type, in all those jobs' tables


class StatisticsTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Several days together: sums, and the users with a job on any of them."""

    jobs_total: int
    jobs_succeeded: int
    jobs_failed: int
    jobs_cancelled: int
    jobs_reused: int
    unique_users: int
    rows_generated: int
    bytes_generated: int
    by_format: dict[str, FormatCount]
    by_field_type: dict[str, FieldTypeCount]
    # The schema assistant: requests to Claude, and the tokens they spent.
    assistant_requests: int
    assistant_input_tokens: int
    assistant_output_tokens: int


class DayStatistics(StatisticsTotals, frozen=True, kw_only=True):
    """One UTC day of the whole service. Succeeded jobs include those that reused an earlier
    job's file (`jobs_reused`), which generated nothing: their rows, bytes and durations are
    not counted."""

    day: dt.date
    # From start to end of the jobs that generated a file (interpolated); null without one.
    duration_p50_seconds: float | None
    duration_p95_seconds: float | None


_SUMMED = (
    "jobs_total",
    "jobs_succeeded",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_reused",
    "rows_generated",
    "bytes_generated",
    "assistant_requests",
    "assistant_input_tokens",
    "assistant_output_tokens",
)


def _day(row: asyncpg.Record) -> DayStatistics:
    return msgspec.convert(dict(row), DayStatistics)


async def roll_up_day(pool: asyncpg.Pool, day: dt.date) -> DayStatistics:
    """The statistics of `day`, computed from its ended jobs and stored in place of any
    earlier roll-up of that day (in one transaction: a reader sees the old rows or the new)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(query("lock_statistics_day"), day)
        await conn.execute(query("clear_statistics_day"), day)
        await conn.execute(query("roll_up_statistics_day"), day)
        return _day(await conn.fetchrow(query("roll_up_assistant_day"), day))


async def roll_up_since_last(
    pool: asyncpg.Pool, now: dt.datetime | None = None
) -> list[DayStatistics]:
    """Rolls up each day from the first day a job ended through the last ended day that has
    no roll-up made after it settled; returns them, oldest first. Run it daily, at any time:
    a day missed, or rolled up by hand before it ended, is caught up on the next run."""
    now = now or dt.datetime.now(dt.UTC)
    last_ended = (now - SETTLE).astimezone(dt.UTC).date() - dt.timedelta(days=1)
    first_job_day: dt.date | None = await pool.fetchval(query("first_job_end_day"))
    first = min(first_job_day or last_ended, last_ended)
    days = await pool.fetch(query("days_to_roll_up"), first, last_ended, SETTLE.total_seconds())
    return [await roll_up_day(pool, row["day"]) for row in days]


async def statistics_between(
    pool: asyncpg.Pool, first: dt.date, last: dt.date
) -> tuple[list[DayStatistics], StatisticsTotals]:
    """The rolled-up days from `first` to `last` (both included; days not rolled up are
    left out), and their totals."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(query("daily_statistics_between"), first, last)
        unique_users: int = await conn.fetchval(query("unique_users_between"), first, last)
    days = [_day(row) for row in rows]
    return days, _totals(days, unique_users)


def _totals(days: list[DayStatistics], unique_users: int) -> StatisticsTotals:
    sums = {name: sum(getattr(day, name) for day in days) for name in _SUMMED}
    formats: dict[str, Counter[str]] = {}
    field_types: dict[str, Counter[str]] = {}
    for day in days:
        _add(formats, day.by_format)
        _add(field_types, day.by_field_type)
    return StatisticsTotals(
        **sums,
        unique_users=unique_users,
        by_format={name: FormatCount(**counts) for name, counts in sorted(formats.items())},
        by_field_type={
            name: FieldTypeCount(**counts) for name, counts in sorted(field_types.items())
        },
    )


def _add(into: dict[str, Counter[str]], counts: dict[str, Any]) -> None:
    for name, count in counts.items():
        into.setdefault(name, Counter()).update(msgspec.structs.asdict(count))
