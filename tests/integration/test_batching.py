"""Submissions in batches (api/inserting.py): every request gets its own job back, and one bad
row fails only its own request."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from api.inserting import job_inserter
from generators.engine import ENGINE_VERSION
from storage.accounts import AccountRepository
from storage.jobs import NewJob
from workers.resources import WorkerResources


def new_job(user_id: int) -> NewJob:
    return NewJob(
        id=uuid.uuid4(),
        user_id=user_id,
        name="batch",
        spec={"name": "batch", "rows": 1, "format": "csv", "fields": []},
        format="csv",
        rows_total=1,
        engine_version=ENGINE_VERSION,
        file_name="batch.csv",
    )


async def unlimited_user(res: WorkerResources) -> int:
    """A new user whose plan limits none of these tests' submits."""
    return await AccountRepository(res.pool).create_user(
        f"batch-{uuid.uuid4().hex[:6]}", plan="enterprise"
    )


async def test_concurrent_submissions_each_get_their_own_committed_job(
    quiet_resources: WorkerResources,
) -> None:
    res = quiet_resources
    user_id = await unlimited_user(res)
    inserter = job_inserter(res.jobs)
    wanted = [new_job(user_id) for _ in range(60)]
    try:
        got = await asyncio.gather(*(inserter.submit(job) for job in wanted))
    finally:
        await inserter.close()
    assert [job.id for job in got] == [job.id for job in wanted]
    stored = await res.pool.fetchval(
        "SELECT count(*) FROM jobs WHERE id = ANY($1::uuid[])", [job.id for job in wanted]
    )
    assert stored == 60


async def test_a_bad_row_fails_only_its_own_submission(
    quiet_resources: WorkerResources,
) -> None:
    res = quiet_resources
    user_id = await unlimited_user(res)
    inserter = job_inserter(res.jobs)
    good = [new_job(user_id) for _ in range(5)]
    bad = new_job(user_id=-1)  # no such user
    try:
        results = await asyncio.gather(
            *(inserter.submit(job) for job in [*good[:2], bad, *good[2:]]),
            return_exceptions=True,
        )
    finally:
        await inserter.close()
    assert isinstance(results[2], asyncpg.ForeignKeyViolationError)
    assert [r.id for r in results if not isinstance(r, BaseException)] == [j.id for j in good]
