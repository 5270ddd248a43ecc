"""Holding a lease (on a job or a shard) in the background while the work goes on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from storage.jobs import JobRecord
from workers.resources import WorkerResources

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def holding_lease(
    renew: Callable[[], Awaitable[bool]], lease_seconds: float, what: str
) -> AsyncIterator[asyncio.Event]:
    """Calls ``renew`` three times a lease; the event is set once it answers False (lost).

    Heartbeats must not wait for a block to finish: a slow block or upload would otherwise
    look like a dead worker. A renewal that raises (the database is restarting, say) is
    tried again at the next beat.
    """
    lost = asyncio.Event()

    async def beat() -> None:
        while True:
            await asyncio.sleep(lease_seconds / 3)
            try:
                if not await renew():
                    lost.set()
                    return
            except Exception:
                log.warning("could not renew the lease of %s", what, exc_info=True)

    task = asyncio.create_task(beat())
    try:
        yield lost
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def job_lease(res: WorkerResources, job: JobRecord) -> AbstractAsyncContextManager[asyncio.Event]:
    """The job attempt's lease, renewed in the background; the event is set once it is lost."""
    return holding_lease(
        lambda: res.jobs.renew_lease(job.id, job.attempt),
        res.settings.jobs.lease_seconds,
        f"job {job.id}",
    )
