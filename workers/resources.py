"""What actors share inside one worker process: the database pool and the object store.

The pool lives on Dramatiq's asyncio event-loop thread, so it is opened after the AsyncIO
middleware has started that loop (and before the worker takes its first message), and closed
before the loop stops.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import dramatiq
from dramatiq.asyncio import get_event_loop_thread

from core.settings import Settings
from storage.database import create_pool
from storage.jobs import JobRepository
from storage.objects import ObjectStore, object_store


@dataclass(frozen=True)
class WorkerResources:
    settings: Settings
    pool: asyncpg.Pool
    jobs: JobRepository
    store: ObjectStore


_current: WorkerResources | None = None
# How long a stopping worker waits for connections still in use before it closes them.
POOL_CLOSE_SECONDS = 5.0


def current_resources() -> WorkerResources:
    """The resources of this worker process; only valid inside an actor."""
    if _current is None:
        raise RuntimeError("worker resources are not open (is WorkerResourcesMiddleware added?)")
    return _current


class WorkerResourcesMiddleware(dramatiq.Middleware):
    """Opens the pool and store when a worker boots and closes them once it has stopped."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Before, not after: the worker's threads start taking messages between the two hooks,
        # and a message taken before the pool is open would fail and spend one of its retries.
        # AsyncIO, added earlier, has started the event loop by now.
        global _current
        loop = get_event_loop_thread()
        if loop is None:
            raise RuntimeError("the AsyncIO middleware must come before WorkerResourcesMiddleware")
        pool = loop.run_coroutine(create_pool(self.settings.database))
        _current = WorkerResources(
            settings=self.settings,
            pool=pool,
            jobs=JobRepository(pool),
            store=object_store(self.settings.storage),
        )

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # After hooks run in reverse order, so this runs before AsyncIO stops the loop, and
        # after the worker threads have stopped or their shutdown timeout ran out: an actor
        # still holding a connection then is abandoned, and its connection closed under it.
        global _current
        loop = get_event_loop_thread()
        if _current is not None and loop is not None:
            loop.run_coroutine(_close_pool(_current.pool))
        _current = None


async def _close_pool(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
    except TimeoutError:
        pool.terminate()
