"""The scheduler's relays: what the database says must be sent, sent to the workers.

Two outboxes are relayed: jobs the API committed (every new job is sent from here, so no
broker is on a submit's path) and due webhook calls and emails. Each relay wakes when an
insert commits (a trigger's NOTIFY) and on every tick besides; the tick also picks up the
retries whose delayed message was lost, and deliveries a dead worker held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import dramatiq
from opentelemetry.trace import SpanKind

from core.settings import Settings
from core.tracing import context_from, tracer
from storage.deliveries import NOTIFY_CHANNEL, DeliveryRepository
from storage.jobs import JobRepository
from storage.listening import Listening, listen
from workers.messages import deliveries_queue, send_delivery, send_generate_job

log = logging.getLogger(__name__)

JOBS_CHANNEL = "tdbuddy_jobs"
# A due delivery whose message brought no attempt within this long is sent again.
RESEND_AFTER_SECONDS = 60.0
BATCH = 500
GATHER_SECONDS = 0.01


async def dispatch_due(
    deliveries: DeliveryRepository, broker: dramatiq.Broker, settings: Settings
) -> int:
    """Sends a message for each due delivery with none on its way; returns how many."""
    ids = await deliveries.claim_to_dispatch(RESEND_AFTER_SECONDS)
    if ids:
        # Claimed but not sent (the broker is down): the sweep sends them again later.
        queue = deliveries_queue(settings.broker.queue)
        await asyncio.to_thread(_send_each, send_delivery, broker, queue, ids)
    return len(ids)


async def send_new_jobs(jobs: JobRepository, broker: dramatiq.Broker, settings: Settings) -> int:
    """Sends the message of every queued job never sent; returns how many."""
    total = 0
    while claimed := await jobs.claim_unsent(BATCH):
        try:
            await asyncio.to_thread(send_jobs, broker, settings.broker.queue, claimed)
        except Exception:
            # Unsent again, so that they go first and at once when the broker is back (not
            # a requeue interval later, a batch a tick). Sending twice is harmless.
            with contextlib.suppress(Exception):  # the database may be down too
                await jobs.unclaim([job_id for job_id, _ in claimed])
            raise
        total += len(claimed)
        if len(claimed) < BATCH:
            break
    return total


def send_jobs(
    broker: dramatiq.Broker, queue: str, claimed: list[tuple[uuid.UUID, str | None]]
) -> None:
    """Sends one message per (job, traceparent), each in a span of the trace its submit
    began (a new trace for a job submitted outside one); a blocking call, for a thread."""
    for job_id, traceparent in claimed:
        with tracer.start_as_current_span(
            "relay job",
            context=context_from(traceparent),
            kind=SpanKind.PRODUCER,
            attributes={"job.id": str(job_id)},
        ):
            send_generate_job(broker, queue, job_id)


def _send_each(
    send: Callable[[dramatiq.Broker, str, uuid.UUID], None],
    broker: dramatiq.Broker,
    queue: str,
    ids: list[uuid.UUID],
) -> None:
    """One message per id, in a worker thread: each send is a blocking broker call."""
    for item_id in ids:
        send(broker, queue, item_id)


async def relay_on_notify(
    pool: asyncpg.Pool,
    channel: str,
    interval: float,
    stop: asyncio.Event,
    relay: Callable[[], Awaitable[int]],
) -> None:
    """Runs `relay` whenever `channel` is notified and every `interval` seconds besides,
    until `stop` is set."""
    wake = asyncio.Event()

    def on_notify(_payload: str) -> None:
        wake.set()

    listening: Listening | None = None
    try:
        while not stop.is_set():
            if listening is not None and not listening.alive:  # the database restarted
                await listening.close()
                listening = None
            if listening is None:
                listening = await listen(pool, channel, on_notify, on_lost=wake.set)
            wake.clear()
            try:
                await relay()
            except Exception as exc:
                # Not again at every wake: a broker or database that is down stays down for
                # a while, and each try would only log the same failure.
                log.warning(
                    "relaying %s failed (%r); trying again in %.1f s", channel, exc, interval
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                continue
            waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            if wake.is_set() and not stop.is_set():
                # Let the commits of the next few milliseconds join this round: under a
                # stream of submits one claim and one send batch serve many jobs.
                await asyncio.sleep(GATHER_SECONDS)
    finally:
        if listening is not None:
            await listening.close()


async def run_relays(
    settings: Settings, pool: asyncpg.Pool, broker: dramatiq.Broker, stop: asyncio.Event
) -> None:
    """Relays new jobs and due deliveries until `stop` is set."""
    interval = settings.jobs.reconcile_interval_seconds
    jobs, deliveries = JobRepository(pool), DeliveryRepository(pool)
    await asyncio.gather(
        relay_on_notify(
            pool, JOBS_CHANNEL, interval, stop, lambda: send_new_jobs(jobs, broker, settings)
        ),
        relay_on_notify(
            pool,
            NOTIFY_CHANNEL,
            interval,
            stop,
            lambda: dispatch_due(deliveries, broker, settings),
        ),
    )
