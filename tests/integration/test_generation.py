"""The worker's generation step, run in-process on real PostgreSQL and S3: at-least-once safe."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from core.jobs import JobState
from generators.engine import ENGINE_VERSION
from generators.spec import parse_spec, spec_to_dict
from schedules.reconcile import reconcile_jobs
from storage.accounts import AccountRepository
from storage.jobs import JobRecord, NewJob
from storage.objects import S3ObjectStore
from storage.queries import query
from storage.shards import ShardRepository
from tests.integration.test_end_to_end import USERS
from workers.broker import build_broker
from workers.generation import generate_job_file
from workers.resources import WorkerResources


async def new_job(res: WorkerResources, rows: int = 70_000, **columns: Any) -> JobRecord:
    """A committed job that the session's own scheduler leaves alone: it counts as sent (in
    the transaction that inserts it, so the scheduler's relay never sees it unsent)."""
    accounts = AccountRepository(res.pool)
    user_id = await accounts.create_user(f"gen-{uuid.uuid4().hex[:6]}")
    spec = parse_spec({**USERS, "rows": rows})
    job = NewJob(
        id=uuid.uuid4(),
        user_id=user_id,
        name=spec.name,
        spec=spec_to_dict(spec),
        format=spec.format,
        rows_total=rows,
        engine_version=ENGINE_VERSION,
        file_name="users.csv",
        **columns,
    )
    async with res.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(query("insert_job"), *job.values())
        await conn.execute(
            "UPDATE jobs SET enqueued_at = now() + interval '1 hour' WHERE id = $1", job.id
        )
    return JobRecord.from_row(row)


def objects_of(res: WorkerResources, job_id: uuid.UUID) -> list[str]:
    store = res.store
    assert isinstance(store, S3ObjectStore)
    prefix = f"{res.settings.storage.s3_prefix}{job_id}/"
    listed: dict[str, Any] = store.client.list_objects_v2(Bucket=store.bucket, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


async def test_a_redelivered_message_for_a_finished_job_does_nothing(
    resources: WorkerResources,
) -> None:
    job = await new_job(resources)
    await generate_job_file(resources, job.id)
    first = await resources.jobs.get(job.id)
    assert first is not None and first.state is JobState.SUCCEEDED
    await generate_job_file(resources, job.id)
    again = await resources.jobs.get(job.id)
    assert again == first
    assert objects_of(resources, job.id) == [first.object_key]


async def test_two_deliveries_at_once_make_one_file(resources: WorkerResources) -> None:
    job = await new_job(resources)
    await asyncio.gather(generate_job_file(resources, job.id), generate_job_file(resources, job.id))
    done = await resources.jobs.get(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED and done.attempt == 1
    assert objects_of(resources, job.id) == [done.object_key]


async def test_an_attempt_that_lost_its_lease_can_no_longer_write(
    resources: WorkerResources,
) -> None:
    job = await new_job(resources)
    stale = await resources.jobs.claim(job.id, lease_seconds=60, max_attempts=5)
    assert stale is not None and stale.attempt == 1
    # A live attempt keeps the job: nobody else may take it.
    assert await resources.jobs.claim(job.id, lease_seconds=60, max_attempts=5) is None
    # Its heartbeat stops; once the lease is over, a new attempt takes the job and finishes it.
    await resources.pool.execute(
        "UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", job.id
    )
    await generate_job_file(resources, job.id)
    done = await resources.jobs.get(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED and done.attempt == 2
    # The first attempt wakes up: every write it tries is refused.
    assert not await resources.jobs.record_progress(job.id, 1, 10)
    assert await resources.jobs.finish(job.id, 1, 1, "0" * 64, 60) is None
    assert not await resources.jobs.fail(job.id, "late failure", attempt=1)
    assert await resources.jobs.get(job.id) == done


async def test_a_job_whose_every_attempt_died_fails_with_a_reason(
    resources: WorkerResources,
) -> None:
    job = await new_job(resources)
    limit = resources.settings.jobs.max_attempts
    # As after `limit` workers were killed while running it.
    await resources.pool.execute(
        "UPDATE jobs SET state = 'running', attempt = $2,"
        " heartbeat_at = now() - interval '1 hour' WHERE id = $1",
        job.id,
        limit,
    )
    assert await resources.jobs.claim(job.id, 0, limit) is None  # no attempt beyond the limit
    broker = build_broker(resources.settings.broker)
    shards = ShardRepository(resources.pool)
    await reconcile_jobs(resources.jobs, shards, resources.store, broker, resources.settings)
    failed = await resources.jobs.get(job.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.error is not None and f"stopped {limit} times" in failed.error
