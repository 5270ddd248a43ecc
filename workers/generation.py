"""Generating one job's file: claim the job, stream its blocks to storage, record the result.

Safe to run twice for the same job: a claim bumps the job's attempt, every write is fenced on
that attempt, and a new attempt first cleans up what an earlier, crashed one left behind.

A file big enough to be split is only planned here: its shards go to any workers
(workers/shards.py), and this attempt ends once they are sent.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from core.metrics import record_job_end, record_output
from core.tracing import tracer
from generators.errors import SpecError
from generators.output import file_type, iter_encoded
from generators.sharding import plan_shards
from generators.spec import DatasetSpec, parse_spec
from storage.jobs import JobRecord
from storage.objects import (
    ObjectWriter,
    StoredObject,
    discard_unfinished,
    job_object_key,
    job_prefix,
)
from workers.failures import describe_failure
from workers.leases import job_lease
from workers.resources import WorkerResources
from workers.shards import start_sharded_job

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another attempt holds the job now: this one must stop and leave no trace."""


async def generate_job_file(res: WorkerResources, job_id: uuid.UUID) -> None:
    """Makes the job's file, unless the job is finished, out of attempts or held by a live worker.

    Raises on a transient failure after handing the job back, so that the message is retried.
    """
    jobs = res.settings.jobs
    job = await res.jobs.claim(job_id, jobs.lease_seconds, jobs.max_attempts)
    if job is None:
        log.info("job %s is finished or held by another worker; nothing to do", job_id)
        return
    writer: ObjectWriter | None = None
    try:
        async with job_lease(res, job) as lease_lost:
            await _clean_previous_attempt(res, job)
            spec = parse_spec(job.spec)
            shards = await asyncio.to_thread(plan_shards, spec, jobs.shard_target_bytes)
            if len(shards) > 1:
                await start_sharded_job(res, job, spec, shards)
                return
            assert job.file_name is not None
            key = job_object_key(res.settings.storage, job.id, job.attempt, job.file_name)
            writer = await asyncio.to_thread(
                res.store.open_writer, key, file_type(spec).content_type
            )
            if not await res.jobs.record_upload(job.id, job.attempt, writer.upload_id, key):
                raise LeaseLost
            stored = await _stream_blocks(res, job, spec, writer, lease_lost)
    except LeaseLost:
        log.warning("job %s attempt %d lost its lease; abandoning it", job.id, job.attempt)
        await _abort(writer)
        return
    except SpecError as exc:
        # The stored spec itself is refused: no retry can change that.
        await _abort(writer)
        if await res.jobs.fail(job.id, f"invalid spec at {exc.field}: {exc.detail}", job.attempt):
            record_job_end(job.spec, False, job.started_at)
        return
    except Exception as exc:
        log.exception("job %s attempt %d failed", job.id, job.attempt)
        await _abort(writer)
        if job.attempt >= jobs.max_attempts:
            reason = f"generation failed after {job.attempt} attempts: {describe_failure(exc)}"
            if await res.jobs.fail(job.id, reason, job.attempt):
                record_job_end(job.spec, False, job.started_at)
            return
        # Hand the job back for the retry of this message, which comes within the backoff.
        await res.jobs.release(job.id, job.attempt, res.settings.broker.max_backoff_ms / 1000)
        raise
    finished = await res.jobs.finish(
        job.id, job.attempt, stored.size_bytes, stored.sha256, res.settings.links.ttl_seconds
    )
    if finished is None:
        log.warning("job %s attempt %d lost its lease at the end", job.id, job.attempt)
        await asyncio.to_thread(res.store.delete, stored.key)
        return
    record_job_end(finished.spec, True, finished.started_at)
    record_output(finished.rows_total, stored.size_bytes)
    log.info("job %s succeeded: %d rows, %d bytes", job.id, finished.rows_total, stored.size_bytes)


async def _abort(writer: ObjectWriter | None) -> None:
    if writer is not None:
        await asyncio.to_thread(writer.abort)


async def _clean_previous_attempt(res: WorkerResources, job: JobRecord) -> None:
    """Aborts uploads earlier attempts left open and deletes any file they completed.

    The job is not succeeded, so a completed file from an earlier attempt is an orphan.
    """
    if job.attempt > 1:
        prefix = job_prefix(res.settings.storage, job.id)
        await asyncio.to_thread(discard_unfinished, res.store, prefix, job.object_key)


async def _stream_blocks(
    res: WorkerResources,
    job: JobRecord,
    spec: DatasetSpec,
    writer: ObjectWriter,
    lease_lost: asyncio.Event,
) -> StoredObject:
    blocks = iter_encoded(spec)
    rows_done = 0
    # Blocks are encoded and written as they come: "generate" covers both, "upload" the
    # completion of the stored file.
    with tracer.start_as_current_span("generate", attributes={"job.id": str(job.id)}) as span:
        while True:
            block = await asyncio.to_thread(next, blocks, None)
            if block is None:
                break
            rows, data = block
            await asyncio.to_thread(writer.write, data)
            rows_done += rows
            if lease_lost.is_set() or not await res.jobs.record_progress(
                job.id, job.attempt, rows_done
            ):
                raise LeaseLost
        span.set_attribute("rows", rows_done)
    with tracer.start_as_current_span("upload", attributes={"job.id": str(job.id)}) as span:
        stored = await asyncio.to_thread(writer.commit)
        span.set_attribute("bytes", stored.size_bytes)
    return stored
