"""Submitting, reading and listing generation jobs."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Stream

from api.errors import ApiError, error_responses
from api.limits import limit_error
from api.notifications import JobNotifications, may_hold_notifications, take_notifications
from api.openapi import SubmitsDatasetSpec
from api.state import AppState
from api.wire import JobPage, JobView, job_view
from core.tracing import traceparent_of_request
from generators.dataset import edge_case_cells, total_rows
from generators.engine import ENGINE_VERSION
from generators.output import file_type
from generators.spec import DatasetSpec, decode_body, parse_spec, spec_to_dict, with_seed
from storage.accounts import Caller
from storage.idempotency import (
    KEY_LIFETIME,
    IdempotencyKey,
    KeyInFlight,
    KeyUsedForAnotherRequest,
    Submission,
    SubmissionRepository,
    fingerprint,
)
from storage.jobs import NewJob
from storage.plans import LimitReached

log = logging.getLogger(__name__)

_cursor_decoder = msgspec.msgpack.Decoder(tuple[dt.datetime, uuid.UUID])


def _encode_cursor(job: JobView) -> str:
    raw = msgspec.msgpack.encode((job.created_at, job.id))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        created, job_id = _cursor_decoder.decode(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        # Any instant PostgreSQL can compare with; a forged one may not be.
        return created.astimezone(dt.UTC), job_id
    except (ValueError, OverflowError, msgspec.DecodeError):
        raise ApiError(
            400, "invalid_parameter", "cursor is not one this API gave", "cursor"
        ) from None


FILE_STEM_BYTES = 120  # well under the 255-byte name limit of common filesystems


def file_name_for(name: str, file_extension: str) -> str:
    """A file name from the dataset name: letters of any script kept, path characters dropped."""
    stem = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._")
    # Cut by bytes, not characters: a kana character takes three bytes in UTF-8.
    stem = stem.encode()[:FILE_STEM_BYTES].decode(errors="ignore").rstrip("._") or "dataset"
    return f"{stem}.{file_extension}"


IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255  # characters; the draft asks servers to publish a fixed format
# The draft's form is a Structured Field string ("…", with \" and \\ escaped); a bare value
# of printable ASCII is taken as it is, as most clients send it.
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_BARE_KEY = re.compile(r"[\x20-\x7e]*")


def _idempotency_key(request: Request[Any, Any, Any], value: str | None) -> str | None:
    """The request's idempotency key, unquoted; None without one; 400 for a malformed one."""
    if value is None:
        return None
    if len(request.headers.getall(IDEMPOTENCY_KEY, [])) > 1:
        raise _bad_key("send one Idempotency-Key header, not several")
    value = value.strip(" \t")
    if quoted := _SF_STRING.fullmatch(value):
        key = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif value.startswith('"') or not _BARE_KEY.fullmatch(value):
        raise _bad_key("Idempotency-Key must be printable ASCII, as a quoted string or bare")
    else:
        key = value
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise _bad_key(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters long, not {len(key)};"
            " a UUID is a good choice"
        )
    return key


def _bad_key(detail: str) -> ApiError:
    return ApiError(400, "invalid_header", detail, IDEMPOTENCY_KEY)


async def _submit(
    submissions: SubmissionRepository,
    job: NewJob,
    key: IdempotencyKey | None,
    reuse_file: bool,
) -> Submission:
    """The submission's job, with a refused idempotency key turned into the HTTP error."""
    try:
        return await submissions.submit(job, key=key, reuse_file=reuse_file)
    except KeyInFlight:
        raise ApiError(
            409,
            "idempotency_key_in_use",
            "a request with this Idempotency-Key is still being processed; retry it shortly",
            IDEMPOTENCY_KEY,
            headers={"Retry-After": "1"},
        ) from None
    except KeyUsedForAnotherRequest:
        hours = int(KEY_LIFETIME.total_seconds() // 3600)
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"this Idempotency-Key was used in the last {hours} h with a different request"
            " body; send a new key with a new request",
            IDEMPOTENCY_KEY,
        ) from None


# A spec up to this size parses in well under a millisecond; a bigger one (a regex-heavy 1 MB
# spec takes about a second) is parsed off the event loop, so it cannot stall other requests.
PARSE_INLINE_BYTES = 16 * 1024


async def _parsed(source: bytes | dict[str, Any], size: int) -> DatasetSpec:
    if size <= PARSE_INLINE_BYTES:
        return parse_spec(source)
    return await asyncio.to_thread(parse_spec, source)


class JobController(Controller):
    path = "/v1/jobs"
    tags = ("jobs",)

    @post(
        "/",
        status_code=202,
        operation_id="submitJob",
        operation_class=SubmitsDatasetSpec,
        responses=error_responses(403, 409, 422),
        summary="Submit a dataset spec; the file is generated in the background",
        description=(
            "Answers 202 with the queued job, a Location header to poll and Retry-After. "
            "An invalid spec answers 422 with the offending field's path and the reason. "
            "With an Idempotency-Key, a retry answers with the first request's job; the key "
            "with another body is 422, and while the first request is being created 409. "
            "A spec with a seed whose identical earlier job still has a live file gets a job "
            "that is succeeded at once on that file, naming the source in reused_from."
        ),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        caller: Caller,
        idempotency_key: Annotated[
            str | None,
            Parameter(
                header=IDEMPOTENCY_KEY,
                description=(
                    "Makes retries safe (IETF draft-ietf-httpapi-idempotency-key-header): "
                    "the same key and body within 24 h answer with the same job; "
                    f"1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters, e.g. a UUID"
                ),
            ),
        ] = None,
    ) -> Response[JobView]:
        state = AppState.of(request)
        key = _idempotency_key(request, idempotency_key)
        body = await request.body()
        notifications = JobNotifications()
        if may_hold_notifications(body):
            data = decode_body(body)
            notifications = await take_notifications(
                data, state.settings, request.headers.get("accept-language")
            )
            spec = await _parsed(data, len(body))
        else:
            spec = await _parsed(body, len(body))
        idempotency = None
        if key is not None:
            # The body as parsed and before a seed is drawn: bodies that mean the same match.
            request_fingerprint = fingerprint(spec_to_dict(spec) | notifications.fingerprinted())
            idempotency = IdempotencyKey(caller.key_id, key, request_fingerprint)
        # Only a seed the user chose can match an earlier job: a drawn one is new each time.
        reuse_file = spec.seed is not None
        if spec.seed is None:
            spec = with_seed(spec, secrets.randbits(63))
        new_job = NewJob(
            id=uuid.uuid4(),
            user_id=caller.user_id,
            name=spec.name,
            spec=spec_to_dict(spec),
            format=spec.format,
            rows_total=total_rows(spec),
            engine_version=ENGINE_VERSION,
            file_name=file_name_for(spec.name, file_type(spec).file_extension),
            callback_url=notifications.callback_url,
            callback_secret=notifications.callback_secret,
            notify_email=notifications.notify_email,
            notify_language=notifications.notify_language,
            trace_context=traceparent_of_request(request.headers),
        )
        try:
            if idempotency is None and not reuse_file:  # the common case: a plain new job
                submission = Submission(await state.inserter.submit(new_job), created=True)
            else:
                submission = await _submit(
                    SubmissionRepository(state.pool), new_job, idempotency, reuse_file
                )
        except LimitReached as exc:
            raise await limit_error(state, exc) from None
        # The committed row is all: the scheduler's relay sends the job's message (the jobs
        # table is the outbox), so no broker is on a submit's path.
        job = submission.job
        headers = {"Location": f"/v1/jobs/{job.id}"}
        if not job.state.is_final:
            headers["Retry-After"] = str(state.settings.jobs.retry_after_seconds)
        view = job_view(job, state.settings)
        if job.callback_secret is not None:
            view = msgspec.structs.replace(view, callback_secret=job.callback_secret)
        return Response(view, status_code=202, headers=headers)

    @get(
        "/{job_id:uuid}",
        operation_id="getJob",
        responses=error_responses(404),
        summary="A job's state, progress, timings and, once done, its file and download link",
    )
    async def get_job(
        self, request: Request[Any, Any, Any], caller: Caller, job_id: uuid.UUID
    ) -> Response[JobView]:
        state = AppState.of(request)
        job = await state.jobs.get_for_user(job_id, caller.user_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
        headers = {}
        if not job.state.is_final:
            headers["Retry-After"] = str(state.settings.jobs.retry_after_seconds)
        return Response(job_view(job, state.settings), headers=headers)

    @get(
        "/{job_id:uuid}/edge-cases",
        operation_id="listEdgeCases",
        responses=error_responses(404),
        summary="Every cell of the job's file that holds an injected edge case, as JSON Lines",
        media_type="application/x-ndjson",
    )
    async def list_edge_cases(
        self, request: Request[Any, Any, Any], caller: Caller, job_id: uuid.UUID
    ) -> Stream:
        state = AppState.of(request)
        job = await state.jobs.get_for_user(job_id, caller.user_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
        spec = parse_spec(job.spec)
        encoder = msgspec.json.Encoder()

        def lines() -> Iterator[bytes]:
            # Computed from the spec alone, as the file was: nothing is stored for it. Lines
            # go out a thousand at a time, each batch one hop to a worker thread.
            batch: list[bytes] = []
            for cell in edge_case_cells(spec):
                batch.append(encoder.encode(cell))
                if len(batch) == 1000:
                    yield b"\n".join(batch) + b"\n"
                    batch.clear()
            if batch:
                yield b"\n".join(batch) + b"\n"

        # Litestar iterates a plain iterator in a worker thread, off the event loop.
        return Stream(lines(), media_type="application/x-ndjson")

    @get("/", operation_id="listJobs", summary="The caller's jobs, newest first, a page at a time")
    async def list_jobs(
        self,
        request: Request[Any, Any, Any],
        caller: Caller,
        limit: Annotated[int, Parameter(ge=1, le=100, description="jobs per page")] = 20,
        cursor: Annotated[
            str | None, Parameter(description="next_cursor of the previous page")
        ] = None,
    ) -> JobPage:
        state = AppState.of(request)
        after = _decode_cursor(cursor) if cursor else None
        jobs = await state.jobs.list_for_user(caller.user_id, limit + 1, after)
        views = [job_view(job, state.settings) for job in jobs[:limit]]
        next_cursor = _encode_cursor(views[-1]) if len(jobs) > limit else None
        return JobPage(jobs=views, next_cursor=next_cursor)
