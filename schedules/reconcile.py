"""Re-sending the jobs a crash left behind: the database is the truth, the queue only carries."""

from __future__ import annotations

import asyncio
import logging

import dramatiq

from core.settings import JobSettings
from storage.jobs import JobRepository
from workers.messages import send_generate_job

log = logging.getLogger(__name__)


async def resend_lost_jobs(
    jobs: JobRepository, broker: dramatiq.Broker, queue: str, settings: JobSettings
) -> int:
    """Re-sends jobs left queued-but-unsent or running without a heartbeat; returns how many."""
    job_ids = await jobs.claim_to_resend(settings.requeue_after_seconds, settings.lease_seconds)
    for job_id in job_ids:
        await asyncio.to_thread(send_generate_job, broker, queue, job_id)
    if job_ids:
        log.info("re-sent %d job(s): %s", len(job_ids), ", ".join(map(str, job_ids)))
    return len(job_ids)
