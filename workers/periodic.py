"""Running one tick of a periodic task that the scheduler sent (schedules/periodic.py)."""

from __future__ import annotations

import datetime as dt
import logging

from schedules.periodic import periodic_tasks
from storage.ticks import TickRepository
from workers.resources import WorkerResources

log = logging.getLogger(__name__)


async def run_periodic_task(resources: WorkerResources, task_name: str, tick_text: str) -> None:
    """Runs the task for its tick, unless that tick is done already: a message delivered
    again, or sent twice after a scheduler died, runs the task once. A run that raises is
    retried by Dramatiq."""
    tick = dt.datetime.fromisoformat(tick_text)
    task = next((t for t in periodic_tasks(resources.settings) if t.name == task_name), None)
    if task is None:
        log.error(
            "no periodic task is called %r (sent by a scheduler of another version?)", task_name
        )
        return
    ticks = TickRepository(resources.pool)
    if not await ticks.begin_run(task_name, tick):
        log.info("periodic task %s for %s is done already", task_name, tick_text)
        return
    outcome = await task.run(resources, tick)
    await ticks.finish_run(task_name, tick)
    # Most runs find nothing to do (no file expired this minute): only work done is news.
    log.log(
        logging.INFO if outcome else logging.DEBUG,
        "periodic task %s for %s done: %s",
        task_name,
        tick_text,
        outcome,
    )
