"""Cadences: which tick is due, so that every scheduler computes the same ones."""

from __future__ import annotations

import datetime as dt

from schedules.periodic import DailyAt, Every

NOON = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)


def test_an_interval_ticks_at_multiples_of_itself_whatever_the_clock_of_the_scheduler() -> None:
    every = Every(60)
    assert every.latest(NOON + dt.timedelta(seconds=59.9)) == NOON
    assert every.latest(NOON) == NOON
    assert every.following(NOON) == NOON + dt.timedelta(minutes=1)
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert every.latest((NOON + dt.timedelta(seconds=30)).astimezone(tokyo)) == NOON


def test_a_daily_time_is_due_from_that_time_until_the_same_time_tomorrow() -> None:
    daily = DailyAt.parse("03:00")
    today = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
    assert daily.latest(NOON) == today
    assert daily.latest(today) == today
    assert daily.latest(today - dt.timedelta(microseconds=1)) == today - dt.timedelta(days=1)
    assert daily.following(NOON) == today + dt.timedelta(days=1)
