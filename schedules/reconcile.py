"""Finding the jobs a crash left behind: the database is the truth, the queue only carries."""

from __future__ import annotations

import asyncio
import logging

import dramatiq

from core.settings import Settings
from schedules.dispatch import send_jobs
from storage.jobs import Abandoned, JobRepository
from storage.objects import ObjectStore, discard_unfinished, job_prefix
from storage.shards import ShardRepository
from workers.messages import send_finalize_job, send_generate_shard

log = logging.getLogger(__name__)


async def reconcile_jobs(
    jobs: JobRepository,
    shards: ShardRepository,
    store: ObjectStore,
    broker: dramatiq.Broker,
    settings: Settings,
) -> int:
    """Fails jobs whose every attempt died, re-sends the other lost work; returns how much.

    Lost work is a job never sent or whose worker died, a shard likewise, or a sharded job
    whose every shard is in but that no worker completed.
    """
    timing, queue = settings.jobs, settings.broker.queue
    for abandoned in await jobs.fail_abandoned(timing.lease_seconds, timing.max_attempts):
        log.warning("job %s failed: every attempt's worker died", abandoned.job_id)
        await _discard(store, settings, abandoned)
    for abandoned in await shards.fail_exhausted(timing.lease_seconds, timing.max_attempts):
        log.warning("job %s failed: every attempt at one of its shards died", abandoned.job_id)
        await _discard(store, settings, abandoned)
    job_ids = await jobs.claim_to_resend(
        timing.requeue_after_seconds, timing.lease_seconds, timing.max_attempts
    )
    if job_ids:
        # In the trace of each job's submit, as the relay sends them.
        await asyncio.to_thread(send_jobs, broker, queue, job_ids)
    lost_shards = await shards.claim_to_resend(
        timing.requeue_after_seconds, timing.lease_seconds, timing.max_attempts
    )
    for shard in lost_shards:
        await asyncio.to_thread(send_generate_shard, broker, queue, shard.job_id, shard.shard)
    to_finalize = await shards.claim_to_finalize(timing.lease_seconds)
    for job_id in to_finalize:
        await asyncio.to_thread(send_finalize_job, broker, queue, job_id)
    if job_ids or lost_shards or to_finalize:
        log.info(
            "re-sent %d job(s), %d shard(s), %d finalize(s)",
            len(job_ids),
            len(lost_shards),
            len(to_finalize),
        )
    return len(job_ids) + len(lost_shards) + len(to_finalize)


async def _discard(store: ObjectStore, settings: Settings, abandoned: Abandoned) -> None:
    prefix = job_prefix(settings.storage, abandoned.job_id)
    await asyncio.to_thread(discard_unfinished, store, prefix, abandoned.object_key)
