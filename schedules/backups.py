"""Database backups: `pg_dump` streamed into object storage, with the configuration, kept for
BACKUP_RETENTION_DAYS.

One backup is a folder named by its UTC start time, `backups/20261129T020000Z/`, holding
`configuration.json` (the settings, secrets redacted), `database.dump` (pg_dump's custom
format, sent part by part as pg_dump writes it, never whole on disk or in memory) and, written
last, `manifest.json` with each file's size and SHA-256. A folder without a manifest is a
backup that did not finish: it is listed as incomplete and never restored.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import importlib.util
import ipaddress
import logging
import os
import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from core.settings import BackupSettings, Settings
from storage.objects import ObjectStore, StoredObject, object_store

log = logging.getLogger(__name__)

NAME_FORMAT = "%Y%m%dT%H%M%SZ"
DATABASE_FILE = "database.dump"
CONFIGURATION_FILE = "configuration.json"
MANIFEST_FILE = "manifest.json"
PG_TOOLS = ("pg_dump", "pg_restore", "psql")
READ_BYTES = 1024 * 1024
REDACTED = "[redacted]"
# A setting whose name ends in one of these words holds a secret, whatever tier adds it.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "secret", "secrets", "key", "keys", "token", "headers", "credentials"}
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


class Backup(msgspec.Struct, frozen=True, kw_only=True):
    """A complete backup, as its manifest describes it."""

    name: str
    started_at: dt.datetime
    finished_at: dt.datetime
    database: StoredObject
    configuration: StoredObject
    # The newest migration applied when the dump began, and what made the dump.
    schema_version: int
    server_version: str
    pg_dump_major: int


class BackupRun(msgspec.Struct, frozen=True):
    """A backup just made, and the names of the old backups it let go."""

    backup: Backup
    deleted: list[str]


class Listed(msgspec.Struct, frozen=True):
    """A backup folder in storage; without a manifest, a backup that never finished."""

    name: str
    keys: list[str]
    manifest_key: str

    @property
    def complete(self) -> bool:
        return self.manifest_key in self.keys


async def run_backup(settings: Settings) -> BackupRun:
    """Backs the database up into storage, then deletes backups past the retention.

    The nightly periodic task and `tdbuddy backup`. Raises BackupError, leaving no manifest,
    when the dump fails; a failure to delete old backups is logged and tried again next time.
    """
    if settings.database.url is None:
        raise BackupError("DATABASE_URL is not set")
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = started.strftime(NAME_FORMAT)
    folder = f"{settings.backups.prefix}{name}/"
    store = object_store(settings.storage)
    server = await server_facts(settings.database.url)
    tools = await asyncio.to_thread(find_pg_tools, settings.backups.pg_bin, server.major)
    if await asyncio.to_thread(store.list_keys, folder):
        raise BackupError(f"a backup named {name} exists already; try again in a second")
    # The configuration goes first: a dump that dies midway leaves a folder that shows up as
    # an incomplete backup, which retention deletes in its time.
    configuration = await asyncio.to_thread(
        _put,
        store,
        folder + CONFIGURATION_FILE,
        msgspec.json.format(msgspec.json.encode(configuration_document(settings))),
    )
    database = await _dump(tools, settings.database.url, store, folder + DATABASE_FILE)
    backup = Backup(
        name=name,
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        database=database,
        configuration=configuration,
        schema_version=server.schema_version,
        server_version=server.version,
        pg_dump_major=tools.major,
    )
    manifest = msgspec.json.format(msgspec.json.encode(backup))
    await asyncio.to_thread(_put, store, folder + MANIFEST_FILE, manifest)
    log.info("backup %s complete: %d bytes of database", name, database.size_bytes)
    try:
        deleted = await asyncio.to_thread(
            delete_expired, store, settings.backups, started, keep=name
        )
    except Exception:
        log.exception("backup %s is complete, but deleting backups past retention failed", name)
        deleted = []
    return BackupRun(backup, deleted)


class ServerFacts(msgspec.Struct, frozen=True):
    version: str
    major: int
    schema_version: int


async def server_facts(database_url: str) -> ServerFacts:
    """The server's version and the database's newest migration (0 when none is applied)."""
    conn = await asyncpg.connect(database_url)
    try:
        number = int(await conn.fetchval("SHOW server_version_num"))
        version = await conn.fetchval("SHOW server_version")
        migrated = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        schema = (
            await conn.fetchval("SELECT max(version) FROM schema_migrations") if migrated else 0
        )
    finally:
        await conn.close()
    return ServerFacts(version.split()[0], number // 10000, schema or 0)


class PgTools(msgspec.Struct, frozen=True):
    """A folder holding pg_dump, pg_restore and psql of one PostgreSQL major version."""

    folder: Path
    major: int

    def command(self, tool: str) -> str:
        return str(self.folder / tool)


def find_pg_tools(configured: Path | None, at_least: int) -> PgTools:
    """The first folder with pg_dump, pg_restore and psql of major version `at_least` or newer.

    PG_BIN when set, else PATH, then where PostgreSQL packages install them, then the embedded
    server's own (`tdbuddy dev`). pg_dump refuses a server newer than itself, and pg_restore an
    archive newer than itself, hence the version check.
    """
    candidates = [configured] if configured else _usual_folders()
    seen = []
    for folder in candidates:
        if not all((folder / tool).is_file() for tool in PG_TOOLS):
            continue
        major = _major_version(folder / "pg_dump")
        if major is not None and major >= at_least:
            return PgTools(folder, major)
        seen.append(f"{folder} ({major})")
    where = "PG_BIN" if configured else "PATH or the usual places"
    found = f"; found only: {', '.join(seen)}" if seen else ""
    raise BackupError(
        f"no PostgreSQL {at_least} or newer client tools ({', '.join(PG_TOOLS)}) in {where}"
        f"{found}. Install them, or set PG_BIN to their folder"
    )


def _usual_folders() -> list[Path]:
    on_path = [Path(found).parent for found in [shutil.which("pg_dump")] if found]
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
        reverse=True,
    )
    installed += sorted(Path("/opt/homebrew/opt").glob("postgresql@*/bin"), reverse=True)
    embedded = importlib.util.find_spec("pgserver")
    if embedded is not None and embedded.submodule_search_locations:
        installed.append(Path(embedded.submodule_search_locations[0]) / "pginstall" / "bin")
    return on_path + installed


def _major_version(pg_dump: Path) -> int | None:
    try:
        answer = subprocess.run(
            [str(pg_dump), "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", answer.stdout)
    return int(found.group(1)) if found else None


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that hands the password over.

    A password on a command line is visible to every user of the host (`ps`); libpq reads
    PGPASSWORD instead.
    """
    parts = urllib.parse.urlsplit(database_url)
    env = dict(os.environ)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not (at and colon):
        return database_url, env
    env["PGPASSWORD"] = urllib.parse.unquote(password)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{hostport}")), env


async def _dump(tools: PgTools, database_url: str, store: ObjectStore, key: str) -> StoredObject:
    """pg_dump's output stored at `key` as it comes; the upload is aborted if the dump fails."""
    url, env = libpq_target(database_url)
    dump = await asyncio.create_subprocess_exec(
        tools.command("pg_dump"),
        "--format=custom",
        "--no-password",
        "--lock-wait-timeout=5min",
        f"--dbname={url}",
        stdin=subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert dump.stdout is not None and dump.stderr is not None
    errors = asyncio.create_task(dump.stderr.read())
    writer = None
    try:
        writer = await asyncio.to_thread(store.open_writer, key, "application/octet-stream")
        while chunk := await dump.stdout.read(READ_BYTES):
            await asyncio.to_thread(writer.write, chunk)
        if await dump.wait() != 0:
            message = (await errors).decode(errors="replace").strip()
            raise BackupError(f"pg_dump failed (exit {dump.returncode}): {message}")
        return await asyncio.to_thread(writer.commit)
    except BaseException:
        if dump.returncode is None:
            dump.kill()
            await dump.wait()
        if writer is not None:
            await asyncio.to_thread(writer.abort)
        raise
    finally:
        await errors


def _put(store: ObjectStore, key: str, content: bytes) -> StoredObject:
    writer = store.open_writer(key, "application/json")
    try:
        writer.write(content)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def list_backups(store: ObjectStore, settings: BackupSettings) -> list[Listed]:
    """Every backup folder in storage, oldest first, complete or not."""
    folders: dict[str, list[str]] = {}
    for key in store.list_keys(settings.prefix):
        name, slash, _ = key.removeprefix(settings.prefix).partition("/")
        if slash and _backup_time(name) is not None:
            folders.setdefault(name, []).append(key)
    return [
        Listed(name, keys, f"{settings.prefix}{name}/{MANIFEST_FILE}")
        for name, keys in sorted(folders.items())
    ]


def read_manifest(store: ObjectStore, listed: Listed) -> Backup:
    return msgspec.json.decode(b"".join(store.read(listed.manifest_key)), type=Backup)


def find_backup(store: ObjectStore, settings: BackupSettings, name: str) -> Backup:
    """The complete backup called `name`; BackupError when it is missing or unfinished."""
    listed = list_backups(store, settings)
    for entry in listed:
        if entry.name == name:
            if not entry.complete:
                raise BackupError(
                    f"backup {name} is incomplete (it has no {MANIFEST_FILE}: the backup did "
                    "not finish) and cannot be restored"
                )
            return read_manifest(store, entry)
    complete = [entry.name for entry in listed if entry.complete]
    offer = f"; complete backups: {', '.join(complete[-5:])}" if complete else ""
    raise BackupError(f"no backup {name} under {settings.prefix}{offer}")


def delete_expired(
    store: ObjectStore, settings: BackupSettings, now: dt.datetime, keep: str
) -> list[str]:
    """Deletes every backup, complete or not, begun more than the retention before `now`,
    except `keep`; returns their names. The manifest goes first, so that a backup half
    deleted is never offered for restore."""
    cutoff = now - dt.timedelta(days=settings.retention_days)
    deleted = []
    for entry in list_backups(store, settings):
        started = _backup_time(entry.name)
        if entry.name == keep or started is None or started >= cutoff:
            continue
        for key in sorted(entry.keys, key=lambda key: not key.endswith(MANIFEST_FILE)):
            store.delete(key)
        store.abort_uploads(f"{settings.prefix}{entry.name}/")
        deleted.append(entry.name)
    if deleted:
        log.info("deleted %d backups older than %d days", len(deleted), settings.retention_days)
    return deleted


def _backup_time(name: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(name, NAME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def configuration_document(settings: Settings) -> dict[str, Any]:
    """Every setting as plain JSON values, with secrets and URL passwords replaced."""
    document: dict[str, Any] = _plain(settings)
    return document


def _plain(value: Any, name: str = "") -> Any:
    if _secret_name(name) and value not in (None, "", {}, ()):
        # Which link-signing key versions there were is worth knowing; the keys are not.
        return {str(k): REDACTED for k in value} if isinstance(value, Mapping) else REDACTED
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return _without_password(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Path | ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    return REDACTED  # bytes, or anything else a setting may hold one day: not worth a leak


def _secret_name(name: str) -> bool:
    return name.rpartition("_")[2].lower() in _SECRET_WORDS


def _without_password(text: str) -> str:
    """`text`, with the password of a URL in it (scheme://user:password@host) replaced."""
    if "://" not in text:
        return text
    parts = urllib.parse.urlsplit(text)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    netloc = f"{user}:{REDACTED}@{hostport}" if at and colon else parts.netloc
    query = urllib.parse.urlencode(
        [
            (key, REDACTED if _secret_name(key) else item)
            for key, item in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="[]/",
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def human_size(size_bytes: int) -> str:
    """`1.2 MiB`, `512 bytes`."""
    size = float(size_bytes)
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def run_backup_command(args: argparse.Namespace) -> int:
    """`tdbuddy backup`: one backup now, then retention."""
    try:
        done = asyncio.run(run_backup(Settings.from_env()))
    except BackupError as exc:
        raise SystemExit(f"backup failed: {exc}") from None
    backup = done.backup
    print(
        f"backup {backup.name} complete: {DATABASE_FILE} {human_size(backup.database.size_bytes)} "
        f"(sha256 {backup.database.sha256}), schema version {backup.schema_version}"
    )
    print(f"restore it with: tdbuddy restore {backup.name}")
    if done.deleted:
        print(f"deleted backups past retention: {', '.join(done.deleted)}")
    return 0


def run_backups_command(args: argparse.Namespace) -> int:
    """`tdbuddy backups list`: every backup in storage, oldest first."""
    settings = Settings.from_env()
    store = object_store(settings.storage)
    listed = list_backups(store, settings.backups)
    if not listed:
        print(f"no backups under {settings.backups.prefix}")
    for entry in listed:
        if not entry.complete:
            print(f"{entry.name}  incomplete (no {MANIFEST_FILE}): cannot be restored")
            continue
        try:
            backup = read_manifest(store, entry)
        except msgspec.DecodeError as exc:
            print(f"{entry.name}  damaged: {MANIFEST_FILE} cannot be read ({exc})")
            continue
        print(
            f"{entry.name}  complete  {human_size(backup.database.size_bytes)}  "
            f"schema version {backup.schema_version}  PostgreSQL {backup.server_version}"
        )
    return 0
