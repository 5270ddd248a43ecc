"""Download links: check the signed token and the job, then hand over the file.

On S3 the link answers 302 to a short presigned URL (S3 itself serves HEAD and Range there).
On local storage the API serves the file, whole or one byte range of it (RFC 9110 §14).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import mimetypes
import re
from pathlib import Path
from typing import Any, NamedTuple

from litestar import Request, Response, get, head
from litestar.response import Redirect, Stream
from litestar.serialization import default_serializer
from litestar.types import Serializer

from api.errors import ApiError, error_responses
from api.state import AppState
from core.jobs import JobState
from storage.jobs import JobRecord
from storage.links import ExpiredLink, TamperedLink, verify_link
from storage.objects import (
    content_disposition,
    local_object_chunks,
    local_object_size,
    local_object_slice,
)

_ONE_BYTE_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)
# Past any file's size; positions with more digits are capped to it rather than parsed
# (Python refuses to parse integers of thousands of digits).
_FAR_BEYOND = 10**18


def ensure_downloadable(job: JobRecord | None, now: dt.datetime) -> JobRecord:
    """The job when its file can be fetched now; otherwise the HTTP error that says why."""
    if job is None or job.deleted_at is not None:
        raise ApiError(410, "gone", "the file was deleted")
    if job.state is JobState.EXPIRED or (job.expires_at is not None and job.expires_at <= now):
        raise ApiError(410, "gone", "the file has expired")
    if job.state is not JobState.SUCCEEDED or job.object_key is None:
        raise ApiError(409, "not_ready", f"the job is {job.state}, not succeeded")
    return job


class ByteRange(NamedTuple):
    """Bytes `start` up to `stop` (exclusive) of a file of `size` bytes."""

    start: int
    stop: int
    size: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{self.size}"


def requested_range(range_header: str | None, size: int) -> ByteRange | None:
    """The one byte range a Range header asks for; None to send the whole file.

    A header this server does not serve (another unit, several ranges, a malformed or
    backwards range) is ignored, as RFC 9110 §14.2 allows. Raises a 416 ApiError for a range
    that starts past the end or a suffix of zero bytes.
    """
    if range_header is None:
        return None
    match = _ONE_BYTE_RANGE.fullmatch(range_header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = (_position(digits) for digits in match.groups())
    if first is None:  # "-n": the last n bytes
        assert last is not None
        start, stop = max(size - last, 0), size
        satisfiable = last > 0 and size > 0
    else:  # "a-b" or "a-": b past the end means the end
        if last is not None and last < first:
            return None
        start, stop = first, size if last is None else min(last + 1, size)
        satisfiable = start < size
    if not satisfiable:
        raise ApiError(
            416,
            "range_not_satisfiable",
            f"the range {range_header[:100]!r} selects none of the file's {size} bytes",
            "Range",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return ByteRange(start, stop, size)


def _position(digits: str) -> int | None:
    """A byte position of a Range header; None where it was left out."""
    if digits == "":
        return None
    return _FAR_BEYOND if len(digits) > len(str(_FAR_BEYOND)) else int(digits)


class _HeadersOnly(Response[None]):
    """An answer to HEAD: the headers GET would send, and no body, whatever the media type."""

    def render(
        self, content: Any, media_type: str, enc_hook: Serializer = default_serializer
    ) -> bytes:
        return b""


class _LocalFile(NamedTuple):
    """A file the API serves itself, and the headers every answer about it carries."""

    path: Path
    size: int
    media_type: str
    headers: dict[str, str]


async def _opened_link(request: Request[Any, Any, Any], token: str) -> tuple[AppState, JobRecord]:
    """The app state and the job whose file the link opens; the HTTP error when it opens none."""
    state = AppState.of(request)
    now = dt.datetime.now(dt.UTC)
    try:
        link = verify_link(state.settings.links, token, now)
    except TamperedLink:
        raise ApiError(403, "invalid_link", "this download link is not valid", "token") from None
    except ExpiredLink as exc:
        raise ApiError(410, "link_expired", str(exc), "token") from None
    return state, ensure_downloadable(await state.jobs.get(link.job_id), now)


async def _storage_url(state: AppState, job: JobRecord) -> Redirect | None:
    """A 302 to a presigned storage URL; None when storage is the local disk."""
    assert job.object_key is not None and job.file_name is not None
    seconds = state.settings.storage.presign_seconds
    url = await asyncio.to_thread(state.store.presigned_url, job.object_key, job.file_name, seconds)
    if url is None:
        return None
    return Redirect(url, status_code=302, headers={"Cache-Control": "no-store"})


async def _local_file(state: AppState, job: JobRecord) -> _LocalFile:
    """The job's file on the local disk (one file, or a folder of parts) and its headers."""
    assert job.object_key is not None and job.file_name is not None
    path = state.store.local_path(job.object_key)
    if path is None or not path.exists():
        raise ApiError(410, "gone", "the file is no longer in storage")
    size = await asyncio.to_thread(local_object_size, path)
    headers = {
        "Content-Disposition": content_disposition(job.file_name),
        "Cache-Control": "no-store",
        "Accept-Ranges": "bytes",
    }
    # The SHA-256 is a strong validator, the same for every job that hands out this file.
    if job.sha256 is not None:
        headers["ETag"] = f'"{job.sha256}"'
    if job.finished_at is not None:
        headers["Last-Modified"] = email.utils.format_datetime(job.finished_at, usegmt=True)
    media_type = mimetypes.guess_type(job.file_name)[0] or "application/octet-stream"
    return _LocalFile(path, size, media_type, headers)


def _range_to_serve(request: Request[Any, Any, Any], file: _LocalFile) -> ByteRange | None:
    """The range to answer with 206, or None for the whole file.

    An If-Range that is not this file's current ETag or Last-Modified means the client holds
    another version, so the range it asks for would splice two files: it gets the whole one.
    """
    if_range = request.headers.get("If-Range")
    validators = (file.headers.get("ETag"), file.headers.get("Last-Modified"))
    if if_range is not None and if_range.strip() not in validators:
        return None
    return requested_range(request.headers.get("Range"), file.size)


@get(
    "/v1/downloads/{token:str}",
    operation_id="download",
    summary="Fetch a job's file through its signed link (302 to storage, or the file itself)",
    description=(
        "On local storage the API serves the file itself and honours one byte range "
        "(`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`): 206 with Content-Range, or 416 with "
        "`Content-Range: bytes */size` for a range past the end. Several ranges or a "
        "malformed one get the whole file."
    ),
    tags=["downloads"],
    responses=error_responses(403, 409, 410, 416, 503),
    security=[{}],  # the signed link is the credential
)
async def download(request: Request[Any, Any, Any], token: str) -> Redirect | Stream:
    state, job = await _opened_link(request, token)
    if redirect := await _storage_url(state, job):
        return redirect
    file = await _local_file(state, job)
    wanted = _range_to_serve(request, file)
    if wanted is None:
        return Stream(
            local_object_chunks(file.path),
            media_type=file.media_type,
            headers={**file.headers, "Content-Length": str(file.size)},
        )
    return Stream(
        local_object_slice(file.path, wanted.start, wanted.stop),
        status_code=206,
        media_type=file.media_type,
        headers={
            **file.headers,
            "Content-Range": wanted.content_range,
            "Content-Length": str(wanted.stop - wanted.start),
        },
    )


@head(
    "/v1/downloads/{token:str}",
    operation_id="downloadHead",
    summary="What a download would answer, without the file: status and headers only",
    description=(
        "The same checks and status codes as GET. On S3: 302 to a presigned URL. On local "
        "storage: 200 with Content-Length, Content-Type, Content-Disposition and "
        "`Accept-Ranges: bytes`."
    ),
    tags=["downloads"],
    responses=error_responses(403, 409, 410, 416, 503),
    security=[{}],  # the signed link is the credential
)
async def download_head(request: Request[Any, Any, Any], token: str) -> Response[None]:
    state, job = await _opened_link(request, token)
    if redirect := await _storage_url(state, job):
        return redirect
    file = await _local_file(state, job)
    return _HeadersOnly(
        None,
        media_type=file.media_type,
        headers={**file.headers, "Content-Length": str(file.size)},
    )
