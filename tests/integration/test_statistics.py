"""The daily statistics: each UTC day's ended jobs rolled up into exact counts, breakdowns and
durations, for the whole service and per user; a day rolled up again is replaced; and only
administrators read them, over GET /v1/admin/stats."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from core.settings import Settings
from storage.database import create_pool
from storage.statistics import DayStatistics, roll_up_day, roll_up_since_last
from tests.services import (
    ROOT,
    Stack,
    api_of_its_own,
    create_database,
    drop_database,
    new_api_key,
    run_sql,
    wait_until,
)

DAY_1 = dt.date(2025, 3, 10)
DAY_2 = dt.date(2025, 3, 11)
UTC = dt.UTC


def at(day: dt.date, hour: int = 12, second: float = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), UTC) + dt.timedelta(seconds=second)


def spec(*types: str, tables: tuple[tuple[str, ...], ...] = ()) -> dict[str, Any]:
    """A spec as stored: the fields' types are what the roll-up reads."""
    return {
        "fields": [{"name": f"f{i}", "type": t} for i, t in enumerate(types)],
        "tables": [
            {"name": f"t{n}", "fields": [{"name": f"g{i}", "type": t} for i, t in enumerate(ts)]}
            for n, ts in enumerate(tables)
        ],
    }


def ended_job(
    database_url: str,
    user_id: int,
    *,
    state: str,
    format: str,
    fields: dict[str, Any],
    rows: int,
    size: int | None,
    finished: dt.datetime,
    seconds: float,
    reused_from: uuid.UUID | None = None,
) -> uuid.UUID:
    """A job that ended at `finished` after `seconds`, written straight into the database
    (no worker could make it end on a chosen day)."""
    job_id = uuid.uuid4()
    run_sql(
        database_url,
        "INSERT INTO jobs (id, user_id, name, spec, format, rows_total, rows_done, "
        "engine_version, enqueued_at, state, size_bytes, started_at, finished_at, reused_from) "
        "VALUES ($1, $2, 'x', $3::jsonb, $4, $5, $5, '0', $6, $7, $8, $6, $9, $10)",
        job_id,
        user_id,
        json.dumps(fields),
        format,
        rows,
        finished - dt.timedelta(seconds=seconds),
        state,
        size,
        finished,
        reused_from,
    )
    return job_id


@dataclass
class World:
    database_url: str
    env: dict[str, str]
    keys: dict[str, str]  # user name → API key
    ids: dict[str, int]  # user name → user id


@pytest.fixture(scope="module")
def world(stack_env: dict[str, str]) -> Iterator[World]:
    """A database of its own (no other test's jobs in its counts) with three users' jobs on
    DAY_1 and DAY_2."""
    database_url = asyncio.run(create_database("tdbuddy_stats"))
    env = {**stack_env, "DATABASE_URL": database_url}
    try:
        keys = {name: new_api_key(env, name) for name in ("ann", "ben", "cat", "dee")}
        ids = asyncio.run(_user_ids(database_url))
        url = database_url
        ann, ben, cat = ids["ann"], ids["ben"], ids["cat"]
        first = ended_job(url, ann, state="succeeded", format="csv",
                          fields=spec("email", "email", "full_name"), rows=100, size=1000,
                          finished=at(DAY_1, 1), seconds=10)  # fmt: skip
        ended_job(url, ann, state="succeeded", format="json",
                  fields=spec("email", tables=(("sequence", "reference"),)), rows=200, size=3000,
                  finished=at(DAY_1, 2), seconds=20)  # fmt: skip
        ended_job(url, ben, state="failed", format="csv", fields=spec("sequence"), rows=500,
                  size=None, finished=at(DAY_1, 3), seconds=5)  # fmt: skip
        # The same spec as ann's first: its file is handed out again, nothing is generated.
        ended_job(url, ben, state="succeeded", format="csv",
                  fields=spec("email", "email", "full_name"), rows=100, size=1000,
                  finished=at(DAY_1, 4), seconds=0, reused_from=first)  # fmt: skip
        # Succeeded in the day's last instant; its file has expired since.
        ended_job(url, cat, state="expired", format="parquet", fields=spec("full_name"),
                  rows=1000, size=7000, finished=at(DAY_1, 23, 3599.999), seconds=40)  # fmt: skip
        ended_job(url, cat, state="cancelled", format="csv", fields=spec("email"), rows=10,
                  size=None, finished=at(DAY_1, 5), seconds=1)  # fmt: skip
        # DAY_2 from its first instant; a job not ended counts nowhere.
        ended_job(url, ben, state="succeeded", format="tsv", fields=spec("email"), rows=10,
                  size=50, finished=at(DAY_2, 0), seconds=4)  # fmt: skip
        ended_job(url, ann, state="succeeded", format="csv", fields=spec("full_name"), rows=20,
                  size=60, finished=at(DAY_2, 9), seconds=6)  # fmt: skip
        # The schema assistant: ann on both days, dee (who ran no job) on DAY_1.
        for user, day, requests, tokens_in, tokens_out in (
            (ann, DAY_1, 2, 1000, 200),
            (ids["dee"], DAY_1, 1, 500, 100),
            (ann, DAY_2, 1, 10, 5),
        ):
            run_sql(
                url,
                "INSERT INTO assistant_usage (user_id, day, requests, input_tokens, "
                "output_tokens) VALUES ($1, $2, $3, $4, $5)",
                user, day, requests, tokens_in, tokens_out,
            )  # fmt: skip
        run_sql(
            url,
            "INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version, "
            "enqueued_at) VALUES (gen_random_uuid(), $1, 'x', '{}', 'csv', 5, '0', $2)",
            cat,
            at(DAY_2, 10),
        )
        yield World(database_url, env, keys, ids)
    finally:
        asyncio.run(drop_database(database_url))


async def _user_ids(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return {row["name"]: row["id"] for row in await conn.fetch("SELECT id, name FROM users")}
    finally:
        await conn.close()


@pytest.fixture
async def pool(world: World) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(Settings.from_env(world.env).database)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def admin_api(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with api_of_its_own(world.env, tmp_path_factory.mktemp("stats-logs")) as api:
        yield api


def tdbuddy(env: dict[str, str], *args: str) -> str:
    """What the command line prints; fails on a non-zero exit."""
    run = subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


DAY_1_FORMATS = {
    # ann's csv, ben's failed one and his reused one, cat's cancelled one; only ann's
    # generated a file.
    "csv": {"jobs": 4, "rows": 100, "bytes": 1000},
    "json": {"jobs": 1, "rows": 200, "bytes": 3000},
    "parquet": {"jobs": 1, "rows": 1000, "bytes": 7000},
}
DAY_1_FIELD_TYPES = {
    "email": {"jobs": 4, "fields": 6},
    "full_name": {"jobs": 3, "fields": 3},
    "sequence": {"jobs": 2, "fields": 2},  # one in a further table
    "reference": {"jobs": 1, "fields": 1},
}


async def test_a_day_rolls_up_to_exact_counts_breakdowns_and_durations(
    pool: asyncpg.Pool, world: World
) -> None:
    day = await roll_up_day(pool, DAY_1)
    counts = msgspec.structs.replace(
        day, by_format={}, by_field_type={}, duration_p50_seconds=None, duration_p95_seconds=None
    )
    assert counts == DayStatistics(
        day=DAY_1,
        jobs_total=6,
        jobs_succeeded=4,  # the expired one and the reused one included
        jobs_failed=1,
        jobs_cancelled=1,
        jobs_reused=1,
        unique_users=3,
        rows_generated=1300,
        bytes_generated=11000,
        by_format={},
        by_field_type={},
        duration_p50_seconds=None,
        duration_p95_seconds=None,
        assistant_requests=3,
        assistant_input_tokens=1500,
        assistant_output_tokens=300,
    )
    # Of the jobs that generated a file, 10, 20 and 40 s: interpolated percentiles.
    assert day.duration_p50_seconds == pytest.approx(20.0)
    assert day.duration_p95_seconds == pytest.approx(38.0)
    assert _plain(day.by_format) == DAY_1_FORMATS
    assert _plain(day.by_field_type) == DAY_1_FIELD_TYPES

    day_2 = await roll_up_day(pool, DAY_2)
    assert (day_2.jobs_total, day_2.jobs_succeeded, day_2.unique_users) == (2, 2, 2)
    assert (day_2.rows_generated, day_2.bytes_generated) == (30, 110)
    assert [day_2.duration_p50_seconds, day_2.duration_p95_seconds] == pytest.approx([5.0, 5.9])

    per_user = await _usage(pool, DAY_1)
    no_assistant = {"assistant_requests": 0, "assistant_input_tokens": 0,
                    "assistant_output_tokens": 0}  # fmt: skip
    assert per_user == {
        world.ids["ann"]: {
            "jobs_total": 2, "jobs_succeeded": 2, "jobs_failed": 0, "jobs_cancelled": 0,
            "rows_generated": 300, "bytes_generated": 4000,
            "by_format": {"csv": {"jobs": 1, "rows": 100, "bytes": 1000},
                          "json": {"jobs": 1, "rows": 200, "bytes": 3000}},
            "assistant_requests": 2, "assistant_input_tokens": 1000,
            "assistant_output_tokens": 200,
        },
        world.ids["ben"]: {
            "jobs_total": 2, "jobs_succeeded": 1, "jobs_failed": 1, "jobs_cancelled": 0,
            "rows_generated": 0, "bytes_generated": 0,
            "by_format": {"csv": {"jobs": 2, "rows": 0, "bytes": 0}},
            **no_assistant,
        },
        world.ids["cat"]: {
            "jobs_total": 2, "jobs_succeeded": 1, "jobs_failed": 0, "jobs_cancelled": 1,
            "rows_generated": 1000, "bytes_generated": 7000,
            "by_format": {"csv": {"jobs": 1, "rows": 0, "bytes": 0},
                          "parquet": {"jobs": 1, "rows": 1000, "bytes": 7000}},
            **no_assistant,
        },
        # Asked Claude only: a row of the assistant's use, no jobs.
        world.ids["dee"]: {
            "jobs_total": 0, "jobs_succeeded": 0, "jobs_failed": 0, "jobs_cancelled": 0,
            "rows_generated": 0, "bytes_generated": 0, "by_format": {},
            "assistant_requests": 1, "assistant_input_tokens": 500,
            "assistant_output_tokens": 100,
        },
    }  # fmt: skip


async def test_a_day_rolled_up_again_is_replaced(pool: asyncpg.Pool, world: World) -> None:
    day = dt.date(2025, 4, 1)
    await asyncio.to_thread(
        ended_job, world.database_url, world.ids["ben"], state="succeeded", format="csv",
        fields=spec("email"), rows=7, size=70, finished=at(day), seconds=3,
    )  # fmt: skip
    before = await roll_up_day(pool, day)
    assert (before.jobs_total, before.unique_users, before.rows_generated) == (1, 1, 7)
    # A job that ended that day but was written late (a slow commit): the next roll-up
    # counts it, in place of the first one's rows.
    await asyncio.to_thread(
        ended_job, world.database_url, world.ids["cat"], state="failed", format="sql",
        fields=spec("uuid"), rows=9, size=None, finished=at(day, 20), seconds=2,
    )  # fmt: skip
    after = await roll_up_day(pool, day)
    assert (after.jobs_total, after.jobs_failed, after.unique_users) == (2, 1, 2)
    assert _plain(after.by_format) == {
        "csv": {"jobs": 1, "rows": 7, "bytes": 70},
        "sql": {"jobs": 1, "rows": 0, "bytes": 0},
    }
    assert sorted(await _usage(pool, day)) == sorted([world.ids["ben"], world.ids["cat"]])
    assert await pool.fetchval("SELECT count(*) FROM daily_statistics WHERE day = $1", day) == 1


async def test_rolling_up_since_last_catches_up_on_ended_days_only(
    stack_env: dict[str, str],
) -> None:
    database_url = await create_database("tdbuddy_stats_since")
    pool = await create_pool(
        Settings.from_env({**stack_env, "DATABASE_URL": database_url}).database
    )
    try:
        user_id = await pool.fetchval("INSERT INTO users (name) VALUES ('dan') RETURNING id")
        finished = at(dt.date(2025, 5, 7), 8)
        await asyncio.to_thread(
            ended_job, database_url, user_id, state="succeeded", format="csv",
            fields=spec("email"), rows=1, size=1, finished=finished, seconds=1,
        )  # fmt: skip
        # Five minutes into 05-10: the day just ended may still be committing its last jobs.
        done = await roll_up_since_last(pool, now=at(dt.date(2025, 5, 10), 0, 300))
        assert [(d.day.isoformat(), d.jobs_total) for d in done] == [
            ("2025-05-07", 1),  # from the first day a job ended
            ("2025-05-08", 0),
        ]
        done = await roll_up_since_last(pool, now=at(dt.date(2025, 5, 10), 0, 900))
        assert [d.day.isoformat() for d in done] == ["2025-05-09"]
        assert await roll_up_since_last(pool, now=at(dt.date(2025, 5, 10), 23)) == []
    finally:
        await pool.close()
        await drop_database(database_url)


async def test_days_rolled_up_by_hand_out_of_turn_or_too_early_are_caught_up(
    stack_env: dict[str, str],
) -> None:
    database_url = await create_database("tdbuddy_stats_by_hand")
    pool = await create_pool(
        Settings.from_env({**stack_env, "DATABASE_URL": database_url}).database
    )
    try:
        user_id = await pool.fetchval("INSERT INTO users (name) VALUES ('eve') RETURNING id")
        today = dt.datetime.now(UTC).date()
        first = today - dt.timedelta(days=2)
        await asyncio.to_thread(
            ended_job, database_url, user_id, state="succeeded", format="csv",
            fields=spec("email"), rows=1, size=1, finished=at(first, 8), seconds=1,
        )  # fmt: skip
        # An operator rolls up today by hand, before it has ended; a job ends after that.
        assert (await roll_up_day(pool, today)).jobs_total == 0
        await asyncio.to_thread(
            ended_job, database_url, user_id, state="failed", format="csv",
            fields=spec("email"), rows=1, size=None,
            finished=dt.datetime.combine(today, dt.time(), UTC), seconds=1,
        )  # fmt: skip
        # The nightly run after today ends: the two days before the hand-made roll-up, and
        # today again, now that it has ended.
        done = await roll_up_since_last(pool, now=at(today + dt.timedelta(days=1), 0, 900))
        assert [(d.day, d.jobs_total) for d in done] == [
            (first, 1),
            (first + dt.timedelta(days=1), 0),
            (today, 1),
        ]
    finally:
        await pool.close()
        await drop_database(database_url)


def test_admins_read_the_days_and_their_totals(world: World, admin_api: Stack) -> None:
    for day in (DAY_1, DAY_2):
        printed = tdbuddy(world.env, "stats", "roll-up", "--day", day.isoformat())
        assert printed.startswith(f"{day}: ")
    line = tdbuddy(world.env, "stats", "roll-up", "--day", DAY_1.isoformat())
    assert "6 jobs (4 succeeded, 1 failed, 1 cancelled) of 3 users, 1,300 rows" in line
    assert "assistant: 3 requests, 1,800 tokens" in line
    with admin_api.client(world.keys["ann"]) as ann:
        params = {"from": DAY_1.isoformat(), "to": "2025-03-12"}
        refused = ann.get("/v1/admin/stats", params=params)  # ann's key is now kept in memory
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"

        tdbuddy(world.env, "users", "set-admin", "ann")
        # Announced to the API at once, well before the 60 s its callers are kept.
        report = wait_until(lambda: _ok(ann.get("/v1/admin/stats", params=params)), 10, "admin")
        assert (report["from"], report["to"]) == ("2025-03-10", "2025-03-12")
        assert [day["day"] for day in report["days"]] == ["2025-03-10", "2025-03-11"]
        assert report["days_not_rolled_up"] == ["2025-03-12"]
        first = report["days"][0]
        assert (first["jobs_total"], first["unique_users"], first["rows_generated"]) == (6, 3, 1300)
        assert first["by_format"] == DAY_1_FORMATS
        assert first["by_field_type"] == DAY_1_FIELD_TYPES
        assert first["duration_p50_seconds"] == pytest.approx(20.0)
        assert first["duration_p95_seconds"] == pytest.approx(38.0)
        totals = report["totals"]
        assert totals == {
            "jobs_total": 8,
            "jobs_succeeded": 6,
            "jobs_failed": 1,
            "jobs_cancelled": 1,
            "jobs_reused": 1,
            "unique_users": 3,  # ann and ben on both days are counted once
            "rows_generated": 1330,
            "bytes_generated": 11110,
            "by_format": {**DAY_1_FORMATS, "tsv": {"jobs": 1, "rows": 10, "bytes": 50},
                          "csv": {"jobs": 5, "rows": 120, "bytes": 1060}},
            "by_field_type": {**DAY_1_FIELD_TYPES, "email": {"jobs": 5, "fields": 7},
                              "full_name": {"jobs": 4, "fields": 4}},
            "assistant_requests": 4,
            "assistant_input_tokens": 1510,
            "assistant_output_tokens": 305,
        }  # fmt: skip

        tdbuddy(world.env, "users", "set-admin", "ann", "--off")
        wait_until(lambda: ann.get("/v1/admin/stats", params=params).status_code == 403, 10, "403")


def test_only_administrators_read_statistics(world: World, admin_api: Stack) -> None:
    params = {"from": DAY_1.isoformat(), "to": DAY_2.isoformat()}
    with admin_api.client(world.keys["ben"]) as ben:
        answer = ben.get("/v1/admin/stats", params=params)
        assert answer.status_code == 403
        assert answer.json() == {
            "error": "forbidden",
            "detail": "only an administrator of the service may read this",
            "field": None,
        }
    with httpx.Client(base_url=admin_api.base_url) as anonymous:
        assert anonymous.get("/v1/admin/stats", params=params).status_code == 401


@pytest.fixture(scope="module")
def cat_the_admin(world: World, admin_api: Stack) -> Iterator[httpx.Client]:
    """A client of an administrator whose key the API has not seen before."""
    tdbuddy(world.env, "users", "set-admin", "cat")
    with admin_api.client(world.keys["cat"]) as client:
        yield client


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "2025-13-01", "to": "2025-03-11"}, 400, "from"),
        ({"from": "2025-03-10", "to": "yesterday"}, 400, "to"),
        ({"from": "2025-03-10"}, 400, "to"),
        ({"from": "2025-03-11", "to": "2025-03-10"}, 422, "to"),
        ({"from": "2024-01-01", "to": "2025-01-01"}, 422, "to"),  # 367 days
    ],
)
def test_a_bad_range_is_refused_naming_the_parameter(
    cat_the_admin: httpx.Client, params: dict[str, str], status: int, field: str
) -> None:
    answer = cat_the_admin.get("/v1/admin/stats", params=params)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    leap_year = {"from": "2024-01-01", "to": "2024-12-31"}
    assert cat_the_admin.get("/v1/admin/stats", params=leap_year).status_code == 200  # 366 days


def _ok(response: httpx.Response) -> dict[str, Any] | None:
    if response.status_code == 403:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _plain(counts: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {name: msgspec.structs.asdict(count) for name, count in counts.items()}


async def _usage(pool: asyncpg.Pool, day: dt.date) -> dict[int, dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT user_id, jobs_total, jobs_succeeded, jobs_failed, jobs_cancelled, "
        "rows_generated, bytes_generated, by_format, assistant_requests, "
        "assistant_input_tokens, assistant_output_tokens FROM usage_statistics WHERE day = $1",
        day,
    )
    return {row["user_id"]: {k: v for k, v in row.items() if k != "user_id"} for row in rows}
