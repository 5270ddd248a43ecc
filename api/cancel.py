"""Cancelling a job: its workers stop at their next write, and nothing it wrote is left."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Request, post

from api.errors import ApiError, error_responses
from api.state import AppState
from api.wire import JobView, job_view
from storage.accounts import Caller
from storage.jobs import JobRecord
from storage.objects import discard_unfinished, job_prefix


@post(
    "/v1/jobs/{job_id:uuid}/cancel",
    status_code=200,
    operation_id="cancelJob",
    responses=error_responses(404, 409),
    summary="Cancel a queued or running job; its partial upload is removed",
    description=(
        "Answers 200 with the cancelled job. Workers on it stop at their next block, the "
        "unfinished upload is aborted and nothing of the job stays in storage. A job that has "
        "already ended answers 409."
    ),
    tags=["jobs"],
)
async def cancel_job(request: Request[Any, Any, Any], caller: Caller, job_id: uuid.UUID) -> JobView:
    state = AppState.of(request)
    cancelled = await cancel_unfinished(state, job_id, caller.user_id)
    if cancelled is None:
        job = await state.jobs.get_for_user(job_id, caller.user_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
        raise ApiError(409, "already_ended", f"the job has already {job.state}", "job_id")
    return job_view(cancelled, state.settings)


async def cancel_unfinished(state: AppState, job_id: uuid.UUID, user_id: int) -> JobRecord | None:
    """The job, cancelled with everything it wrote removed; None unless it was the user's
    unfinished job."""
    cancelled = await state.jobs.cancel(job_id, user_id)
    if cancelled is None:
        return None
    job, written = cancelled
    # Listing by prefix also finds an upload no attempt got to record, and every shard's
    # part lives in the one upload. A part still on its way when the upload is aborted is
    # refused by storage.
    prefix = job_prefix(state.settings.storage, job_id)
    await asyncio.to_thread(discard_unfinished, state.store, prefix, written.object_key)
    return job
