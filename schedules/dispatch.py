"""The delivery dispatcher: a worker message for every due webhook call or email.

It wakes when a job's end commits (the jobs trigger's NOTIFY) and every tick besides, which
also picks up the retries whose delayed message was lost, and deliveries a dead worker held.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import dramatiq

from core.settings import Settings
from storage.deliveries import NOTIFY_CHANNEL, DeliveryRepository
from storage.listening import Listening, listen
from workers.messages import deliveries_queue, send_delivery

log = logging.getLogger(__name__)

# A due delivery whose message brought no attempt within this long is sent again.
RESEND_AFTER_SECONDS = 60.0


async def dispatch_due(
    deliveries: DeliveryRepository, broker: dramatiq.Broker, settings: Settings
) -> int:
    """Sends a message for each due delivery with none on its way; returns how many."""
    ids = await deliveries.claim_to_dispatch(RESEND_AFTER_SECONDS)
    if ids:
        queue = deliveries_queue(settings.broker.queue)

        def send_all() -> None:
            for delivery_id in ids:
                send_delivery(broker, queue, delivery_id)

        # Claimed but not sent (the broker is down): the sweep sends them again later.
        await asyncio.to_thread(send_all)
    return len(ids)


async def run_dispatcher(
    settings: Settings, pool: asyncpg.Pool, broker: dramatiq.Broker, stop: asyncio.Event
) -> None:
    """Dispatches deliveries on every NOTIFY and every tick until `stop` is set."""
    deliveries = DeliveryRepository(pool)
    wake = asyncio.Event()
    interval = settings.jobs.reconcile_interval_seconds

    def on_notify(_payload: str) -> None:
        wake.set()

    listening: Listening | None = None
    try:
        while not stop.is_set():
            if listening is not None and not listening.alive:  # the database restarted
                await listening.close()
                listening = None
            if listening is None:
                listening = await listen(pool, NOTIFY_CHANNEL, on_notify)
            wake.clear()
            try:
                await dispatch_due(deliveries, broker, settings)
            except Exception:
                log.exception("dispatching deliveries failed; trying again in %.1f s", interval)
            waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
    finally:
        if listening is not None:
            await listening.close()
