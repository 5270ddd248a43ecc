"""The worker tier: `dramatiq workers.app` (or `tdbuddy worker`) serves these actors."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import dramatiq
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.middleware import AsyncIO, Retries

from core.logs import configure_logging
from core.settings import Settings
from core.tracing import setup_tracing
from workers.broker import build_broker
from workers.deliveries import make_delivery_attempt
from workers.failures import FailExhaustedJobs
from workers.generation import generate_job_file
from workers.messages import (
    DELIVER,
    FINALIZE_JOB,
    GENERATE_JOB,
    GENERATE_SHARD,
    RUN_PERIODIC_TASK,
    deliveries_queue,
    periodic_queue,
)
from workers.metrics import WorkerMetrics
from workers.periodic import run_periodic_task
from workers.resources import WorkerResourcesMiddleware, current_resources
from workers.shards import finalize_sharded_job, generate_shard_part
from workers.tracing import TracingMiddleware

settings = Settings.from_env()
configure_logging(settings.observability)
# httpx logs each request's whole URL at INFO, and a webhook URL's query may carry the
# receiver's token: deliveries log the scheme and host themselves (workers/deliveries.py).
logging.getLogger("httpx").setLevel(logging.WARNING)
setup_tracing("tdbuddy-worker", settings.observability)


class DaemonAsyncIO(AsyncIO):
    """Dramatiq's AsyncIO middleware, with its event-loop thread a daemon.

    A worker process told to stop twice exits at once (systemd and ``kill -- -PGID`` signal
    every process of the group, and Dramatiq's parent forwards its own signal again), and so
    does one whose shutdown timeout runs out. With the loop thread not a daemon, that exit
    waited for the loop for ever: the job it was running could no longer reach its thread
    pool, and the process hung mid-job until a SIGKILL. The job left behind is taken over
    once its lease runs out, like one whose worker was killed.
    """

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = EventLoopThread(self.logger)
        thread.daemon = True
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)


broker = build_broker(settings.broker)
broker.add_middleware(DaemonAsyncIO())
broker.add_middleware(TracingMiddleware())
broker.add_middleware(WorkerResourcesMiddleware(settings))
# "After" hooks run in reverse order: placed before Retries, this one sees its verdict.
broker.add_middleware(FailExhaustedJobs(), before=Retries)
broker.add_middleware(WorkerMetrics())
dramatiq.set_broker(broker)


# Every actor works on a job: each delivery of a message is one attempt (the job's or the
# shard's own count is the final word), and big jobs run for a long time, so progress
# heartbeats, not a wall clock, tell whether one is alive.
_JOB_ACTOR: dict[str, Any] = {
    "queue_name": settings.broker.queue,
    "max_retries": settings.jobs.max_attempts - 1,
    "min_backoff": settings.broker.min_backoff_ms,
    "max_backoff": settings.broker.max_backoff_ms,
    "time_limit": 24 * 3600 * 1000,
}


@dramatiq.actor(actor_name=GENERATE_JOB, **_JOB_ACTOR)
async def generate_job(job_id: str) -> None:
    await generate_job_file(current_resources(), uuid.UUID(job_id))


@dramatiq.actor(actor_name=GENERATE_SHARD, **_JOB_ACTOR)
async def generate_shard(job_id: str, shard: int) -> None:
    await generate_shard_part(current_resources(), uuid.UUID(job_id), shard)


@dramatiq.actor(actor_name=FINALIZE_JOB, **_JOB_ACTOR)
async def finalize_job(job_id: str) -> None:
    await finalize_sharded_job(current_resources(), uuid.UUID(job_id))


# A delivery keeps its own retry schedule in the database; Dramatiq's retries only cover a
# worker that could not reach the database to take the delivery.
@dramatiq.actor(
    actor_name=DELIVER,
    queue_name=deliveries_queue(settings.broker.queue),
    max_retries=3,
    min_backoff=settings.broker.min_backoff_ms,
    max_backoff=settings.broker.max_backoff_ms,
    time_limit=10 * 60 * 1000,
)
async def deliver(delivery_id: str) -> None:
    await make_delivery_attempt(current_resources(), broker, uuid.UUID(delivery_id))


# Sent by the scheduler, once per tick of each task (schedules/periodic.py). Retries cover a
# failed run; the next tick covers one that failed for good. Backups may run for hours.
@dramatiq.actor(
    actor_name=RUN_PERIODIC_TASK,
    queue_name=periodic_queue(settings.broker.queue),
    max_retries=3,
    min_backoff=settings.broker.min_backoff_ms,
    max_backoff=settings.broker.max_backoff_ms,
    time_limit=6 * 3600 * 1000,
)
async def periodic_task(task: str, tick: str) -> None:
    await run_periodic_task(current_resources(), task, tick)
