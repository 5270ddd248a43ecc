"""The ticks of periodic tasks in PostgreSQL (migration 0010): each claimed by one scheduler,
sent once, and run once by a worker however often its message arrives."""

from __future__ import annotations

import datetime as dt

import asyncpg

from storage.queries import query


class TickRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, task: str, tick: dt.datetime) -> bool:
        """True when this call claimed the tick, so its caller must send it; False when
        another scheduler (or this one, earlier) had."""
        return await self._pool.fetchval(query("claim_tick"), task, tick) is not None

    async def mark_sent(self, task: str, tick: dt.datetime) -> None:
        await self._pool.execute(query("mark_tick_sent"), task, tick)

    async def unclaim(self, task: str, tick: dt.datetime) -> None:
        """Frees a claimed tick whose message could not be sent, to be claimed again."""
        await self._pool.execute(query("unclaim_tick"), task, tick)

    async def claim_unsent(self, older_than_seconds: float) -> list[tuple[str, dt.datetime]]:
        """Ticks claimed that long ago and never sent (their scheduler died), claimed anew."""
        rows = await self._pool.fetch(query("claim_unsent_ticks"), older_than_seconds)
        return [(row["task"], row["tick"]) for row in rows]

    async def begin_run(self, task: str, tick: dt.datetime) -> bool:
        """True when the tick is still to run (the run is counted); False when it is done."""
        return await self._pool.fetchval(query("begin_tick_run"), task, tick) is not None

    async def finish_run(self, task: str, tick: dt.datetime) -> None:
        await self._pool.execute(query("finish_tick_run"), task, tick)

    async def delete_old(self, days: int) -> int:
        """Forgets ticks older than `days` (each task's newest stays); returns how many."""
        status = await self._pool.execute(query("delete_old_ticks"), days)
        return int(status.split()[-1])
