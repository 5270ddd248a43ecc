"""The response bodies of the API, as msgspec Structs, and how a stored job becomes one."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from core.jobs import JobState
from core.settings import Settings
from storage.jobs import JobRecord
from storage.links import download_url


class Progress(msgspec.Struct):
    rows_done: int
    rows_total: int
    percent: float


class FileView(msgspec.Struct):
    name: str
    format: str
    size_bytes: int
    sha256: str
    download_url: str | None
    expires_at: dt.datetime | None


class JobView(msgspec.Struct):
    id: uuid.UUID
    name: str
    state: JobState
    format: str
    seed: int | None
    engine_version: str
    progress: Progress
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_seconds: float | None
    error: str | None
    file: FileView | None
    # The job that generated the file this one hands out, when an identical earlier request
    # had a live file and nothing was generated again.
    reused_from: uuid.UUID | None
    # When the owner deleted the job: its file is gone and its links answer 410.
    deleted_at: dt.datetime | None
    url: str
    # Only in the answer to the submit that set callback_url: the whsec_ secret that signs
    # the calls to it. Keep it then; it is not shown again.
    callback_secret: str | None = None


class JobPage(msgspec.Struct):
    jobs: list[JobView]
    next_cursor: str | None


class Check(msgspec.Struct):
    ok: bool
    latency_ms: float
    detail: str | None = None


class Readiness(msgspec.Struct):
    ready: bool
    checks: dict[str, Check]


def job_view(job: JobRecord, settings: Settings, now: dt.datetime | None = None) -> JobView:
    """What a user sees of a job, with a download link while its file is live."""
    now = now or dt.datetime.now(dt.UTC)
    total = job.rows_total
    done = total if job.state is JobState.SUCCEEDED else job.rows_done
    duration = None
    if job.started_at is not None:
        end = job.finished_at or now
        duration = round((end - job.started_at).total_seconds(), 3)
    return JobView(
        id=job.id,
        name=job.name,
        state=job.state,
        format=job.format,
        seed=job.spec.get("seed"),
        engine_version=job.engine_version,
        progress=Progress(done, total, round(100.0 * done / total, 2) if total else 100.0),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        duration_seconds=duration,
        error=job.error,
        file=_file_view(job, settings, now),
        reused_from=job.reused_from,
        deleted_at=job.deleted_at,
        url=f"{settings.api.public_url}/v1/jobs/{job.id}",
    )


def _file_view(job: JobRecord, settings: Settings, now: dt.datetime) -> FileView | None:
    if job.state is not JobState.SUCCEEDED or job.size_bytes is None or job.sha256 is None:
        return None
    live = job.deleted_at is None and job.expires_at is not None and job.expires_at > now
    url = None
    if live and job.expires_at is not None:
        url = download_url(settings.api.public_url, settings.links, job.id, job.expires_at)
    return FileView(
        name=job.file_name or "",
        format=job.format,
        size_bytes=job.size_bytes,
        sha256=job.sha256,
        download_url=url,
        expires_at=job.expires_at,
    )
