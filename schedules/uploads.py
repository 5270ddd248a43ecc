"""Aborting stale uploads: parts a crashed or killed attempt left in storage, which S3 keeps
(and bills) until the upload is aborted, and the local disk keeps as `.partial` files."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

import asyncpg

from core.settings import Settings
from storage.objects import ObjectStore
from storage.queries import query

log = logging.getLogger(__name__)


async def abort_stale_uploads(pool: asyncpg.Pool, store: ObjectStore, settings: Settings) -> int:
    """Aborts every upload under the jobs' prefix begun more than STALE_UPLOAD_SECONDS ago
    whose job is not queued or running any more (or is gone); returns how many.

    An upload under the prefix that names no job is not ours and is left alone.
    """
    prefix = settings.storage.s3_prefix
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.periodic.stale_upload_seconds)
    uploads = await asyncio.to_thread(store.list_uploads, prefix)
    stale = [
        (upload, job_id)
        for upload in uploads
        if upload.started_at <= cutoff and (job_id := _job_of(prefix, upload.key)) is not None
    ]
    if not stale:
        return 0
    rows = await pool.fetch(query("busy_jobs"), list({job_id for _, job_id in stale}))
    busy = {row["id"] for row in rows}
    aborted = 0
    for upload, job_id in stale:
        if job_id in busy:
            continue
        await asyncio.to_thread(store.abort_upload, upload.key, upload.upload_id)
        log.info("aborted the stale upload %s of job %s", upload.upload_id, job_id)
        aborted += 1
    return aborted


def _job_of(prefix: str, key: str) -> uuid.UUID | None:
    """The job whose files a key lies among (`<prefix><job id>/…`), if any."""
    first = key.removeprefix(prefix).split("/", 1)[0]
    try:
        return uuid.UUID(first)
    except ValueError:
        return None
