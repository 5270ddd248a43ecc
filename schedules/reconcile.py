"""Finding the jobs a crash left behind: the database is the truth, the queue only carries."""

from __future__ import annotations

import asyncio
import logging

import dramatiq

from core.settings import Settings
from storage.jobs import JobRepository
from storage.objects import ObjectStore, discard_unfinished, job_prefix
from workers.messages import send_generate_job

log = logging.getLogger(__name__)


async def reconcile_jobs(
    jobs: JobRepository,
    store: ObjectStore,
    broker: dramatiq.Broker,
    settings: Settings,
) -> int:
    """Fails jobs whose every attempt died, re-sends the other lost ones; returns how many sent."""
    timing = settings.jobs
    for abandoned in await jobs.fail_abandoned(timing.lease_seconds, timing.max_attempts):
        log.warning("job %s failed: every attempt's worker died", abandoned.job_id)
        prefix = job_prefix(settings.storage, abandoned.job_id)
        await asyncio.to_thread(discard_unfinished, store, prefix, abandoned.object_key)
    job_ids = await jobs.claim_to_resend(
        timing.requeue_after_seconds, timing.lease_seconds, timing.max_attempts
    )
    for job_id in job_ids:
        await asyncio.to_thread(send_generate_job, broker, settings.broker.queue, job_id)
    if job_ids:
        log.info("re-sent %d job(s): %s", len(job_ids), ", ".join(map(str, job_ids)))
    return len(job_ids)
