"""PostgreSQL: the connection pool and the numbered migrations of storage/sql/migrations."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.resources import files

import asyncpg
import msgspec

from core.settings import DatabaseSettings

log = logging.getLogger(__name__)

# Any number will do as long as it is ours alone: it serialises concurrent migrators.
_MIGRATION_LOCK = 0x7464_6275_6464_79

# What asyncpg raises while the server cannot be reached or is going away (a restart, a
# failover, a full connection table). The pool reconnects by itself once the server is back,
# so the same call made a little later succeeds.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; TimeoutError is one too
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-query
    asyncpg.AdminShutdownError,  # 57P01: the server is shutting down
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
)


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached now, rather than a bug or bad data."""
    if isinstance(exc, _UNAVAILABLE):
        return True
    # A connection the server has just ended, used in the instant before asyncpg notices the
    # closed socket, fails with this protocol-state error instead of a connection error
    # (MagicStack/asyncpg#1069); the pool replaces the connection on its next checkout.
    return isinstance(exc, asyncpg.InternalClientError) and str(exc).startswith(
        "cannot switch to state"
    )


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with this version, in the order they apply."""
    found = []
    for entry in files("storage.sql.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(
                Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8"))
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Applies the migrations not yet recorded in schema_migrations; returns their numbers."""
    applied_now: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("applied migration %04d %s", migration.version, migration.name)
            applied_now.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied_now


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: msgspec.json.encode(value).decode(),
        decoder=msgspec.json.decode,
        schema="pg_catalog",
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release a connection to the pool as it is, without asyncpg's reset query.

    The default runs `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
    release: a round trip that cost 13 % of the API's event loop per request. Nothing here
    leaves session state behind (advisory locks are transaction-scoped, except the
    migrator's, which it unlocks itself; a listener unlistens before it gives its connection
    back (storage/listening.py); no cursors, no SET), and asyncpg still rolls back a
    transaction left open.
    """


async def create_pool(settings: DatabaseSettings) -> asyncpg.Pool:
    """A connection pool on settings.url, with jsonb read and written as Python values."""
    if settings.url is None:
        raise RuntimeError("DATABASE_URL is not set (tdbuddy dev sets it for the embedded server)")
    pool = await asyncpg.create_pool(
        settings.url,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        command_timeout=settings.command_timeout,
        init=_init_connection,
        reset=_keep_session,
    )
    assert pool is not None
    return pool
