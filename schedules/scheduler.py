"""`tdbuddy scheduler`: the one process that relays new jobs and due deliveries to the workers
and runs periodic work: the job reconciler, file expiry and the removal of idempotency keys
past their lifetime."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from core.settings import Settings
from schedules.dispatch import run_relays
from schedules.expiry import expire_files
from schedules.reconcile import reconcile_jobs
from storage.database import create_pool
from storage.idempotency import SubmissionRepository
from storage.jobs import JobRepository
from storage.objects import object_store
from storage.shards import ShardRepository
from workers.broker import build_broker

log = logging.getLogger(__name__)


async def run_forever(settings: Settings, stop: asyncio.Event) -> None:
    """Runs each periodic task on its interval until `stop` is set; a failed tick is retried."""
    pool = await create_pool(settings.database)
    broker = build_broker(settings.broker)
    jobs, shards = JobRepository(pool), ShardRepository(pool)
    submissions = SubmissionRepository(pool)
    store = object_store(settings.storage)
    interval = settings.jobs.reconcile_interval_seconds
    relays = asyncio.create_task(run_relays(settings, pool, broker, stop))
    try:
        while not stop.is_set():
            try:
                await reconcile_jobs(jobs, shards, store, broker, settings)
                if expired := await expire_files(jobs, submissions, store):
                    log.info("expired %d file(s)", expired)
                if expired := await submissions.delete_expired_keys():
                    log.info("removed %d idempotency key(s) past their 24 h", expired)
            except Exception:
                log.exception("reconcile tick failed; trying again in %.1f s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
    finally:
        stop.set()
        await relays
        await pool.close()
        broker.close()


def run_scheduler(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()

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
