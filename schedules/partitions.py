"""The job history's monthly partitions (migration 0011), made ahead of time."""

from __future__ import annotations

import logging

import asyncpg

from storage.queries import query

log = logging.getLogger(__name__)


async def create_history_partitions(pool: asyncpg.Pool, months_ahead: int) -> list[str]:
    """Makes this UTC month's partition of job_history and the next `months_ahead` months'
    where missing; returns the names of those it made. Harmless to run again."""
    made = [
        row["made"] for row in await pool.fetch(query("create_history_partitions"), months_ahead)
    ]
    for name in made:
        log.info("made the job history partition %s", name)
    return made
