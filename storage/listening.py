"""LISTEN on a PostgreSQL channel through a connection taken from a pool, kept for as long as
the listening lasts, and told apart from a listening that the database has cut off."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)


class Listening:
    """One channel listened to; `alive` turns False when its connection is lost."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        connection: asyncpg.Connection,
        channel: str,
        callback: Callable[[str], None],
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._channel = channel
        self._callback = callback
        self._closed = False

    @property
    def alive(self) -> bool:
        if self._closed:
            return False
        try:
            return not self._connection.is_closed()
        except asyncpg.InterfaceError:  # the pool took the connection back
            return False

    def _on_notify(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._callback(payload)

    async def close(self) -> None:
        """Stops listening and gives the connection back (the pool replaces a broken one)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self._connection.remove_listener(self._channel, self._on_notify)
        with contextlib.suppress(Exception):
            await self._pool.release(self._connection, timeout=5)


async def listen(
    pool: asyncpg.Pool,
    channel: str,
    callback: Callable[[str], None],
    on_lost: Callable[[], None] | None = None,
) -> Listening | None:
    """Listens on `channel`, calling `callback(payload)` for every NOTIFY, and `on_lost()`
    once if the connection is lost; None while the database cannot be reached."""
    try:
        connection: asyncpg.Connection = await pool.acquire()
    except Exception:
        log.warning("cannot listen on %s now: the database is unreachable", channel)
        return None
    listening = Listening(pool, connection, channel, callback)
    try:
        await connection.add_listener(channel, listening._on_notify)
        if on_lost is not None:
            connection.add_termination_listener(lambda _connection: on_lost())
    except Exception:
        log.warning("cannot listen on %s now", channel)
        await listening.close()
        return None
    return listening
