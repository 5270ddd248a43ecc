"""The job history: every step of a job recorded in a table partitioned by UTC month, whose
coming months' partitions the periodic task makes ahead of time."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from schedules.partitions import create_history_partitions
from tests.integration.test_api import SMALL
from tests.integration.test_generation import new_job
from tests.integration.test_periodic import fetch
from tests.services import job_when, run_sql, wait_until
from workers.resources import WorkerResources


def month_start(months_ahead: int) -> dt.datetime:
    """Midnight UTC on the first day of the month `months_ahead` from this one."""
    now = dt.datetime.now(dt.UTC)
    years, month = divmod(now.month - 1 + months_ahead, 12)
    return dt.datetime(now.year + years, month + 1, 1, tzinfo=dt.UTC)


def partition_of(start: dt.datetime) -> str:
    return f"job_history_{start:%Y_%m}"


async def partitions(res: WorkerResources) -> list[str]:
    rows = await res.pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'job_history'::regclass ORDER BY 1"
    )
    return [row["relname"] for row in rows]


async def add_history_row(res: WorkerResources, at: dt.datetime) -> uuid.UUID:
    job_id = uuid.uuid4()
    await res.pool.execute(
        "INSERT INTO job_history (at, job_id, user_id, event, format, field_types, rows_total,"
        " rows_done, attempt, reused) VALUES ($1, $2, 1, 'created', 'csv', '{}', 1, 0, 0, false)",
        at,
        job_id,
    )
    return job_id


async def partition_holding(res: WorkerResources, job_id: uuid.UUID) -> str:
    name: str = await res.pool.fetchval(
        "SELECT tableoid::regclass::text FROM job_history WHERE job_id = $1", job_id
    )
    return name


async def test_the_next_months_partitions_are_made_ahead_and_making_them_again_is_harmless(
    quiet_resources: WorkerResources,
) -> None:
    res = quiet_resources
    ahead = [partition_of(month_start(n)) for n in range(4)]
    for name in ahead[1:]:
        await res.pool.execute(f"DROP TABLE {name}")
    assert await partitions(res) == [ahead[0], "job_history_default"]

    assert await create_history_partitions(res.pool, 3) == ahead[1:]
    assert await partitions(res) == [*ahead, "job_history_default"]
    assert await create_history_partitions(res.pool, 3) == []
    assert await partitions(res) == [*ahead, "job_history_default"]


async def test_rows_land_in_their_utc_month_and_leave_the_default_partition_when_it_is_made(
    quiet_resources: WorkerResources,
) -> None:
    res = quiet_resources
    next_month = month_start(1)
    last_moment = await add_history_row(res, next_month - dt.timedelta(microseconds=1))
    first_moment = await add_history_row(res, next_month)
    assert await partition_holding(res, last_moment) == partition_of(month_start(0))
    assert await partition_holding(res, first_moment) == partition_of(next_month)

    # A month no partition was made for (no scheduler ran for months): the insert still works.
    far = month_start(5)
    early = await add_history_row(res, far + dt.timedelta(days=3))
    assert await partition_holding(res, early) == "job_history_default"
    assert await create_history_partitions(res.pool, 5) == [
        partition_of(month_start(4)),
        partition_of(far),
    ]
    assert await partition_holding(res, early) == partition_of(far)
    assert await res.pool.fetchval("SELECT count(*) FROM job_history_default") == 0


def test_a_jobs_life_is_recorded_from_submit_to_expiry(
    client: httpx.Client, stack_env: dict[str, str]
) -> None:
    database_url = stack_env["DATABASE_URL"]
    # No seed: a seeded spec this user sent before would reuse that job's file (born
    # succeeded, never started).
    submitted = client.post("/v1/jobs", json={**SMALL, "seed": None})
    assert submitted.status_code == 202, submitted.text
    done = job_when(client, submitted.json()["url"], lambda j: j["state"] == "succeeded", 60)
    job_id = uuid.UUID(done["id"])
    # Its file's time is up: the scheduler's expiry task expires it.
    run_sql(
        database_url,
        "UPDATE jobs SET expires_at = now() - interval '1 second' WHERE id = $1",
        job_id,
    )

    def history_once_expired() -> list[Any] | None:
        rows = fetch(
            database_url,
            "SELECT *, tableoid::regclass::text AS partition FROM job_history"
            " WHERE job_id = $1 ORDER BY at",
            job_id,
        )
        return rows if rows[-1]["event"] == "expired" else None

    history = wait_until(history_once_expired, 30, "the expiry to be recorded")
    assert [row["event"] for row in history] == ["created", "started", "succeeded", "expired"]
    this_month = partition_of(month_start(0))
    assert {row["partition"] for row in history} == {this_month}
    created, _, succeeded, _ = history
    assert created["rows_total"] == SMALL["rows"] and created["rows_done"] == 0
    assert created["format"] == "csv"
    assert created["field_types"] == ["email", "full_name", "integer", "sequence"]
    assert succeeded["rows_done"] == SMALL["rows"]
    assert succeeded["size_bytes"] == done["file"]["size_bytes"]
    assert 0 < succeeded["duration_seconds"] < 60
    assert not succeeded["reused"]


async def test_a_worker_taking_over_a_running_job_records_its_start(
    quiet_resources: WorkerResources,
) -> None:
    # The first worker stopped without a word: the job stays running until another takes it
    # over after the lease, and that claim is a start of its own, as the first one was.
    res = quiet_resources
    job = await new_job(res, rows=10)
    assert await res.jobs.claim(job.id, 60, 5) is not None
    await res.pool.execute(
        "UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", job.id
    )
    assert await res.jobs.claim(job.id, 60, 5) is not None
    rows = await res.pool.fetch(
        "SELECT event, attempt FROM job_history WHERE job_id = $1 ORDER BY at, attempt", job.id
    )
    assert [(row["event"], row["attempt"]) for row in rows] == [
        ("created", 0),
        ("started", 1),
        ("started", 2),
    ]
