"""The restore drill: a database full of real data is backed up with `tdbuddy backup`, wiped,
restored with `tdbuddy restore`, and every table, sequence and piece of schema is found as it
was. Also: retention, backups that did not finish, and secrets kept out of the backup."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import pytest

from core.settings import DatabaseSettings, Settings
from schedules.backups import BackupError, find_pg_tools, run_backup
from schedules.restore import restore_backup
from storage.accounts import AccountRepository
from storage.database import create_pool
from storage.deliveries import DeliveryRepository, DeliveryState, Outcome
from storage.idempotency import IdempotencyKey, SubmissionRepository
from storage.jobs import JobRepository, NewJob
from storage.plans import Plan, PlanRepository
from storage.shards import ShardRepository
from storage.webhooks import WebhookRepository
from tests.services import LINK_KEY, ROOT, create_database, drop_database, run_sql

NAME = re.compile(r"backup (\d{8}T\d{6}Z) complete")
USER_SCHEMAS = "n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"
# Tables the seed must fill, so that comparing them proves something.
SEEDED = (
    "users",
    "api_keys",
    "plans",
    "jobs",
    "job_shards",
    "job_counts",
    "idempotency_keys",
    "webhook_endpoints",
    "deliveries",
    "delivery_attempts",
    "schema_migrations",
)


@pytest.fixture
def drill_database() -> Iterator[str]:
    """A migrated database of its own, full of what the product writes."""
    url = asyncio.run(create_database("tdbuddy_drill"))
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


def backup_env(database_url: str, **env: str) -> dict[str, str]:
    """The environment of `tdbuddy backup` / `restore`, with backups under a prefix of their own."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("S3_", "DATABASE_", "BACKUP_", "STORAGE_", "PG_BIN"))
    }
    return {
        **inherited,
        "DATABASE_URL": database_url,
        "LINK_SIGNING_KEYS": LINK_KEY,
        "BACKUP_PREFIX": f"backups-{uuid.uuid4().hex[:8]}/",
        **env,
    }


def s3_env(database_url: str, endpoint: str, bucket: str, **env: str) -> dict[str, str]:
    return backup_env(database_url, S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint, **env)


def tdbuddy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`tdbuddy …` run as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def s3_keys(endpoint: str, bucket: str, prefix: str) -> set[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


async def seed(database_url: str) -> str:
    """Users, keys, a plan, a webhook endpoint and jobs in every state, with their shards,
    idempotency keys and delivered webhooks, written by the product's repositories; returns
    a live API key."""
    pool = await create_pool(DatabaseSettings(url=database_url))
    try:
        await PlanRepository(pool).set(
            Plan(
                name="team",
                rows_per_job=1_000_000,
                jobs_per_day=500,
                running_jobs=20,
                bytes_stored=None,
                link_seconds=3600,
            )
        )
        accounts = AccountRepository(pool)
        ann = await accounts.create_user("ann", "ann@example.com", "team")
        ken = await accounts.create_user("山田 健", None)
        key = await accounts.create_key(ann)
        revoked = await accounts.create_key(ann)
        await accounts.revoke_key(ann, revoked.id)
        await accounts.create_key(ken)
        await WebhookRepository(pool).create(
            ann, "https://hooks.example.com/tdbuddy", ["job.succeeded", "job.failed"], "CI hook"
        )
        submissions = SubmissionRepository(pool)
        made = []
        for n in range(4):
            job = NewJob(
                id=uuid.uuid4(),
                user_id=ann,
                name=f"顧客データ {n}",
                spec={"rows": 1000 * (n + 1), "locale": "ja_JP", "fields": [{"type": "name"}]},
                format="csv",
                rows_total=1000 * (n + 1),
                engine_version="1",
                file_name=f"customers-{n}.csv",
                callback_url="https://ci.example.com/done" if n == 0 else None,
            )
            idempotency = IdempotencyKey(key.id, f"order-{n}", f"{n:064x}")
            made.append((await submissions.submit(job, key=idempotency)).job)
        jobs = JobRepository(pool)
        # One succeeds, one fails, one is split into shards, one stays queued.
        succeeded = await jobs.claim(made[0].id, 30, 5)
        failed = await jobs.claim(made[1].id, 30, 5)
        sharded = await jobs.claim(made[2].id, 30, 5)
        assert succeeded and failed and sharded
        await jobs.finish(succeeded.id, succeeded.attempt, 48_213, "ab" * 32, 3600)
        await jobs.fail(failed.id, "the disk was full", failed.attempt)
        await ShardRepository(pool).plan(
            sharded.id, sharded.attempt, "upload-3", "jobs/x/1/c.csv", [(0, 1500), (1500, 3000)]
        )
        deliveries = DeliveryRepository(pool)
        for delivery_id in await deliveries.claim_to_dispatch(0):
            delivery = await deliveries.claim_attempt(delivery_id, 30)
            assert delivery is not None
            outcome = Outcome(state=DeliveryState.DELIVERED, status=204)
            await deliveries.record(delivery, outcome, dt.datetime.now(dt.UTC), 12)
    finally:
        await pool.close()
    return key.secret


async def snapshot(database_url: str) -> dict[str, Any]:
    """Every table's row count and ordered checksum, every sequence, and the schema."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS} ORDER BY 1"
        )
        contents = {}
        for (table,) in tables:
            row = await conn.fetchrow(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                f" FROM {table} t"
            )
            contents[table] = tuple(row)
        queries = {
            "migrations": "SELECT version, name, applied_at FROM schema_migrations ORDER BY 1",
            "sequences": "SELECT schemaname, sequencename, last_value FROM pg_sequences"
            " ORDER BY 1, 2",
            "columns": "SELECT table_schema, table_name, column_name, data_type, column_default,"
            " is_nullable FROM information_schema.columns"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3",
            "indexes": "SELECT indexdef FROM pg_indexes"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid)"
            f" FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            f" WHERE {USER_SCHEMAS} ORDER BY 1, 2",
            "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)"
            " FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
            "functions": "SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            f" WHERE {USER_SCHEMAS} AND p.prokind IN ('f', 'p') ORDER BY 1",
            "types": "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)"
            " FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid GROUP BY 1 ORDER BY 1",
        }
        catalog = {
            name: [tuple(row) for row in await conn.fetch(sql)]
            for name, sql in queries.items()
            if name != "migrations" or "public.schema_migrations" in contents
        }
    finally:
        await conn.close()
    return {"tables": contents, **catalog}


def assert_seeded(state: dict[str, Any]) -> None:
    counts = {table.removeprefix("public."): n for table, (n, _) in state["tables"].items()}
    assert all(counts[table] > 0 for table in SEEDED), counts


def test_the_restore_drill_finds_every_table_as_it_was_after_a_wipe(
    drill_database: str, s3_endpoint: str, s3_bucket: str
) -> None:
    api_key = asyncio.run(seed(drill_database))
    before = asyncio.run(snapshot(drill_database))
    assert_seeded(before)
    env = s3_env(drill_database, s3_endpoint, s3_bucket)

    made = tdbuddy(env, "backup")
    assert made.returncode == 0, made.stderr
    found = NAME.search(made.stdout)
    assert found, made.stdout
    name = found.group(1)
    folder = f"{env['BACKUP_PREFIX']}{name}/"
    assert s3_keys(s3_endpoint, s3_bucket, env["BACKUP_PREFIX"]) == {
        folder + "configuration.json",
        folder + "database.dump",
        folder + "manifest.json",
    }
    listed = tdbuddy(env, "backups", "list")
    assert re.search(rf"{name}\s+complete", listed.stdout), listed.stdout

    run_sql(drill_database, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    assert asyncio.run(snapshot(drill_database))["tables"] == {}

    restored = tdbuddy(env, "restore", name)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"restored backup {name}" in restored.stdout
    assert asyncio.run(snapshot(drill_database)) == before

    async def product_still_works() -> None:
        pool = await create_pool(DatabaseSettings(url=drill_database))
        try:
            accounts = AccountRepository(pool)
            caller = await accounts.caller_for_key(api_key)
            assert caller is not None and caller.name == "ann"
            # Sequences came back too: a new row does not collide with a restored one.
            assert await accounts.create_user("newcomer") > max(
                user.id for user in await accounts.list_users() if user.name != "newcomer"
            )
        finally:
            await pool.close()

    asyncio.run(product_still_works())


def test_a_restore_over_live_data_needs_yes_then_puts_back_exactly_the_backup(
    drill_database: str, tmp_path: Path
) -> None:
    """On local storage, as `tdbuddy dev` keeps it."""
    asyncio.run(seed(drill_database))
    before = asyncio.run(snapshot(drill_database))
    env = backup_env(drill_database, STORAGE_DIR=str(tmp_path / "files"))
    made = tdbuddy(env, "backup")
    assert made.returncode == 0, made.stderr
    found = NAME.search(made.stdout)
    assert found, made.stdout
    name = found.group(1)
    dump = tmp_path / "files" / env["BACKUP_PREFIX"] / name / "database.dump"
    intact = dump.read_bytes()
    assert intact.startswith(b"PGDMP")

    # Life goes on after the backup: rows change, and a later migration adds a table.
    run_sql(drill_database, "DELETE FROM delivery_attempts")
    run_sql(drill_database, "UPDATE users SET name = name || ' (renamed)'")
    run_sql(drill_database, "CREATE TABLE added_later (id integer)")
    changed = asyncio.run(snapshot(drill_database))

    refused = tdbuddy(env, "restore", name)
    assert refused.returncode == 2
    assert "drops every schema" in refused.stdout and "--yes" in refused.stdout
    assert asyncio.run(snapshot(drill_database)) == changed

    # A dump altered in storage is refused, after pg_restore read it all: nothing is changed.
    dump.write_bytes(intact + b"tampered")
    damaged = tdbuddy(env, "restore", name, "--yes")
    assert damaged.returncode != 0
    assert "database.dump is damaged" in damaged.stderr
    assert asyncio.run(snapshot(drill_database)) == changed

    dump.write_bytes(intact)
    restored = tdbuddy(env, "restore", name, "--yes")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert asyncio.run(snapshot(drill_database)) == before


def test_a_dump_bigger_than_a_part_goes_up_part_by_part_and_restores_elsewhere_whole(
    drill_database: str, s3_endpoint: str, s3_bucket: str
) -> None:
    asyncio.run(seed(drill_database))
    run_sql(
        drill_database,
        "CREATE TABLE ballast AS SELECT i, md5(i::text) || md5((i * 7)::text) AS filler"
        " FROM generate_series(1, 400000) AS i",
    )
    before = asyncio.run(snapshot(drill_database))
    settings = Settings.from_env(
        s3_env(drill_database, s3_endpoint, s3_bucket, S3_PART_SIZE=str(5 * 1024 * 1024))
    )

    backup = asyncio.run(run_backup(settings)).backup

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    head = client.head_object(Bucket=s3_bucket, Key=backup.database.key)
    assert head["ContentLength"] == backup.database.size_bytes > 10 * 1024 * 1024
    assert int(head["ETag"].strip('"').rpartition("-")[2]) >= 2  # parts sent as pg_dump wrote
    # Restored on another server, as after losing the first: an empty database.
    elsewhere = asyncio.run(create_database("tdbuddy_elsewhere", migrated=False))
    try:
        restored = asyncio.run(restore_backup(settings, backup.name, elsewhere))
        assert not restored.needs_migrate
        assert asyncio.run(snapshot(elsewhere)) == before
    finally:
        asyncio.run(drop_database(elsewhere))


def test_retention_deletes_the_backups_past_it_and_nothing_else(
    drill_database: str, s3_endpoint: str, s3_bucket: str
) -> None:
    env = s3_env(drill_database, s3_endpoint, s3_bucket, BACKUP_RETENTION_DAYS="30")
    prefix = env["BACKUP_PREFIX"]
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    now = dt.datetime.now(dt.UTC)

    def days_ago(days: float) -> str:
        return (now - dt.timedelta(days=days)).strftime("%Y%m%dT%H%M%SZ")

    old, older_unfinished, recent = days_ago(31), days_ago(45), days_ago(29)
    planted = {
        f"{prefix}{name}/{file}"
        for name in (old, recent)
        for file in ("configuration.json", "database.dump", "manifest.json")
    }
    planted |= {f"{prefix}{older_unfinished}/configuration.json"}
    # Not backups: an operator's notes are left alone, whatever their age.
    planted |= {f"{prefix}README.txt", f"{prefix}notes-2019/old.txt"}
    for key in planted:
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"{}")

    done = asyncio.run(run_backup(Settings.from_env(env)))

    assert sorted(done.deleted) == sorted([old, older_unfinished])
    made = {
        f"{prefix}{done.backup.name}/{file}"
        for file in ("configuration.json", "database.dump", "manifest.json")
    }
    kept = {key for key in planted if old not in key and older_unfinished not in key}
    assert s3_keys(s3_endpoint, s3_bucket, prefix) == kept | made


def test_a_backup_whose_dump_fails_is_incomplete_and_is_not_restored(
    drill_database: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    asyncio.run(seed(drill_database))
    before = asyncio.run(snapshot(drill_database))
    # A pg_dump that dies midway, as one does when the connection drops.
    tools = tmp_path / "bin"
    tools.mkdir()
    real = find_pg_tools(None, 15).folder
    for tool in ("pg_restore", "psql"):
        (tools / tool).symlink_to(real / tool)
    (tools / "pg_dump").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 15.99"; exit 0; fi\n'
        "printf 'PGDMP half a dump'\n"
        "echo 'pg_dump: error: connection to server lost' >&2\n"
        "exit 1\n"
    )
    (tools / "pg_dump").chmod(0o755)
    env = s3_env(drill_database, s3_endpoint, s3_bucket, PG_BIN=str(tools))

    with pytest.raises(BackupError, match="connection to server lost"):
        asyncio.run(run_backup(Settings.from_env(env)))

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    uploads = client.list_multipart_uploads(Bucket=s3_bucket, Prefix=env["BACKUP_PREFIX"])
    assert not uploads.get("Uploads"), "the half-sent dump was not aborted"
    (left,) = s3_keys(s3_endpoint, s3_bucket, env["BACKUP_PREFIX"])
    name = left.split("/")[1]
    assert left.endswith("/configuration.json")

    listed = tdbuddy(env, "backups", "list")
    assert re.search(rf"{name}\s+incomplete", listed.stdout), listed.stdout
    refused = tdbuddy(env, "restore", name, "--yes")
    assert refused.returncode != 0
    assert f"backup {name} is incomplete" in refused.stderr
    assert asyncio.run(snapshot(drill_database)) == before


def test_the_stored_configuration_holds_the_settings_but_no_secret(
    drill_database: str, s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "link key": "link-signing-secret-0123456789",
        "SMTP password": "smtp-secret-password",
        "database password": "database-secret-password",
        "Redis password": "redis-secret-password",
        "broker password": "amqp-secret-password",
        "Anthropic key": "sk-ant-secret-api-key",
        "AWS secret": "aws-secret-access-key-value",
    }
    # moto takes any credentials; these only have to be the ones the process holds.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets["AWS secret"])
    host_and_database = drill_database.split("@", 1)[1]
    env = s3_env(
        # The local server trusts 127.0.0.1 and ignores the password; pg_dump still gets it.
        f"postgresql://postgres:{secrets['database password']}@{host_and_database}",
        s3_endpoint,
        s3_bucket,
        LINK_SIGNING_KEYS=f"7:{secrets['link key']}",
        SMTP_HOST="smtp.example.com",
        SMTP_USERNAME="mailer",
        SMTP_PASSWORD=secrets["SMTP password"],
        REDIS_URL=f"redis://:{secrets['Redis password']}@127.0.0.1:6379/0",
        BROKER_URL=f"amqp://tdbuddy:{secrets['broker password']}@127.0.0.1:5672/%2f",
        ANTHROPIC_API_KEY=secrets["Anthropic key"],
        AWS_SECRET_ACCESS_KEY=secrets["AWS secret"],
    )

    done = asyncio.run(run_backup(Settings.from_env(env)))

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    folder = f"{env['BACKUP_PREFIX']}{done.backup.name}/"
    stored = {
        file: client.get_object(Bucket=s3_bucket, Key=folder + file)["Body"].read()
        for file in ("configuration.json", "manifest.json")
    }
    for what, secret in secrets.items():
        for file, content in stored.items():
            assert secret.encode() not in content, f"the {what} is in {file}"
    configuration = json.loads(stored["configuration.json"])
    assert configuration["storage"]["s3_bucket"] == s3_bucket
    assert configuration["backups"]["retention_days"] == 30
    assert configuration["email"]["smtp_username"] == "mailer"
    assert configuration["links"]["keys"] == {"7": "[redacted]"}
    assert (
        configuration["database"]["url"] == f"postgresql://postgres:[redacted]@{host_and_database}"
    )
