"""Periodic tasks: the scheduler sends each tick of each task once, however many schedulers
run, a worker runs it once however often its message comes, and a tick missed while no
scheduler ran is caught up once."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from schedules.periodic import DailyAt, Every, send_periodic_tasks, send_tick
from storage.ticks import TickRepository
from tests.integration.test_dispatch import next_message, on_queue_of_its_own
from tests.integration.test_generation import new_job
from tests.services import Process, Stack, create_database, drop_database, run_sql, wait_until
from workers.broker import build_broker
from workers.messages import periodic_queue
from workers.periodic import run_periodic_task
from workers.resources import WorkerResources


def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.fixture
def own_database() -> Iterator[str]:
    """A migrated database that only this test's processes use."""
    url = asyncio.run(create_database("tdbuddy_periodic"))
    yield url
    asyncio.run(drop_database(url))


def own_stack(stack_env: dict[str, str], database_url: str, log_dir: Path, **env: str) -> Stack:
    """Processes on `database_url` and a queue of their own; tasks every second."""
    return Stack(
        {
            **stack_env,
            "DATABASE_URL": database_url,
            "BROKER_QUEUE": f"periodic-{uuid.uuid4().hex[:8]}",
            "EXPIRY_INTERVAL_SECONDS": "1",
            "IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS": "1",
            "STALE_UPLOADS_INTERVAL_SECONDS": "1",
            **env,
        },
        log_dir,
    )


def expiring_job(database_url: str) -> uuid.UUID:
    """A succeeded job whose file's time is up, with no file to delete."""
    job_id = uuid.uuid4()
    run_sql(
        database_url,
        "WITH owner AS (INSERT INTO users (name) VALUES ($2) RETURNING id)"
        " INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version, state,"
        " enqueued_at, expires_at)"
        " SELECT $1, id, 'old', '{}', 'csv', 1, 'test', 'succeeded', now(),"
        " now() - interval '1 second' FROM owner",
        job_id,
        f"periodic-{job_id.hex[:8]}",
    )
    return job_id


def done_ticks(database_url: str, task: str, after: dt.datetime | None = None) -> int:
    rows = fetch(
        database_url,
        "SELECT count(*) AS n FROM scheduled_ticks"
        " WHERE task = $1 AND done_at IS NOT NULL AND tick > $2",
        task,
        after or dt.datetime.min.replace(tzinfo=dt.UTC),
    )
    count: int = rows[0]["n"]
    return count


def sends_logged(scheduler: Process) -> int:
    return scheduler.log_text().count("sent periodic task")


def test_two_schedulers_send_each_tick_once_and_a_worker_runs_it_once(
    stack_env: dict[str, str], own_database: str, tmp_path: Path
) -> None:
    job_id = expiring_job(own_database)
    stack = own_stack(stack_env, own_database, tmp_path)
    try:
        stack.start("worker", "worker")
        schedulers = [stack.start("scheduler", "scheduler") for _ in range(2)]
        wait_until(
            lambda: done_ticks(own_database, "expire_files") >= 5, 60, "five ticks of expiry"
        )
        for scheduler in schedulers:
            scheduler.stop()
        # What the two sent before they stopped is run by the worker; nothing more is sent.
        wait_until(
            lambda: not fetch(own_database, "SELECT 1 FROM scheduled_ticks WHERE done_at IS NULL"),
            30,
            "every tick sent to be run",
        )
    finally:
        stack.stop_all()

    ticks = fetch(own_database, "SELECT * FROM scheduled_ticks ORDER BY task, tick")
    assert {t["task"] for t in ticks} >= {
        "expire_files",
        "abort_stale_uploads",
        "delete_expired_idempotency_keys",
        "create_history_partitions",
        "forget_old_ticks",
    }
    # Each tick was sent by one of the two schedulers, and run once.
    assert sum(sends_logged(s) for s in schedulers) == len(ticks)
    assert all(t["sent_at"] is not None and t["runs"] == 1 for t in ticks), ticks
    # The tasks did their work: the job whose time was up is expired.
    [job] = fetch(own_database, "SELECT state FROM jobs WHERE id = $1", job_id)
    assert job["state"] == "expired"


def test_a_daily_tick_missed_while_no_scheduler_ran_is_caught_up_once(
    stack_env: dict[str, str], own_database: str, tmp_path: Path
) -> None:
    # The partitions were due an hour ago, and no scheduler ran then: one is missing.
    now = dt.datetime.now(dt.UTC)
    due_at = (now - dt.timedelta(hours=1)).strftime("%H:%M")
    missed = DailyAt.parse(due_at).latest(now)
    month = (now.replace(day=1) + dt.timedelta(days=3 * 31)).strftime("%Y_%m")
    partition = f"job_history_{month}"

    def partition_exists() -> bool:
        return bool(fetch(own_database, "SELECT to_regclass($1) AS t", partition)[0]["t"])

    run_sql(own_database, f"DROP TABLE {partition}")
    stack = own_stack(stack_env, own_database, tmp_path, HISTORY_PARTITIONS_AT=due_at)
    try:
        stack.start("worker", "worker")
        first = stack.start("scheduler", "scheduler")
        wait_until(
            lambda: done_ticks(own_database, "create_history_partitions") == 1,
            60,
            "the missed partitions tick to be run",
        )
        assert partition_exists()
        first.stop()

        # A scheduler started again finds the tick done: it is not run a second time.
        run_sql(own_database, f"DROP TABLE {partition}")
        restart = dt.datetime.now(dt.UTC)
        again = stack.start("scheduler", "scheduler")
        wait_until(
            lambda: done_ticks(own_database, "expire_files", after=restart) >= 2,
            60,
            "two rounds of the restarted scheduler",
        )
    finally:
        stack.stop_all()
    [tick] = fetch(
        own_database, "SELECT * FROM scheduled_ticks WHERE task = 'create_history_partitions'"
    )
    assert tick["tick"] == missed and tick["runs"] == 1
    assert not partition_exists()
    assert "sent periodic task create_history_partitions" not in again.log_text()


async def test_a_tick_is_sent_once_and_runs_once_however_often_its_message_comes(
    quiet_resources: WorkerResources,
) -> None:
    res = quiet_resources
    queue = on_queue_of_its_own(res.settings, "periodic").broker.queue
    broker = build_broker(dataclasses.replace(res.settings.broker, queue=queue))
    ticks = TickRepository(res.pool)
    tick = Every(60).latest(dt.datetime.now(dt.UTC))
    assert await send_tick(ticks, broker, periodic_queue(queue), "expire_files", tick)
    assert not await send_tick(ticks, broker, periodic_queue(queue), "expire_files", tick)
    message = await asyncio.to_thread(next_message, broker, periodic_queue(queue))
    assert message is not None and tuple(message.args) == ("expire_files", tick.isoformat())
    assert await asyncio.to_thread(next_message, broker, periodic_queue(queue)) is None

    job = await new_job(res)
    await res.pool.execute(
        "UPDATE jobs SET state = 'succeeded', expires_at = now() - interval '1 second'"
        " WHERE id = $1",
        job.id,
    )
    await run_periodic_task(res, *message.args)
    assert await res.pool.fetchval("SELECT state FROM jobs WHERE id = $1", job.id) == "expired"
    # Delivered again (a worker died before acking it): done already, so nothing runs.
    await run_periodic_task(res, *message.args)
    runs = await res.pool.fetchval(
        "SELECT runs FROM scheduled_ticks WHERE task = 'expire_files' AND tick = $1", tick
    )
    assert runs == 1
    broker.close()


async def test_a_tick_claimed_by_a_scheduler_that_died_before_sending_is_sent_later(
    quiet_resources: WorkerResources,
) -> None:
    res = quiet_resources
    settings = on_queue_of_its_own(res.settings, "periodic")
    queue = settings.broker.queue
    broker = build_broker(settings.broker)
    ticks = TickRepository(res.pool)
    # Claimed long ago, never sent: its scheduler died in between.
    orphan = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert await ticks.claim("forget_old_ticks", orphan)
    await res.pool.execute("UPDATE scheduled_ticks SET claimed_at = now() - interval '2 minutes'")

    stop = asyncio.Event()
    scheduler = asyncio.create_task(send_periodic_tasks(settings, ticks, broker, stop))
    sent: set[tuple[str, ...]] = set()
    deadline = asyncio.get_running_loop().time() + 30
    while ("forget_old_ticks", orphan.isoformat()) not in sent:
        assert asyncio.get_running_loop().time() < deadline, f"only {sent} were sent"
        message = await asyncio.to_thread(next_message, broker, periodic_queue(queue))
        if message is not None:
            sent.add(tuple(message.args))
    stop.set()
    await scheduler
    sent_at = await res.pool.fetchval(
        "SELECT sent_at FROM scheduled_ticks WHERE task = 'forget_old_ticks' AND tick = $1",
        orphan,
    )
    assert sent_at is not None
    broker.close()
