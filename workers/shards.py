"""One big job across many workers: plan it into shards, make each shard, complete the upload.

The job's first attempt plans (``start_sharded_job``): it opens one multipart upload, records
the shards in one transaction and sends a message per shard. Any worker makes any shard
(``generate_shard_part``): it encodes the shard's blocks into a spooled temporary file and
uploads them as the shard's part, fenced by the shard's own attempt and lease. The worker
that finishes the last shard completes the upload (``finalize_sharded_job``); if it dies
first, the reconciler sends a finalize message. Completion is idempotent and the job's
finish is fenced, so the file is completed exactly once.

A shard worker never aborts the job's upload when it stops: other shards are writing to it.
Whoever ends the job (a failure that uses up a shard's attempts, a cancel) aborts it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator, Sequence

import dramatiq

from core.jobs import JobState
from core.metrics import record_job_end, record_output
from core.tracing import tracer
from generators.errors import SpecError
from generators.output import file_type, iter_encoded
from generators.sharding import ShardRange
from generators.spec import DatasetSpec, parse_spec
from storage.jobs import JobRecord
from storage.objects import PartWriter, job_object_key
from storage.shards import JobEnded, ShardClaim, ShardRepository
from workers.failures import describe_failure
from workers.leases import holding_lease, job_lease
from workers.messages import send_generate_shard
from workers.resources import WorkerResources

log = logging.getLogger(__name__)


class ShardLost(Exception):
    """Another attempt holds the shard now, or its job has ended: stop and write nothing."""


async def start_sharded_job(
    res: WorkerResources, job: JobRecord, spec: DatasetSpec, shards: Sequence[ShardRange]
) -> bool:
    """Opens the job's upload, records its shards and sends them; False if the job was lost."""
    assert job.file_name is not None
    key = job_object_key(res.settings.storage, job.id, job.attempt, job.file_name)
    upload_id = await asyncio.to_thread(res.store.start_upload, key, file_type(spec).content_type)
    ranges = [(shard.first_block, shard.stop_block) for shard in shards]
    repository = ShardRepository(res.pool)
    if not await repository.plan(job.id, job.attempt, upload_id, key, ranges):
        await asyncio.to_thread(res.store.abort_upload, key, upload_id)
        return False
    # The shards are committed: from here on a message lost on the way is re-sent by the
    # reconciler, which sends shards whose enqueued_at is still empty.
    broker, queue = dramatiq.get_broker(), res.settings.broker.queue
    for shard in range(len(shards)):
        await asyncio.to_thread(send_generate_shard, broker, queue, job.id, shard)
    await repository.mark_enqueued(job.id)
    log.info("job %s planned into %d shards", job.id, len(shards))
    return True


async def generate_shard_part(res: WorkerResources, job_id: uuid.UUID, shard: int) -> None:
    """Makes one shard and uploads it as its part; the last shard in completes the upload.

    Raises on a transient failure after handing the shard back, so that the message is retried.
    """
    timing = res.settings.jobs
    repository = ShardRepository(res.pool)
    claim = await repository.claim(job_id, shard, timing.lease_seconds, timing.max_attempts)
    if claim is None:
        log.info("shard %d of job %s is done, held or its job ended", shard, job_id)
        return
    try:
        lease = holding_lease(
            lambda: repository.renew(claim),
            timing.lease_seconds,
            f"shard {shard} of job {job_id}",
        )
        async with lease as lost:
            etag, size, rows = await _upload_shard(res, repository, claim, lost)
        unfinished = await repository.finish(claim, etag, size, rows)
    except ShardLost:
        log.warning("shard %d of job %s attempt %d was lost", shard, job_id, claim.attempt)
        return
    except JobEnded:
        # The part landed after whoever ended the job cleaned up: remove it as well.
        log.warning("shard %d of job %s attempt %d was lost", shard, job_id, claim.attempt)
        await asyncio.to_thread(res.store.abort_upload, claim.object_key, claim.upload_id)
        return
    except SpecError as exc:
        await _fail_job(res, claim, f"invalid spec at {exc.field}: {exc.detail}")
        return
    except Exception as exc:
        log.exception("shard %d of job %s attempt %d failed", shard, job_id, claim.attempt)
        if claim.attempt >= timing.max_attempts:
            reason = (
                f"part {claim.part_number} of the file failed after {claim.attempt} attempts: "
                f"{describe_failure(exc)}"
            )
            await _fail_job(res, claim, reason)
            return
        await repository.release(claim, res.settings.broker.max_backoff_ms / 1000)
        raise
    if unfinished == 0:
        await finalize_sharded_job(res, job_id)


async def _upload_shard(
    res: WorkerResources, repository: ShardRepository, claim: ShardClaim, lost: asyncio.Event
) -> tuple[str, int, int]:
    """Encodes the shard's blocks and uploads them as its part; returns (etag, bytes, rows)."""
    spec = parse_spec(claim.spec)
    blocks = iter_encoded(spec, claim.first_block, claim.stop_block)
    part = await asyncio.to_thread(
        res.store.open_part, claim.object_key, claim.upload_id, claim.part_number
    )
    rows_done = size = 0
    attributes: dict[str, str | int] = {"job.id": str(claim.job_id), "shard": claim.part_number}
    try:
        with tracer.start_as_current_span("generate", attributes=attributes):
            while (block := await asyncio.to_thread(_write_next, blocks, part)) is not None:
                rows, written = block
                rows_done += rows
                size += written
                if lost.is_set() or not await repository.record_progress(claim, rows_done):
                    raise ShardLost
        with tracer.start_as_current_span("upload", attributes={**attributes, "bytes": size}):
            etag = await asyncio.to_thread(part.commit)
    except BaseException:
        await asyncio.to_thread(part.abort)
        raise
    return etag, size, rows_done


def _write_next(blocks: Iterator[tuple[int, bytes]], part: PartWriter) -> tuple[int, int] | None:
    """Encodes the next block into the part: (rows, bytes), or None after the last one."""
    block = next(blocks, None)
    if block is None:
        return None
    rows, data = block
    part.write(data)
    return rows, len(data)


async def _fail_job(res: WorkerResources, claim: ShardClaim, reason: str) -> None:
    """Fails the whole job and aborts its upload: a file with a part missing is no file."""
    if await res.jobs.fail(claim.job_id, reason):
        record_job_end(claim.spec, False)
        log.error("job %s failed: %s", claim.job_id, reason)
        try:
            await asyncio.to_thread(res.store.abort_upload, claim.object_key, claim.upload_id)
        except Exception:  # storage may be what failed; the job's state is what matters
            log.exception("could not abort the upload of failed job %s", claim.job_id)


async def finalize_sharded_job(res: WorkerResources, job_id: uuid.UUID) -> None:
    """Completes the upload of a job whose every shard is in, and marks the job succeeded."""
    repository = ShardRepository(res.pool)
    job = await repository.claim_finalize(job_id, res.settings.jobs.lease_seconds)
    if job is None:
        log.info("job %s is not ready to finalize, or another worker is on it", job_id)
        return
    assert job.object_key is not None and job.upload_id is not None
    key, upload_id = job.object_key, job.upload_id
    etags = await repository.etags(job.id)
    # Joining and hashing a big file takes a while: the lease keeps another finalizer away.
    async with job_lease(res, job):
        stored = await asyncio.to_thread(res.store.complete_upload, key, upload_id, etags)
    finished = await res.jobs.finish(
        job.id, job.attempt, stored.size_bytes, stored.sha256, res.settings.links.ttl_seconds
    )
    if finished is None:
        # Cancelled while the parts were joined: the file is no one's. (Taken over by another
        # finalizer instead, it is that finalizer's file, the same one.)
        current = await res.jobs.get(job.id)
        if current is None or current.state in (JobState.CANCELLED, JobState.FAILED):
            log.warning("job %s ended while it was finalized; deleting the file", job.id)
            await asyncio.to_thread(res.store.delete, key)
        return
    record_job_end(finished.spec, True, finished.started_at)
    record_output(finished.rows_total, stored.size_bytes)
    log.info(
        "job %s succeeded: %d rows in %d shards, %d bytes",
        job.id,
        finished.rows_total,
        len(etags),
        stored.size_bytes,
    )
