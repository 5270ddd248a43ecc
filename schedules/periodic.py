"""Periodic tasks: what the scheduler sends to the workers on a schedule, once per tick.

Each task has a cadence: every N seconds (ticks at multiples of N since the epoch), or daily
at a UTC time of day. When a tick comes, the scheduler claims it in PostgreSQL
(scheduled_ticks, primary key (task, tick)) and only the claimant sends the task's message:
two schedulers running by mistake send each tick once. The worker records the run there and
does nothing for a tick already done, so a message delivered twice runs once.

A tick missed while no scheduler ran is caught up once, at start: only the latest tick of
each task is sent, not every one missed, since each run does all the work that is due by
then. Adding a task is one entry in `periodic_tasks`: a name, a cadence, and an async
function of the worker's resources and the tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import dramatiq

from core.metrics import record_backup_success
from core.settings import Settings
from schedules.backups import run_backup
from schedules.expiry import expire_files
from schedules.partitions import create_history_partitions
from schedules.uploads import abort_stale_uploads
from storage.idempotency import SubmissionRepository
from storage.statistics import roll_up_since_last
from storage.ticks import TickRepository
from workers.messages import periodic_queue, send_periodic_task

if TYPE_CHECKING:
    from workers.resources import WorkerResources

log = logging.getLogger(__name__)

# A claimed tick still unsent after this long lost its scheduler: any scheduler sends it.
RESEND_AFTER_SECONDS = 60.0
# Ticks are kept this long (each task's newest for ever): what ran when, for an operator.
TICK_RETENTION_DAYS = 30


class Cadence(Protocol):
    def latest(self, now: dt.datetime) -> dt.datetime:
        """The last tick at or before `now`."""
        ...

    def following(self, now: dt.datetime) -> dt.datetime:
        """The first tick after `now`."""
        ...


@dataclass(frozen=True)
class Every:
    """Ticks every `seconds`, at multiples of it since the Unix epoch (UTC)."""

    seconds: float

    def latest(self, now: dt.datetime) -> dt.datetime:
        ticks = math.floor(now.timestamp() / self.seconds)
        return dt.datetime.fromtimestamp(ticks * self.seconds, dt.UTC)

    def following(self, now: dt.datetime) -> dt.datetime:
        return self.latest(now) + dt.timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class DailyAt:
    """One tick a day, at a UTC time of day."""

    time: dt.time

    @classmethod
    def parse(cls, text: str) -> DailyAt:
        """From "HH:MM" (UTC)."""
        return cls(dt.time.fromisoformat(text))

    def latest(self, now: dt.datetime) -> dt.datetime:
        today = dt.datetime.combine(now.astimezone(dt.UTC).date(), self.time, dt.UTC)
        return today if today <= now else today - dt.timedelta(days=1)

    def following(self, now: dt.datetime) -> dt.datetime:
        return self.latest(now) + dt.timedelta(days=1)


TaskRun = Callable[["WorkerResources", dt.datetime], Awaitable[object]]


@dataclass(frozen=True)
class PeriodicTask:
    """A task the scheduler sends on its cadence; `run` is awaited by a worker with the
    worker's resources and the tick (when it was due), and may return a count to log."""

    name: str
    cadence: Cadence
    run: TaskRun


async def backup(settings: Settings) -> str:
    """The nightly backup; what the worker logs of it."""
    run = await run_backup(settings)
    record_backup_success(run.backup.finished_at.timestamp())  # the 26 h alert watches it
    return f"backup {run.backup.name}, {len(run.deleted)} old backup(s) deleted"


def periodic_tasks(settings: Settings) -> tuple[PeriodicTask, ...]:
    """Every periodic task, with the cadences the settings give."""
    every = settings.periodic
    return (
        PeriodicTask(
            "expire_files",
            Every(every.expiry_interval_seconds),
            lambda r, tick: expire_files(r.jobs, SubmissionRepository(r.pool), r.store),
        ),
        PeriodicTask(
            "abort_stale_uploads",
            Every(every.stale_uploads_interval_seconds),
            lambda r, tick: abort_stale_uploads(r.pool, r.store, r.settings),
        ),
        PeriodicTask(
            "delete_expired_idempotency_keys",
            Every(every.idempotency_cleanup_interval_seconds),
            lambda r, tick: SubmissionRepository(r.pool).delete_expired_keys(),
        ),
        PeriodicTask(
            "create_history_partitions",
            DailyAt.parse(every.partitions_at),
            lambda r, tick: create_history_partitions(r.pool, every.partition_months_ahead),
        ),
        PeriodicTask(
            "roll_up_statistics",
            DailyAt.parse(every.statistics_at),
            lambda r, tick: roll_up_since_last(r.pool, tick),
        ),
        PeriodicTask("backup", DailyAt.parse(every.backup_at), lambda r, tick: backup(r.settings)),
        PeriodicTask(
            "forget_old_ticks",
            Every(24 * 3600),
            lambda r, tick: TickRepository(r.pool).delete_old(TICK_RETENTION_DAYS),
        ),
    )


async def send_periodic_tasks(
    settings: Settings, ticks: TickRepository, broker: dramatiq.Broker, stop: asyncio.Event
) -> None:
    """Sends each task's message at each of its ticks, until `stop` is set. A tick another
    scheduler claimed is left to it; a failed round is tried again after the reconcile
    interval."""
    tasks = periodic_tasks(settings)
    queue = periodic_queue(settings.broker.queue)
    handled: dict[str, dt.datetime] = {}  # the last tick of each task claimed or seen taken
    while not stop.is_set():
        now = dt.datetime.now(dt.UTC)
        try:
            for task in tasks:
                tick = task.cadence.latest(now)
                if handled.get(task.name) != tick:
                    if await send_tick(ticks, broker, queue, task.name, tick):
                        log.info("sent periodic task %s for %s", task.name, tick.isoformat())
                    handled[task.name] = tick
            for name, tick in await ticks.claim_unsent(RESEND_AFTER_SECONDS):
                await _send_claimed(ticks, broker, queue, name, tick)
                log.info("sent periodic task %s for %s, claimed but unsent", name, tick)
            next_tick = min(task.cadence.following(now) for task in tasks)
            wait = min((next_tick - dt.datetime.now(dt.UTC)).total_seconds(), RESEND_AFTER_SECONDS)
        except Exception as exc:
            wait = settings.jobs.reconcile_interval_seconds
            log.warning("sending periodic tasks failed (%r); trying again in %.1f s", exc, wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.0))


async def send_tick(
    ticks: TickRepository, broker: dramatiq.Broker, queue: str, task: str, tick: dt.datetime
) -> bool:
    """Claims the tick and sends its message; False when it was claimed before."""
    if not await ticks.claim(task, tick):
        return False
    try:
        await _send_claimed(ticks, broker, queue, task, tick)
    except Exception:
        # Free to claim again when the broker is back; if even this fails, the claim is
        # sent again once RESEND_AFTER_SECONDS have passed.
        with contextlib.suppress(Exception):
            await ticks.unclaim(task, tick)
        raise
    return True


async def _send_claimed(
    ticks: TickRepository, broker: dramatiq.Broker, queue: str, task: str, tick: dt.datetime
) -> None:
    await asyncio.to_thread(send_periodic_task, broker, queue, task, tick)
    await ticks.mark_sent(task, tick)
