"""The messages the other tiers send to workers, by actor name, without importing the actors."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import dramatiq

from core.tracing import TRACEPARENT, current_traceparent

GENERATE_JOB = "generate_job"
GENERATE_SHARD = "generate_shard"
FINALIZE_JOB = "finalize_job"
DELIVER = "deliver"
RUN_PERIODIC_TASK = "run_periodic_task"


def deliveries_queue(queue: str) -> str:
    """The queue of webhook calls and emails, beside the job queue `queue`: a worker busy with
    long jobs on one can still be given the other (`tdbuddy worker --queues …`)."""
    return f"{queue}-deliveries"


def periodic_queue(queue: str) -> str:
    """The queue of periodic tasks (expiry, cleanups, statistics, backups), beside the job
    queue `queue`: a task is not kept waiting behind a backlog of big jobs."""
    return f"{queue}-periodic"


def _send(
    broker: dramatiq.Broker, queue: str, actor_name: str, *args: str | int, delay_ms: int = 0
) -> None:
    # The trace of the sender goes along: the worker's spans and log lines continue it.
    traceparent = current_traceparent()
    options = {TRACEPARENT: traceparent} if traceparent else {}
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue, actor_name=actor_name, args=args, kwargs={}, options=options
    )
    broker.enqueue(message, delay=delay_ms or None)


def send_generate_job(broker: dramatiq.Broker, queue: str, job_id: uuid.UUID) -> None:
    """Queues the generation of a committed job (it plans shards if the file is big)."""
    _send(broker, queue, GENERATE_JOB, str(job_id))


def send_generate_shard(broker: dramatiq.Broker, queue: str, job_id: uuid.UUID, shard: int) -> None:
    """Queues one shard of a planned job."""
    _send(broker, queue, GENERATE_SHARD, str(job_id), shard)


def send_finalize_job(broker: dramatiq.Broker, queue: str, job_id: uuid.UUID) -> None:
    """Queues the completion of a sharded job whose every shard is in."""
    _send(broker, queue, FINALIZE_JOB, str(job_id))


def send_delivery(
    broker: dramatiq.Broker, queue: str, delivery_id: uuid.UUID, delay_ms: int = 0
) -> None:
    """Queues one attempt at a delivery (on `deliveries_queue`), now or after `delay_ms`."""
    _send(broker, queue, DELIVER, str(delivery_id), delay_ms=delay_ms)


def send_periodic_task(
    broker: dramatiq.Broker, queue: str, task: str, tick: datetime.datetime
) -> None:
    """Queues one tick of a periodic task (schedules/periodic.py) on `periodic_queue`."""
    _send(broker, queue, RUN_PERIODIC_TASK, task, tick.isoformat())
