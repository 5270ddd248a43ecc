"""`tdbuddy scheduler`: the one process that relays new jobs and due deliveries to the workers,
runs the job reconciler, and sends the periodic tasks (file expiry, cleanups, partitions…;
schedules/periodic.py) to the workers on their schedule."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from core.logs import configure_logging
from core.settings import Settings
from core.tracing import setup_tracing
from schedules.dispatch import run_relays
from schedules.periodic import send_periodic_tasks
from schedules.reconcile import reconcile_jobs
from storage.database import create_pool
from storage.jobs import JobRepository
from storage.objects import object_store
from storage.shards import ShardRepository
from storage.ticks import TickRepository
from workers.broker import build_broker

log = logging.getLogger(__name__)


async def run_forever(settings: Settings, stop: asyncio.Event) -> None:
    """Relays, reconciles and sends periodic tasks until `stop` is set; a failed round is
    tried again."""
    pool = await create_pool(settings.database)
    broker = build_broker(settings.broker)
    jobs, shards = JobRepository(pool), ShardRepository(pool)
    store = object_store(settings.storage)
    interval = settings.jobs.reconcile_interval_seconds
    relays = asyncio.create_task(run_relays(settings, pool, broker, stop))
    periodic = asyncio.create_task(
        send_periodic_tasks(settings, TickRepository(pool), broker, stop)
    )
    try:
        while not stop.is_set():
            try:
                await reconcile_jobs(jobs, shards, store, broker, settings)
            except Exception:
                log.exception("reconcile tick failed; trying again in %.1f s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
    finally:
        stop.set()
        await relays
        await periodic
        await pool.close()
        broker.close()


def run_scheduler(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configure_logging(settings.observability)
    setup_tracing("tdbuddy-scheduler", settings.observability)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "scheduler started; reconciling every %.1f s", settings.jobs.reconcile_interval_seconds
        )
        await run_forever(settings, stop)

    asyncio.run(main())
    return 0
