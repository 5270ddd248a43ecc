"""Generating one job's file: claim the job, stream its blocks to storage, record the result.

Safe to run twice for the same job: a claim bumps the job's attempt, every write is fenced on
that attempt, and a new attempt first cleans up what an earlier, crashed one left behind.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from generators.engine import iter_encoded
from generators.errors import SpecError
from generators.spec import parse_spec
from generators.writers import writer_for
from storage.jobs import Claim, JobRecord
from storage.objects import ObjectWriter, StoredObject
from workers.resources import WorkerResources

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another attempt holds the job now: this one must stop and leave no trace."""


async def generate_job_file(res: WorkerResources, job_id: uuid.UUID) -> None:
    """Makes the job's file, unless the job is finished or held by a live worker."""
    claim = await res.jobs.claim(job_id, res.settings.jobs.lease_seconds)
    if claim is None:
        log.info("job %s is finished or held by another worker; nothing to do", job_id)
        return
    await _clean_previous_attempt(res, claim)
    job = claim.job
    key = f"{res.settings.storage.s3_prefix}{job.id}/{job.attempt}/{job.file_name}"
    writer: ObjectWriter | None = None
    try:
        writer = await asyncio.to_thread(
            res.store.open_writer, key, writer_for(job.format).content_type
        )
        if not await res.jobs.record_upload(job.id, job.attempt, writer.upload_id, key):
            raise LeaseLost
        stored = await _stream_blocks(res, job, writer)
    except LeaseLost:
        log.warning("job %s attempt %d lost its lease; abandoning it", job.id, job.attempt)
        await _abort(writer)
        return
    except SpecError as exc:
        # The stored spec itself is refused: no retry can change that.
        await _abort(writer)
        await res.jobs.fail(job.id, f"invalid spec at {exc.field}: {exc.detail}", job.attempt)
        return
    except BaseException:
        await _abort(writer)
        # Hand the job back so that the retry of this message can claim it at once.
        await res.jobs.release(job.id, job.attempt)
        raise
    finished = await res.jobs.finish(
        job.id, job.attempt, stored.size_bytes, stored.sha256, res.settings.links.ttl_seconds
    )
    if finished is None:
        log.warning("job %s attempt %d lost its lease at the end", job.id, job.attempt)
        await asyncio.to_thread(res.store.delete, stored.key)
        return
    log.info("job %s succeeded: %d rows, %d bytes", job.id, finished.rows_total, stored.size_bytes)


async def _abort(writer: ObjectWriter | None) -> None:
    if writer is not None:
        await asyncio.to_thread(writer.abort)


async def _clean_previous_attempt(res: WorkerResources, claim: Claim) -> None:
    if claim.stale_object_key is None:
        return
    if claim.stale_upload_id is not None:
        await asyncio.to_thread(
            res.store.abort_stale, claim.stale_object_key, claim.stale_upload_id
        )
    # The previous attempt may have completed its upload before dying: that file is an orphan.
    await asyncio.to_thread(res.store.delete, claim.stale_object_key)


async def _stream_blocks(
    res: WorkerResources, job: JobRecord, writer: ObjectWriter
) -> StoredObject:
    spec = parse_spec(job.spec)
    blocks = iter_encoded(spec)
    rows_done = 0
    while True:
        block = await asyncio.to_thread(next, blocks, None)
        if block is None:
            break
        rows, data = block
        await asyncio.to_thread(writer.write, data)
        rows_done += rows
        if not await res.jobs.record_progress(job.id, job.attempt, rows_done):
            raise LeaseLost
    return await asyncio.to_thread(writer.commit)
