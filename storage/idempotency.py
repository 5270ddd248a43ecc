"""Submitting a job safely: at most once per idempotency key, and not at all when the same
spec already has a live file.

The key follows the IETF httpapi draft "The Idempotency-Key HTTP Header Field": a retry with
the same key and the same request gets the job the first request made; the same key with
another request is refused; a retry while the first request is still inside its transaction
is told to wait. Crash-safe because the key's row and the job are committed together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import asyncpg
import msgspec

from storage.jobs import JobRecord, NewJob
from storage.plans import NOT_FOR_REUSED_FILES, count_refused_job, take_allowance
from storage.queries import query

# How long a key is honoured; the draft asks the server to publish its expiry policy.
KEY_LIFETIME = dt.timedelta(hours=24)
# A file about to expire is not worth handing out again: a fresh one lives its full term.
REUSE_MIN_REMAINING = dt.timedelta(minutes=15)


def fingerprint(value: Any) -> str:
    """The SHA-256 (hex) of a JSON-ready value written with sorted keys: equal values match."""
    return hashlib.sha256(msgspec.json.encode(value, order="sorted")).hexdigest()


class IdempotencyKey(msgspec.Struct, frozen=True):
    """An Idempotency-Key as sent with an API key, and the fingerprint of its request."""

    api_key_id: int
    key: str
    request_fingerprint: str


class Submission(msgspec.Struct, frozen=True):
    """The job a submission stands for; `created` is False when an earlier request made it."""

    job: JobRecord
    created: bool


class KeyInFlight(Exception):
    """Another request with the same idempotency key is being committed right now."""


class KeyUsedForAnotherRequest(Exception):
    """The idempotency key was used within its lifetime with a different request."""


class SubmissionRepository:
    """Creates jobs for submissions, each in one transaction with its idempotency key."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def submit(
        self, job: NewJob, *, key: IdempotencyKey | None = None, reuse_file: bool = False
    ) -> Submission:
        """The job this submission stands for, written in one transaction with the key's row.

        That is the key's earlier job; else, with `reuse_file`, a new job created succeeded on
        the live file of the user's job with the same spec; else a new queued job. Raises
        KeyInFlight or KeyUsedForAnotherRequest, writing nothing, for a key that
        cannot be honoured.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            if key is None:
                return Submission(await self._insert(conn, job, reuse_file), created=True)
            if not await conn.fetchval(query("lock_idempotency_key"), key.api_key_id, key.key):
                raise KeyInFlight(key.key)
            earlier = await conn.fetchrow(
                query("find_idempotency_key"),
                key.api_key_id,
                key.key,
                KEY_LIFETIME.total_seconds(),
            )
            if earlier is not None:
                if earlier["request_fingerprint"] != key.request_fingerprint:
                    raise KeyUsedForAnotherRequest(key.key)
                return Submission(JobRecord.from_row(earlier), created=False)
            created = await self._insert(conn, job, reuse_file)
            await conn.execute(
                query("insert_idempotency_key"),
                key.api_key_id,
                key.key,
                key.request_fingerprint,
                job.id,
            )
            return Submission(created, created=True)

    async def _insert(self, conn: asyncpg.Connection, job: NewJob, reuse_file: bool) -> JobRecord:
        """The new job: succeeded on a live identical file when allowed and found, else queued.
        Raises LimitReached when the owner's plan does not allow one more job. A job on a
        live file runs nothing and stores no byte more: only the row and daily limits hold it.
        """
        (refusal,) = await take_allowance(conn, [job.allowance()])
        if refusal is not None and not (reuse_file and refusal.limit in NOT_FOR_REUSED_FILES):
            raise refusal
        row = None
        if reuse_file:
            row = await conn.fetchrow(
                query("insert_reused_job"), *job.values(), REUSE_MIN_REMAINING.total_seconds()
            )
        if row is None:
            if refusal is not None:
                raise refusal
            row = await conn.fetchrow(query("insert_job"), *job.values())
        elif refusal is not None:
            await count_refused_job(conn, job.user_id)  # refused, it was not counted
        return JobRecord.from_row(row)

    async def delete_expired_keys(self) -> int:
        """Removes the idempotency keys past their lifetime; returns how many. For a schedule."""
        status: str = await self._pool.execute(
            query("delete_expired_idempotency_keys"), KEY_LIFETIME.total_seconds()
        )
        return int(status.rsplit(" ", 1)[1])

    async def file_shared_with_live_job(self, job_id: uuid.UUID) -> bool:
        """Whether another live job hands out the same stored object as this job, so that
        deleting this job's file must leave the object in storage."""
        shared: bool = await self._pool.fetchval(query("file_shared_with_live_job"), job_id)
        return shared
