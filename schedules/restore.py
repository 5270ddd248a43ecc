"""`tdbuddy restore <backup>`: a database made again exactly as a backup holds it.

Every schema of the target is dropped and the backup loaded in its place, in one transaction:
pg_restore turns the archive, streamed from storage, into SQL that psql runs inside BEGIN …
COMMIT. psql is only let reach the COMMIT once pg_restore has read the whole archive and its
size and SHA-256 match the manifest; on any failure psql is stopped first, so the transaction
rolls back and the target is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import subprocess
from collections.abc import Iterator

import asyncpg
import msgspec

from core.settings import Settings
from schedules.backups import (
    DATABASE_FILE,
    Backup,
    BackupError,
    PgTools,
    find_backup,
    find_pg_tools,
    human_size,
    libpq_target,
    server_facts,
)
from storage.database import migrations
from storage.objects import object_store

RELAY_BYTES = 256 * 1024
# What a program that stopped reading its input makes the writer raise.
_STOPPED_READING = (BrokenPipeError, ConnectionResetError)


class RestoreRefused(BackupError):
    """The target holds data and the caller did not say to replace it; the message says what
    a restore would do."""


class Restored(msgspec.Struct, frozen=True):
    backup: Backup
    database: str
    # The backup's schema is older than this version's migrations: `tdbuddy migrate` next.
    needs_migrate: bool


class Target(msgspec.Struct, frozen=True):
    """What the database to restore into holds now."""

    name: str
    server_major: int
    schemas: list[str]
    tables: list[str]


async def restore_backup(
    settings: Settings, name: str, database_url: str | None = None, replace: bool = False
) -> Restored:
    """Makes the database (`database_url`, default DATABASE_URL) what backup `name` holds.

    Raises RestoreRefused when the database has tables and `replace` is False, and
    BackupError, with the database left as it was, when the backup is missing, incomplete,
    damaged, or the database refuses it.
    """
    url = database_url or settings.database.url
    if url is None:
        raise BackupError("no database to restore into: set DATABASE_URL or pass --database-url")
    store = object_store(settings.storage)
    backup = await asyncio.to_thread(find_backup, store, settings.backups, name)
    target = await inspect_target(url)
    if target.tables and not replace:
        raise RestoreRefused(describe_restore(backup, target))
    tools = await asyncio.to_thread(
        find_pg_tools, settings.backups.pg_bin, max(target.server_major, backup.pg_dump_major)
    )
    try:
        archive = await asyncio.to_thread(store.read, backup.database.key)
    except Exception as exc:  # botocore's NoSuchKey, OSError: the file is gone or unreadable
        raise BackupError(f"cannot read {backup.database.key}: {exc}") from exc
    await _load(tools, url, wipe_sql(target.schemas), archive, backup)
    restored = await server_facts(url)
    latest = max(migration.version for migration in migrations())
    return Restored(backup, target.name, needs_migrate=restored.schema_version < latest)


async def inspect_target(database_url: str) -> Target:
    conn = await asyncpg.connect(database_url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace"
            " WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1"
        )
        tables = await conn.fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\\_%'"
            " AND n.nspname <> 'information_schema' ORDER BY 1"
        )
    finally:
        await conn.close()
    return Target(name, major, [r["nspname"] for r in schemas], [r["name"] for r in tables])


def describe_restore(backup: Backup, target: Target) -> str:
    """What restoring `backup` into `target` does, for a person to confirm."""
    shown = ", ".join(target.tables[:6]) + (", …" if len(target.tables) > 6 else "")
    return (
        f"database {target.name!r} holds {len(target.tables)} tables ({shown}). Restoring "
        f"backup {backup.name} (taken {backup.started_at:%Y-%m-%d %H:%M} UTC, schema version "
        f"{backup.schema_version}, {human_size(backup.database.size_bytes)}) drops every schema "
        f"in it ({', '.join(target.schemas)}) with all its data and loads the backup instead, "
        "in one transaction. Stop the API, workers and scheduler first, then run again with "
        "--yes to go ahead."
    )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def wipe_sql(schemas: list[str]) -> str:
    """SQL that leaves the database as CREATE DATABASE makes it: only an empty `public`
    schema, owned and granted as PostgreSQL 15 makes it."""
    drops = "".join(f"DROP SCHEMA IF EXISTS {_identifier(s)} CASCADE;\n" for s in schemas)
    return (
        "SET client_min_messages = warning;\n"
        # A service still connected holds locks: fail and say so rather than wait for ever.
        "SET lock_timeout = '1min';\n"
        f"{drops}"
        "CREATE SCHEMA IF NOT EXISTS public AUTHORIZATION pg_database_owner;\n"
        "GRANT USAGE ON SCHEMA public TO PUBLIC;\n"
        "COMMENT ON SCHEMA public IS 'standard public schema';\n"
    )


async def _load(
    tools: PgTools, database_url: str, wipe: str, archive: Iterator[bytes], backup: Backup
) -> None:
    url, env = libpq_target(database_url)
    psql = await asyncio.create_subprocess_exec(
        tools.command("psql"),
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "--single-transaction",
        "--set=ON_ERROR_STOP=1",
        f"--dbname={url}",
        "--file=-",
        stdin=asyncio.subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    pg_restore = await asyncio.create_subprocess_exec(
        tools.command("pg_restore"),
        "--no-owner",
        "--file=-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert psql.stdin and psql.stderr and pg_restore.stdin and pg_restore.stdout
    assert pg_restore.stderr
    psql_errors = asyncio.create_task(psql.stderr.read())
    restore_errors = asyncio.create_task(pg_restore.stderr.read())
    psql.stdin.write(wipe.encode())
    feed = asyncio.create_task(_feed(archive, pg_restore.stdin))
    relay = asyncio.create_task(_relay(pg_restore.stdout, psql.stdin, pg_restore))
    try:
        size, sha256 = await feed
        if await relay:
            await psql.wait()
            raise BackupError(refused(backup, (await psql_errors).decode(errors="replace")))
        if await pg_restore.wait() != 0:
            message = (await restore_errors).decode(errors="replace").strip()
            raise BackupError(f"pg_restore could not read backup {backup.name}: {message}")
        if (size, sha256) != (backup.database.size_bytes, backup.database.sha256):
            raise BackupError(
                f"backup {backup.name}'s {DATABASE_FILE} is damaged: {size} bytes with SHA-256 "
                f"{sha256}, its manifest says {backup.database.size_bytes} bytes with "
                f"{backup.database.sha256}; the database was left as it was"
            )
        psql.stdin.close()  # psql commits once its input ends
        if await psql.wait() != 0:
            raise BackupError(refused(backup, (await psql_errors).decode(errors="replace")))
    except BaseException:
        # psql first: its connection ending rolls the transaction back.
        for program in (psql, pg_restore):
            if program.returncode is None:
                program.kill()
        raise
    finally:
        for task in (feed, relay):
            task.cancel()
        await asyncio.gather(feed, relay, psql_errors, restore_errors, return_exceptions=True)
        await psql.wait()
        await pg_restore.wait()


async def _feed(archive: Iterator[bytes], into: asyncio.StreamWriter) -> tuple[int, str]:
    """Writes the archive into pg_restore; returns the size and SHA-256 of what it read."""
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := await asyncio.to_thread(next, archive, b""):
            digest.update(chunk)
            size += len(chunk)
            into.write(chunk)
            await into.drain()
        into.close()
        await into.wait_closed()
    except _STOPPED_READING:
        pass  # pg_restore gave up; its exit status and message say why
    return size, digest.hexdigest()


async def _relay(
    source: asyncio.StreamReader, into: asyncio.StreamWriter, producer: asyncio.subprocess.Process
) -> bool:
    """Copies pg_restore's SQL into psql; True, with pg_restore stopped, when psql stopped
    reading (on an error)."""
    try:
        while chunk := await source.read(RELAY_BYTES):
            into.write(chunk)
            await into.drain()
    except _STOPPED_READING:
        producer.kill()
        return True
    return False


def refused(backup: Backup, psql_errors: str) -> str:
    return (
        f"the database refused backup {backup.name} and was left as it was: {psql_errors.strip()}"
    )


def run_restore(args: argparse.Namespace) -> int:
    """`tdbuddy restore <backup> [--yes] [--database-url URL]`."""
    settings = Settings.from_env()
    try:
        restored = asyncio.run(
            restore_backup(settings, args.backup, args.database_url, replace=args.yes)
        )
    except RestoreRefused as exc:
        print(str(exc))
        return 2
    except BackupError as exc:
        raise SystemExit(f"restore failed: {exc}") from None
    print(f"restored backup {restored.backup.name} into database {restored.database!r}")
    if restored.needs_migrate:
        print("its schema is older than this version's: run `tdbuddy migrate` next")
    return 0
