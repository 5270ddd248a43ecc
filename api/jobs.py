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

from api.errors import ApiError
from api.openapi import SubmitsDatasetSpec
from api.state import AppState
from api.wire import JobPage, JobView, job_view
from generators.dataset import edge_case_cells, total_rows
from generators.engine import ENGINE_VERSION
from generators.output import file_type
from generators.spec import parse_spec, spec_to_dict, with_seed
from storage.accounts import Caller
from workers.messages import send_generate_job

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


class JobController(Controller):
    path = "/v1/jobs"
    tags = ("jobs",)

    @post(
        "/",
        status_code=202,
        operation_id="submitJob",
        operation_class=SubmitsDatasetSpec,
        summary="Submit a dataset spec; the file is generated in the background",
        description=(
            "Answers 202 with the queued job, a Location header to poll and Retry-After. "
            "An invalid spec answers 422 with the offending field's path and the reason."
        ),
    )
    async def submit(self, request: Request[Any, Any, Any], caller: Caller) -> Response[JobView]:
        state = AppState.of(request)
        spec = parse_spec(await request.body())
        if spec.seed is None:
            spec = with_seed(spec, secrets.randbits(63))
        job = await state.jobs.insert(
            job_id=uuid.uuid4(),
            user_id=caller.user_id,
            name=spec.name,
            spec=spec_to_dict(spec),
            format=spec.format,
            rows_total=total_rows(spec),
            engine_version=ENGINE_VERSION,
            file_name=file_name_for(spec.name, file_type(spec).file_extension),
        )
        # The row is committed: from here on a lost message is re-sent by the reconciler.
        try:
            await asyncio.to_thread(
                send_generate_job, state.broker, state.settings.broker.queue, job.id
            )
            await state.jobs.mark_enqueued(job.id)
        except Exception:
            log.exception("job %s committed but not sent; the reconciler will send it", job.id)
        view = job_view(job, state.settings)
        return Response(
            view,
            status_code=202,
            headers={
                "Location": f"/v1/jobs/{job.id}",
                "Retry-After": str(state.settings.jobs.retry_after_seconds),
            },
        )

    @get(
        "/{job_id:uuid}",
        operation_id="getJob",
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
