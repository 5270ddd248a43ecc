"""Why a job failed, in words a user may read, and the middleware that records it.

A user sees `error` on their job: it says what kind of thing went wrong, never a server path,
an endpoint or a credential. The full exception goes to the worker's log.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
import botocore.exceptions
import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy

from storage.database import database_unavailable
from storage.objects import discard_unfinished, job_prefix
from workers.messages import FINALIZE_JOB, GENERATE_JOB, GENERATE_SHARD
from workers.resources import current_resources

log = logging.getLogger(__name__)

_JOB_ACTORS = frozenset({GENERATE_JOB, GENERATE_SHARD, FINALIZE_JOB})


def describe_failure(exc: BaseException) -> str:
    """A short, safe description of an exception for the job's `error`."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "unknown")
        return f"object storage refused the file ({code})"
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return "object storage could not be reached"
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        return "the database failed while recording the job"
    if isinstance(exc, OSError):
        return f"a storage or network error ({type(exc).__name__})"
    if isinstance(exc, MemoryError):
        return "the worker ran out of memory"
    return f"an internal error ({type(exc).__name__}); the operators have the details"


class FailExhaustedJobs(dramatiq.Middleware):
    """After the Retries middleware gives up on a job's message (generate, shard, finalize),
    the job becomes `failed` and whatever it was uploading is aborted."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed or message.actor_name not in _JOB_ACTORS:
            return
        job_id = uuid.UUID(message.args[0])
        if database_unavailable(exception):
            # The job's row is the truth and could not be reached: it still says queued or
            # running, and the reconciler sends it again once the database is back.
            log.warning("job %s: a message gave up while the database was unreachable", job_id)
            return
        # Retries has already counted this failure: the count is the number of attempts made.
        attempts = message.options.get("retries", 1)
        reason = f"generation failed after {attempts} attempts: {describe_failure(exception)}"
        loop = get_event_loop_thread()
        assert loop is not None
        res = current_resources()
        if loop.run_coroutine(res.jobs.fail(job_id, reason)):
            log.error("job %s failed: %s", job_id, reason)
            # A shard or the finalize gave up: the job's upload is no one's now.
            prefix = job_prefix(res.settings.storage, job_id)
            discard_unfinished(res.store, prefix, None)
