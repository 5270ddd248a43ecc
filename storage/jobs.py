"""The job history in PostgreSQL: create, read, claim, progress and finish jobs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from core.jobs import JobState
from storage.plans import Allowance, LimitReached, take_allowance
from storage.queries import query


class JobRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the jobs table."""

    id: uuid.UUID
    user_id: int
    name: str
    spec: dict[str, Any]
    format: str
    rows_total: int
    rows_done: int
    state: JobState
    engine_version: str
    attempt: int
    heartbeat_at: dt.datetime | None
    enqueued_at: dt.datetime | None
    upload_id: str | None
    object_key: str | None
    file_name: str | None
    size_bytes: int | None
    sha256: str | None
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    deleted_at: dt.datetime | None
    # Set once the job is planned into shards (storage/shards.py); None: one worker makes it.
    shard_count: int | None = None
    finalizing_at: dt.datetime | None = None
    # SHA-256 of spec and engine version (a generated column); equal ones make equal files.
    fingerprint: str | None = None
    # The job whose file this one hands out instead of generating one (storage/idempotency.py).
    reused_from: uuid.UUID | None = None
    # Who hears of the job's end besides the account's webhooks (storage/deliveries.py).
    callback_url: str | None = None
    callback_secret: str | None = None
    notify_email: str | None = None
    notify_language: str | None = None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> JobRecord:
        values = {name: row[name] for name in cls.__struct_fields__}
        values["state"] = JobState(values["state"])
        return cls(**values)


class NewJob(msgspec.Struct, frozen=True, kw_only=True):
    """A job to create, in the columns of the insert_job query."""

    id: uuid.UUID
    user_id: int
    name: str
    spec: dict[str, Any]
    format: str
    rows_total: int
    engine_version: str
    file_name: str
    callback_url: str | None = None
    callback_secret: str | None = None
    notify_email: str | None = None
    notify_language: str | None = None
    # The W3C traceparent of the request that submitted it: the worker continues that trace.
    trace_context: str | None = None

    def allowance(self) -> Allowance:
        """What the owner's plan is checked against."""
        return Allowance(self.user_id, self.rows_total)

    def values(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.user_id,
            self.name,
            self.spec,
            self.format,
            self.rows_total,
            self.engine_version,
            self.file_name,
            self.callback_url,
            self.callback_secret,
            self.notify_email,
            self.notify_language,
            self.trace_context,
        )


class Abandoned(msgspec.Struct, frozen=True):
    """A job failed for having used up its attempts, with what its last attempt wrote."""

    job_id: uuid.UUID
    upload_id: str | None
    object_key: str | None


class JobRepository:
    """Job rows, read and written through one asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def insert(self, job: NewJob) -> JobRecord:
        """Inserts the job; raises LimitReached when its owner's plan does not allow it."""
        (result,) = await self.insert_many([job])
        if isinstance(result, LimitReached):
            raise result
        return result

    async def insert_many(self, jobs: list[NewJob]) -> list[JobRecord | LimitReached]:
        """Inserts, in one transaction, the jobs their owners' plans allow; returns each job,
        or the limit that refused it, in the same order."""
        async with self._pool.acquire() as conn, conn.transaction():
            refusals = await take_allowance(conn, [job.allowance() for job in jobs])
            allowed = [job for job, refusal in zip(jobs, refusals, strict=True) if not refusal]
            columns = list(zip(*(job.values() for job in allowed), strict=True))
            rows = await conn.fetch(query("insert_jobs"), *columns) if allowed else []
        by_id = {row["id"]: JobRecord.from_row(row) for row in rows}
        return [refusal or by_id[job.id] for job, refusal in zip(jobs, refusals, strict=True)]

    async def unclaim(self, job_ids: list[uuid.UUID]) -> None:
        """Marks claimed jobs unsent again: their messages could not be sent."""
        await self._pool.execute(query("unclaim_jobs"), job_ids)

    async def claim_unsent(self, limit: int = 500) -> list[tuple[uuid.UUID, str | None]]:
        """Queued jobs never sent, oldest first, marked as sent now: (id, traceparent)."""
        rows = await self._pool.fetch(query("claim_unsent_jobs"), limit)
        return [(row["id"], row["trace_context"]) for row in rows]

    async def get(self, job_id: uuid.UUID) -> JobRecord | None:
        row = await self._pool.fetchrow(query("get_job"), job_id)
        return None if row is None else JobRecord.from_row(row)

    async def get_for_user(self, job_id: uuid.UUID, user_id: int) -> JobRecord | None:
        row = await self._pool.fetchrow(query("get_job_for_user"), job_id, user_id)
        return None if row is None else JobRecord.from_row(row)

    async def list_for_user(
        self, user_id: int, limit: int, after: tuple[dt.datetime, uuid.UUID] | None = None
    ) -> list[JobRecord]:
        """The user's jobs, newest first, strictly older than the `after` cursor."""
        created, job_id = after if after else (None, None)
        rows = await self._pool.fetch(query("list_jobs_for_user"), user_id, limit, created, job_id)
        return [JobRecord.from_row(row) for row in rows]

    async def claim(
        self, job_id: uuid.UUID, lease_seconds: float, max_attempts: int
    ) -> JobRecord | None:
        """The job, taken for a new attempt; None when it is done, out of attempts or held.

        The returned job's upload_id and object_key still name what an earlier attempt wrote.
        """
        row = await self._pool.fetchrow(query("claim_job"), job_id, lease_seconds, max_attempts)
        return None if row is None else JobRecord.from_row(row)

    async def record_upload(
        self, job_id: uuid.UUID, attempt: int, upload_id: str | None, object_key: str
    ) -> bool:
        """Notes where this attempt writes; False when the attempt has lost the job."""
        status: str = await self._pool.execute(
            query("record_upload"), job_id, attempt, upload_id, object_key
        )
        return status == "UPDATE 1"

    async def record_progress(self, job_id: uuid.UUID, attempt: int, rows_done: int) -> bool:
        """Stores progress and renews the lease; False when the attempt has lost the job."""
        status: str = await self._pool.execute(query("record_progress"), job_id, attempt, rows_done)
        return status == "UPDATE 1"

    async def renew_lease(self, job_id: uuid.UUID, attempt: int) -> bool:
        """Renews the attempt's hold on the job; False when it has lost the job."""
        status: str = await self._pool.execute(query("renew_lease"), job_id, attempt)
        return status == "UPDATE 1"

    async def finish(
        self, job_id: uuid.UUID, attempt: int, size_bytes: int, sha256: str, ttl_seconds: int
    ) -> JobRecord | None:
        """Marks the job succeeded; None when this attempt no longer holds it."""
        row = await self._pool.fetchrow(
            query("finish_job"), job_id, attempt, size_bytes, sha256, ttl_seconds
        )
        return None if row is None else JobRecord.from_row(row)

    async def release(self, job_id: uuid.UUID, attempt: int, retry_within_seconds: float) -> None:
        """Puts a running job back to queued for a retry due within the given time."""
        await self._pool.execute(query("release_job"), job_id, attempt, retry_within_seconds)

    async def fail(self, job_id: uuid.UUID, error: str, attempt: int | None = None) -> bool:
        """Marks an unfinished job failed with a reason a user can read."""
        row = await self._pool.fetchrow(query("fail_job"), job_id, error, attempt)
        return row is not None

    async def claim_to_resend(
        self,
        requeue_after_seconds: float,
        lease_seconds: float,
        max_attempts: int,
        limit: int = 500,
    ) -> list[tuple[uuid.UUID, str | None]]:
        """Jobs a crash left behind, marked as sent again now: (id, traceparent)."""
        rows = await self._pool.fetch(
            query("claim_jobs_to_resend"),
            requeue_after_seconds,
            lease_seconds,
            limit,
            max_attempts,
        )
        return [(row["id"], row["trace_context"]) for row in rows]

    async def fail_abandoned(self, lease_seconds: float, max_attempts: int) -> list[Abandoned]:
        """Fails the jobs whose every attempt died; returns them with what they left behind."""
        rows = await self._pool.fetch(query("fail_abandoned_jobs"), lease_seconds, max_attempts)
        return [Abandoned(row["id"], row["upload_id"], row["object_key"]) for row in rows]

    async def cancel(self, job_id: uuid.UUID, user_id: int) -> tuple[JobRecord, Abandoned] | None:
        """Cancels the user's unfinished job; returns it with what it was writing, else None.

        Its workers notice at their next write, which the job's state now refuses.
        """
        row = await self._pool.fetchrow(query("cancel_job"), job_id, user_id)
        if row is None:
            return None
        written = Abandoned(job_id, row["written_upload_id"], row["written_object_key"])
        return JobRecord.from_row(row), written

    async def delete(self, job_id: uuid.UUID, user_id: int) -> JobRecord | None:
        """The user's ended job, now marked deleted (still so if it already was); None for a
        job that is not the user's or has not ended."""
        row = await self._pool.fetchrow(query("delete_job"), job_id, user_id)
        return None if row is None else JobRecord.from_row(row)

    async def expire_due(self, limit: int) -> list[tuple[uuid.UUID, str | None]]:
        """Marks up to `limit` succeeded jobs whose time is up as expired; returns each one's
        id and the object its file was."""
        rows = await self._pool.fetch(query("expire_jobs"), limit)
        return [(row["id"], row["object_key"]) for row in rows]
