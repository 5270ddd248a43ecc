"""Download links: check the signed token and the job, then hand over the file."""

from __future__ import annotations

import asyncio
import datetime as dt
import mimetypes
from typing import Any

from litestar import Request, get
from litestar.response import File, Redirect, Stream

from api.errors import ApiError
from api.state import AppState
from core.jobs import JobState
from storage.jobs import JobRecord
from storage.links import ExpiredLink, TamperedLink, verify_link
from storage.objects import content_disposition, local_object_chunks, local_object_size


def ensure_downloadable(job: JobRecord | None, now: dt.datetime) -> JobRecord:
    """The job when its file can be fetched now; otherwise the HTTP error that says why."""
    if job is None or job.deleted_at is not None:
        raise ApiError(410, "gone", "the file was deleted")
    if job.state is JobState.EXPIRED or (job.expires_at is not None and job.expires_at <= now):
        raise ApiError(410, "gone", "the file has expired")
    if job.state is not JobState.SUCCEEDED or job.object_key is None:
        raise ApiError(409, "not_ready", f"the job is {job.state}, not succeeded")
    return job


@get(
    "/v1/downloads/{token:str}",
    operation_id="download",
    summary="Fetch a job's file through its signed link (302 to storage, or the file itself)",
    tags=["downloads"],
)
async def download(request: Request[Any, Any, Any], token: str) -> Redirect | File | Stream:
    state = AppState.of(request)
    now = dt.datetime.now(dt.UTC)
    try:
        link = verify_link(state.settings.links, token, now)
    except TamperedLink:
        raise ApiError(403, "invalid_link", "this download link is not valid", "token") from None
    except ExpiredLink as exc:
        raise ApiError(410, "link_expired", str(exc), "token") from None
    job = ensure_downloadable(await state.jobs.get(link.job_id), now)
    assert job.object_key is not None and job.file_name is not None
    seconds = state.settings.storage.presign_seconds
    url = await asyncio.to_thread(state.store.presigned_url, job.object_key, job.file_name, seconds)
    if url is not None:
        return Redirect(url, status_code=302, headers={"Cache-Control": "no-store"})
    path = state.store.local_path(job.object_key)
    if path is None or not path.exists():
        raise ApiError(410, "gone", "the file is no longer in storage")
    if path.is_dir():  # a sharded file on local storage: its parts, read in order
        return Stream(
            local_object_chunks(path),
            media_type=mimetypes.guess_type(job.file_name)[0] or "application/octet-stream",
            headers={
                "Content-Length": str(local_object_size(path)),
                "Content-Disposition": content_disposition(job.file_name),
                "Cache-Control": "no-store",
            },
        )
    return File(path=path, filename=job.file_name, headers={"Cache-Control": "no-store"})
