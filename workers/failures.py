"""Marks a job failed, with a readable reason, once its message has used up its retries."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy

from workers.messages import GENERATE_JOB
from workers.resources import current_resources

log = logging.getLogger(__name__)


class FailExhaustedJobs(dramatiq.Middleware):
    """After the Retries middleware gives up on a generate message, the job becomes `failed`."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed or message.actor_name != GENERATE_JOB:
            return
        job_id = uuid.UUID(message.args[0])
        # Retries has already counted this failure: the count is the number of attempts made.
        attempts = message.options.get("retries", 1)
        reason = f"generation failed after {attempts} attempts: {type(exception).__name__}: "
        reason += str(exception)
        loop = get_event_loop_thread()
        assert loop is not None
        loop.run_coroutine(current_resources().jobs.fail(job_id, reason))
        log.error("job %s failed: %s", job_id, reason)
