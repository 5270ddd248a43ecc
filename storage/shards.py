"""The shards of big jobs in PostgreSQL: plan, claim, progress, finish, and the finalize claim."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from storage.jobs import Abandoned, JobRecord
from storage.queries import query


class ShardClaim(msgspec.Struct, frozen=True, kw_only=True):
    """One shard taken by a worker for an attempt, with what it needs from its job."""

    job_id: uuid.UUID
    shard: int
    attempt: int
    first_block: int
    stop_block: int
    spec: dict[str, Any]
    upload_id: str
    object_key: str
    shard_count: int

    @property
    def part_number(self) -> int:
        """The shard's part in the job's multipart upload (parts count from 1)."""
        return self.shard + 1


class JobEnded(Exception):
    """The shard's job was cancelled or failed while the shard was being made."""


class ShardRef(msgspec.Struct, frozen=True):
    job_id: uuid.UUID
    shard: int


class ShardRepository:
    """Shard rows, read and written through one asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def plan(
        self,
        job_id: uuid.UUID,
        attempt: int,
        upload_id: str,
        object_key: str,
        ranges: Sequence[tuple[int, int]],
    ) -> bool:
        """Records the job's shards and its upload; False when the attempt has lost the job."""
        async with self._pool.acquire() as conn, conn.transaction():
            status: str = await conn.execute(
                query("mark_job_sharded"), job_id, attempt, len(ranges), upload_id, object_key
            )
            if status != "UPDATE 1":
                return False
            await conn.execute(
                query("insert_shards"),
                job_id,
                [first for first, _ in ranges],
                [stop for _, stop in ranges],
            )
        return True

    async def mark_enqueued(self, job_id: uuid.UUID) -> None:
        await self._pool.execute(query("mark_shards_enqueued"), job_id)

    async def claim(
        self, job_id: uuid.UUID, shard: int, lease_seconds: float, max_attempts: int
    ) -> ShardClaim | None:
        """The shard, taken for a new attempt; None when it is done, held, or its job ended."""
        row = await self._pool.fetchrow(
            query("claim_shard"), job_id, shard, lease_seconds, max_attempts
        )
        return None if row is None else ShardClaim(**dict(row))

    async def record_progress(self, claim: ShardClaim, rows_done: int) -> bool:
        """Stores progress and renews the lease; False when the attempt has lost the shard."""
        row = await self._pool.fetchrow(
            query("record_shard_progress"), claim.job_id, claim.shard, claim.attempt, rows_done
        )
        return row is not None

    async def renew(self, claim: ShardClaim) -> bool:
        """Renews the attempt's hold on the shard; False when it has lost it or the job ended."""
        status: str = await self._pool.execute(
            query("renew_shard_lease"), claim.job_id, claim.shard, claim.attempt
        )
        return status == "UPDATE 1"

    async def finish(self, claim: ShardClaim, etag: str, size_bytes: int, rows: int) -> int | None:
        """Marks the shard done; returns how many shards of the job are still unfinished.

        The job's row lock orders the shards that finish at the same moment, so exactly one of
        them sees 0 and completes the upload. None when the attempt has lost the shard; raises
        JobEnded when the job is no longer running (cancelled or failed meanwhile).
        """
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchrow(query("lock_running_job"), claim.job_id) is None:
                raise JobEnded(claim.job_id)
            status: str = await conn.execute(
                query("finish_shard"),
                claim.job_id,
                claim.shard,
                claim.attempt,
                etag,
                size_bytes,
                rows,
            )
            if status != "UPDATE 1":
                return None
            unfinished: int = await conn.fetchval(query("sum_shard_progress"), claim.job_id)
            return unfinished

    async def release(self, claim: ShardClaim, retry_within_seconds: float) -> None:
        """Puts a running shard back to pending for a retry due within the given time."""
        await self._pool.execute(
            query("release_shard"), claim.job_id, claim.shard, claim.attempt, retry_within_seconds
        )

    async def claim_finalize(self, job_id: uuid.UUID, lease_seconds: float) -> JobRecord | None:
        """The job, taken to complete its upload; None when shards are missing or it is held."""
        row = await self._pool.fetchrow(query("claim_finalize"), job_id, lease_seconds)
        return None if row is None else JobRecord.from_row(row)

    async def etags(self, job_id: uuid.UUID) -> list[str]:
        """The parts' ETags in part order."""
        rows = await self._pool.fetch(query("shard_etags"), job_id)
        return [row["etag"] for row in rows]

    async def claim_to_resend(
        self,
        requeue_after_seconds: float,
        lease_seconds: float,
        max_attempts: int,
        limit: int = 500,
    ) -> list[ShardRef]:
        """Shards a crash left behind, marked as sent again now."""
        rows = await self._pool.fetch(
            query("claim_shards_to_resend"),
            requeue_after_seconds,
            lease_seconds,
            limit,
            max_attempts,
        )
        return [ShardRef(row["job_id"], row["shard"]) for row in rows]

    async def claim_to_finalize(self, lease_seconds: float, limit: int = 100) -> list[uuid.UUID]:
        """Sharded jobs with every shard in and nobody completing them, marked as sent now."""
        rows = await self._pool.fetch(query("claim_jobs_to_finalize"), lease_seconds, limit)
        return [row["id"] for row in rows]

    async def fail_exhausted(self, lease_seconds: float, max_attempts: int) -> list[Abandoned]:
        """Fails the jobs with a shard whose every attempt died; returns what they left."""
        rows = await self._pool.fetch(
            query("fail_jobs_with_exhausted_shards"), lease_seconds, max_attempts
        )
        return [Abandoned(row["id"], row["upload_id"], row["object_key"]) for row in rows]
