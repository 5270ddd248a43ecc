"""No accepted job is lost: a worker killed mid-job, a message never sent, a job that cannot run."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import uuid
from typing import Any

import asyncpg
import boto3
import httpx

from core.settings import BrokerSettings
from generators.engine import ENGINE_VERSION
from tests.integration.test_end_to_end import USERS, download, expected_bytes
from tests.services import Stack, job_when
from workers.broker import build_broker
from workers.messages import send_generate_job


def test_worker_killed_mid_shard_still_finishes_with_the_right_file(
    stack: Stack, client: httpx.Client, s3_endpoint: str, s3_bucket: str
) -> None:
    stack.start("worker", "worker")  # two workers share the job's shards
    spec = {**USERS, "name": "big", "rows": 3_000_000, "seed": 7}
    job = client.post("/v1/jobs", json=spec).json()
    [doomed, *_] = [p for p in stack.processes if p.name == "worker" and p.alive()]

    job_when(client, job["url"], lambda j: j["progress"]["rows_done"] > 0, 60)
    doomed.signal_group(signal.SIGSTOP)  # freeze it mid-shard, then make sure that is where it is
    frozen = client.get(job["url"]).json()
    assert frozen["state"] == "running", frozen
    assert 0 < frozen["progress"]["rows_done"] < 3_000_000, frozen
    doomed.kill()

    # The other worker makes the rest, and the killed one's shard again once its lease ends.
    done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 180)
    body = download(client, done["file"]["download_url"]).content
    assert hashlib.sha256(body).hexdigest() == done["file"]["sha256"]
    assert body == expected_bytes(spec)
    # One file, and no upload left open.
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    prefix = f"jobs/{job['id']}/"
    uploads = s3.list_multipart_uploads(Bucket=s3_bucket, Prefix=prefix).get("Uploads", [])
    assert uploads == []
    objects = s3.list_objects_v2(Bucket=s3_bucket, Prefix=prefix).get("Contents", [])
    assert [o["Key"] for o in objects] == [f"{prefix}1/big.csv"]


async def _insert_unsent_job(
    database_url: str, api_key_owner: str, spec: dict[str, Any], sent: bool = False
) -> uuid.UUID:
    """Commits a job row and sends nothing: what the API leaves when it dies in between.

    With `sent`, the row says it was sent and is not yet due for a re-send, so the
    reconciler leaves it to the message the test sends itself.
    """
    conn = await asyncpg.connect(database_url)
    try:
        user_id = await conn.fetchval("SELECT id FROM users WHERE name = $1", api_key_owner)
        job_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version,"
            " file_name, enqueued_at)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8,"
            " CASE WHEN $9 THEN now() + interval '1 hour' END)",
            job_id,
            user_id,
            "unsent",
            json.dumps(spec),
            "csv",
            spec["rows"],
            ENGINE_VERSION,
            "unsent.csv",
            sent,
        )
        return job_id
    finally:
        await conn.close()


async def _mark_sent_now(database_url: str, job_id: uuid.UUID) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE jobs SET enqueued_at = now() WHERE id = $1", job_id)
    finally:
        await conn.close()


async def _owner_of_key(database_url: str, key: str) -> str:
    from storage.accounts import hash_key

    conn = await asyncpg.connect(database_url)
    try:
        name: str = await conn.fetchval(
            "SELECT u.name FROM users u JOIN api_keys k ON k.user_id = u.id WHERE k.key_hash = $1",
            hash_key(key),
        )
        return name
    finally:
        await conn.close()


def test_job_committed_but_never_sent_is_sent_by_the_reconciler(
    stack: Stack, client: httpx.Client, api_key: str, database_url: str
) -> None:
    owner = asyncio.run(_owner_of_key(database_url, api_key))
    job_id = asyncio.run(_insert_unsent_job(database_url, owner, {**USERS, "rows": 100}))
    done = job_when(client, f"/v1/jobs/{job_id}", lambda j: j["state"] == "succeeded", 60)
    assert done["progress"]["rows_done"] == 100


def test_job_whose_stored_spec_is_refused_ends_failed_with_a_reason(
    stack: Stack, client: httpx.Client, api_key: str, database_url: str
) -> None:
    owner = asyncio.run(_owner_of_key(database_url, api_key))
    broken = {**USERS, "rows": 100, "fields": [{"name": "x", "type": "no_such_type"}]}
    job_id = asyncio.run(_insert_unsent_job(database_url, owner, broken))
    failed = job_when(client, f"/v1/jobs/{job_id}", lambda j: j["state"] == "failed", 60)
    assert "no_such_type" in failed["error"]
    assert failed["file"] is None


def test_job_whose_storage_keeps_failing_ends_failed_after_retries(
    stack: Stack, client: httpx.Client, api_key: str, database_url: str, redis_url: str
) -> None:
    # A worker of its own, on a queue of its own, whose bucket does not exist: every attempt
    # fails the same transient-looking way until the retries run out.
    queue = stack.start_worker_without_storage(attempts=2)
    owner = asyncio.run(_owner_of_key(database_url, api_key))
    job_id = asyncio.run(_insert_unsent_job(database_url, owner, {**USERS, "rows": 100}, sent=True))
    broker = build_broker(BrokerSettings(url=redis_url, queue=queue))
    send_generate_job(broker, queue, job_id)
    failed = job_when(client, f"/v1/jobs/{job_id}", lambda j: j["state"] == "failed", 60)
    assert "after 2 attempts" in failed["error"]  # the first try and one retry
    assert "NoSuchBucket" in failed["error"]


def test_a_worker_stopped_mid_job_exits_and_the_job_still_finishes(
    stack: Stack, client: httpx.Client, api_key: str, database_url: str, redis_url: str
) -> None:
    # A worker of its own, stopped as systemd or `kill -- -PGID` stop it: every process of
    # the group gets SIGTERM, and Dramatiq's parent forwards its own once more.
    queue = f"stopping-{uuid.uuid4().hex[:6]}"
    worker = stack.start("stopping-worker", "worker", BROKER_QUEUE=queue)
    owner = asyncio.run(_owner_of_key(database_url, api_key))
    spec = {**USERS, "rows": 3_000_000, "format": "parquet"}  # one long single-worker job
    job_id = asyncio.run(_insert_unsent_job(database_url, owner, spec, sent=True))
    send_generate_job(build_broker(BrokerSettings(url=redis_url, queue=queue)), queue, job_id)
    job_when(client, f"/v1/jobs/{job_id}", lambda j: j["progress"]["rows_done"] > 0, 60)
    asyncio.run(_mark_sent_now(database_url, job_id))  # for the reconciler: sent, then lost

    worker.signal_group(signal.SIGTERM)
    worker.popen.wait(timeout=60)  # it used to hang here, mid-job, until a SIGKILL
    assert worker.popen.returncode != -signal.SIGKILL
    # The job it left is taken over once its lease runs out, and its file is whole.
    done = job_when(client, f"/v1/jobs/{job_id}", lambda j: j["state"] == "succeeded", 180)
    assert download(client, done["file"]["download_url"]).content == expected_bytes(spec)
