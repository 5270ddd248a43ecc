"""Deleting a job: its file leaves storage, its row stays to answer 410 for its links."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Request, delete

from api.cancel import cancel_unfinished
from api.errors import ApiError, error_responses
from api.state import AppState
from storage.accounts import Caller
from storage.idempotency import SubmissionRepository
from storage.jobs import JobRecord


@delete(
    "/v1/jobs/{job_id:uuid}",
    status_code=204,
    operation_id="deleteJob",
    responses=error_responses(404, 409),
    summary="Delete a job and its file; its download links answer 410 from then on",
    description=(
        "Answers 204, again for a job already deleted. A queued or running job is cancelled "
        "first, as POST /v1/jobs/{job_id}/cancel does. The job stays readable, with "
        "deleted_at set and no download_url. A file that another live job of yours hands out "
        "(see reused_from) stays in storage for that job."
    ),
    tags=["jobs"],
)
async def delete_job(request: Request[Any, Any, Any], caller: Caller, job_id: uuid.UUID) -> None:
    state = AppState.of(request)
    deleted = await state.jobs.delete(job_id, caller.user_id)
    if deleted is None:  # unknown, someone else's, or not ended yet
        if await state.jobs.get_for_user(job_id, caller.user_id) is None:
            raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
        # Ended on its own since the first read (None here): it is deleted all the same.
        await cancel_unfinished(state, job_id, caller.user_id)
        deleted = await state.jobs.delete(job_id, caller.user_id)
        if deleted is None:
            raise ApiError(409, "not_ended", f"job {job_id} could not be stopped; retry", "job_id")
    await _remove_file(state, deleted)


async def _remove_file(state: AppState, job: JobRecord) -> None:
    """Deletes the job's stored object unless another live job still hands it out.

    Done on every DELETE, not just the first: a delete that died between marking the row and
    removing the object is finished by the next one. The check runs after the row is marked,
    so a submission reusing the file either committed before (and is seen) or no longer
    finds this job as a source.
    """
    if job.object_key is None:  # cancelled, or failed before writing anything
        return
    if await SubmissionRepository(state.pool).file_shared_with_live_job(job.id):
        return
    await asyncio.to_thread(state.store.delete, job.object_key)
