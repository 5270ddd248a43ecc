"""The delivery dispatcher: one message per due delivery, and another when the first was lost."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import dramatiq
from dramatiq.broker import MessageProxy

from core.settings import Settings
from schedules.dispatch import RESEND_AFTER_SECONDS, dispatch_due
from storage.deliveries import DeliveryRepository
from tests.integration.test_generation import new_job
from workers.broker import build_broker
from workers.messages import deliveries_queue
from workers.resources import WorkerResources


def on_queue_of_its_own(settings: Settings, name: str) -> Settings:
    """The settings with a fresh broker queue, which no worker or scheduler of the session reads."""
    queue = f"{name}-{uuid.uuid4().hex[:8]}"
    return dataclasses.replace(settings, broker=dataclasses.replace(settings.broker, queue=queue))


def next_message(broker: dramatiq.Broker, queue: str) -> MessageProxy | None:
    """The next message on the queue within a second, taken off it; None if there is none."""
    consumer = broker.consume(queue, prefetch=1, timeout=1000)
    try:
        message = next(consumer)
        if message is not None:
            consumer.ack(message)
        return message
    finally:
        consumer.close()


async def test_due_deliveries_are_sent_once_and_again_when_their_message_is_lost(
    quiet_resources: WorkerResources,
) -> None:
    # A database of its own, a queue of its own: no scheduler or worker but this test's.
    res = quiet_resources
    settings = on_queue_of_its_own(res.settings, "dispatch")
    queue = settings.broker.queue
    broker = build_broker(settings.broker)
    deliveries = DeliveryRepository(res.pool)
    job = await new_job(
        res, notify_email="qa@example.jp", callback_url="https://hooks.example.jp/tdbuddy"
    )
    assert await dispatch_due(deliveries, broker, settings) == 0  # nothing has ended yet
    await res.pool.execute("UPDATE jobs SET state = 'failed', error = 'x' WHERE id = $1", job.id)
    ids = {
        row["id"]
        for row in await res.pool.fetch("SELECT id FROM deliveries WHERE job_id = $1", job.id)
    }
    assert len(ids) == 2  # the callback and the email

    assert await dispatch_due(deliveries, broker, settings) == 2
    sent = [await asyncio.to_thread(next_message, broker, deliveries_queue(queue)) for _ in ids]
    assert {uuid.UUID(m.args[0]) for m in sent if m is not None} == ids
    # A message is on its way: the next ticks send nothing more...
    assert await dispatch_due(deliveries, broker, settings) == 0
    # ...until it has brought no attempt for longer than RESEND_AFTER_SECONDS: it was lost.
    await res.pool.execute(
        "UPDATE deliveries SET dispatched_at = now() - make_interval(secs => $2) WHERE job_id = $1",
        job.id,
        RESEND_AFTER_SECONDS + 1,
    )
    assert await dispatch_due(deliveries, broker, settings) == 2
    again = [await asyncio.to_thread(next_message, broker, deliveries_queue(queue)) for _ in ids]
    assert {uuid.UUID(m.args[0]) for m in again if m is not None} == ids
    broker.close()
