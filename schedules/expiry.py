"""Expiring files: a succeeded job whose link time is up becomes `expired` and its file
leaves storage, unless another live job still hands the same file out."""

from __future__ import annotations

import asyncio
import logging

from storage.idempotency import SubmissionRepository
from storage.jobs import JobRepository
from storage.objects import ObjectStore

log = logging.getLogger(__name__)

BATCH = 500


async def expire_files(
    jobs: JobRepository, submissions: SubmissionRepository, store: ObjectStore
) -> int:
    """Expires every job whose time is up, deleting files no live job needs; returns how many."""
    total = 0
    while expired := await jobs.expire_due(BATCH):
        total += len(expired)
        for job_id, object_key in expired:
            if object_key is None or await submissions.file_shared_with_live_job(job_id):
                continue
            try:
                await asyncio.to_thread(store.delete, object_key)
            except Exception:  # the job is expired either way; its link answers 410
                log.exception("could not delete the expired file of job %s", job_id)
        if len(expired) < BATCH:
            break
    return total
