"""Finding the jobs a crash left behind: the database is the truth, the queue only carries."""

from __future__ import annotations

import asyncio
import logging

import dramatiq

from core.settings import JobSettings
from storage.jobs import JobRepository
from storage.objects import ObjectStore
from workers.messages import send_generate_job

log = logging.getLogger(__name__)


async def reconcile_jobs(
    jobs: JobRepository,
    store: ObjectStore,
    broker: dramatiq.Broker,
    queue: str,
    settings: JobSettings,
) -> int:
    """Fails jobs whose every attempt died, re-sends the other lost ones; returns how many sent."""
    for abandoned in await jobs.fail_abandoned(settings.lease_seconds, settings.max_attempts):
        log.warning("job %s failed: every attempt's worker died", abandoned.job_id)
        if abandoned.object_key is not None:
            if abandoned.upload_id is not None:
                await asyncio.to_thread(
                    store.abort_stale, abandoned.object_key, abandoned.upload_id
                )
            await asyncio.to_thread(store.delete, abandoned.object_key)
    job_ids = await jobs.claim_to_resend(
        settings.requeue_after_seconds, settings.lease_seconds, settings.max_attempts
    )
    for job_id in job_ids:
        await asyncio.to_thread(send_generate_job, broker, queue, job_id)
    if job_ids:
        log.info("re-sent %d job(s): %s", len(job_ids), ", ".join(map(str, job_ids)))
    return len(job_ids)
