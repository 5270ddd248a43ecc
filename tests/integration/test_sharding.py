"""One big job across workers: shards as parts of one upload, byte-identical to one worker's file;
cancelled jobs leave nothing; a shard that keeps failing fails its job with a reason."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from typing import Any

import asyncpg
import boto3
import httpx
import pytest

from core.jobs import JobState
from core.settings import BrokerSettings
from generators.engine import block_count
from generators.output import iter_encoded
from generators.sharding import plan_shards
from generators.spec import parse_spec
from storage.shards import JobEnded, ShardRepository
from tests.integration.test_end_to_end import USERS, download, expected_bytes
from tests.integration.test_generation import new_job
from tests.integration.test_storage import put_part
from tests.services import Stack, job_when, new_api_key, wait_until
from workers.broker import build_broker
from workers.messages import send_generate_shard
from workers.resources import WorkerResources
from workers.shards import finalize_sharded_job

SHARD_BYTES = 6 * 1024 * 1024  # the stack's SHARD_TARGET_BYTES


async def _fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def _storage_under(s3_endpoint: str, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
    """Keys of the objects and of the unfinished uploads under ``prefix``."""
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    objects = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    return [o["Key"] for o in objects], [u["Key"] for u in uploads]


def _wait_for_workers_to_drop(stack: Stack, job_id: str, words: str) -> None:
    """Waits until a worker logs that it dropped the job: ``words``, or a failed write (a part
    on its way when the upload was aborted)."""
    workers = [p for p in stack.processes if p.name == "worker" and p.alive()]
    wait_until(
        lambda: any(
            job_id in line and (words in line or "failed" in line)
            for worker in workers
            for line in worker.log_text().splitlines()
        ),
        30,
        f"a worker to drop job {job_id}",
    )


def test_plan_splits_only_big_concatenable_files_into_whole_blocks() -> None:
    big = parse_spec({**USERS, "rows": 600_000})
    shards = plan_shards(big, SHARD_BYTES)
    assert len(shards) > 1
    # Contiguous runs of whole blocks that cover the file, in order.
    assert shards[0].first_block == 0 and shards[-1].stop_block == block_count(big)
    assert all(a.stop_block == b.first_block for a, b in itertools.pairwise(shards))
    # Parquet keeps state across blocks, and a small file is not worth splitting.
    assert len(plan_shards(parse_spec({**USERS, "rows": 600_000, "format": "parquet"}), 1)) == 1
    assert len(plan_shards(parse_spec(USERS), 1024 * SHARD_BYTES)) == 1


def test_a_big_job_is_made_in_shards_into_the_very_file_one_worker_makes(
    client: httpx.Client, database_url: str, s3_endpoint: str, s3_bucket: str
) -> None:
    spec = {**USERS, "name": "sharded", "rows": 600_000, "seed": 11}
    job = client.post("/v1/jobs", json=spec).json()
    done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 120)
    assert done["progress"] == {"rows_done": 600_000, "rows_total": 600_000, "percent": 100.0}

    body = download(client, done["file"]["download_url"]).content
    assert body == expected_bytes(spec)
    assert hashlib.sha256(body).hexdigest() == done["file"]["sha256"]
    assert done["file"]["size_bytes"] == len(body)

    shards = asyncio.run(
        _fetch(database_url, "SELECT * FROM job_shards WHERE job_id = $1", uuid.UUID(job["id"]))
    )
    assert len(shards) > 1 and all(s["state"] == "done" for s in shards)
    # One object made of one part per shard (S3 writes the part count into the ETag).
    objects, uploads = _storage_under(s3_endpoint, s3_bucket, f"jobs/{job['id']}/")
    assert uploads == [] and len(objects) == 1
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    etag = s3.head_object(Bucket=s3_bucket, Key=objects[0])["ETag"].strip('"')
    assert etag.endswith(f"-{len(shards)}")


def test_a_sharded_file_on_local_storage_downloads_whole(local_stack: Stack) -> None:
    key = new_api_key(local_stack.env, f"local-{uuid.uuid4().hex[:6]}")
    spec = {**USERS, "name": "local", "rows": 400_000, "seed": 9}
    with local_stack.client(key) as client:
        job = client.post("/v1/jobs", json=spec).json()
        done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 120)
        answer = client.get(done["file"]["download_url"])
    assert answer.status_code == 200
    assert "local.csv" in answer.headers["content-disposition"]
    assert int(answer.headers["content-length"]) == done["file"]["size_bytes"]
    assert answer.content == expected_bytes(spec)
    assert hashlib.sha256(answer.content).hexdigest() == done["file"]["sha256"]
    assert "planned into" in next(p for p in local_stack.processes if p.name == "worker").log_text()


def test_cancel_stops_a_sharded_job_and_leaves_nothing_in_storage(
    stack: Stack, client: httpx.Client, s3_endpoint: str, s3_bucket: str
) -> None:
    spec = {**USERS, "name": "cancelled", "rows": 3_000_000, "seed": 5}
    job = client.post("/v1/jobs", json=spec).json()
    job_when(client, job["url"], lambda j: j["progress"]["rows_done"] > 0, 60)

    answer = client.post(f"{job['url']}/cancel")
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "cancelled"
    again = client.post(f"{job['url']}/cancel")
    assert again.status_code == 409 and again.json()["field"] == "job_id"

    # The shards at work break off at their next block, before uploading anything.
    _wait_for_workers_to_drop(stack, job["id"], "was lost")
    prefix = f"jobs/{job['id']}/"
    assert _storage_under(s3_endpoint, s3_bucket, prefix) == ([], [])
    # A small job after it runs normally, and the cancelled one stays cancelled and empty.
    small = client.post("/v1/jobs", json={**USERS, "rows": 100}).json()
    job_when(client, small["url"], lambda j: j["state"] == "succeeded", 60)
    assert client.get(job["url"]).json()["state"] == "cancelled"
    assert _storage_under(s3_endpoint, s3_bucket, prefix) == ([], [])


def test_cancel_stops_a_one_worker_job_and_leaves_nothing_in_storage(
    stack: Stack, client: httpx.Client, s3_endpoint: str, s3_bucket: str
) -> None:
    # Parquet is made whole by one worker, streaming into its own multipart upload.
    spec = {**USERS, "name": "whole", "rows": 3_000_000, "format": "parquet", "seed": 6}
    job = client.post("/v1/jobs", json=spec).json()
    job_when(client, job["url"], lambda j: j["progress"]["rows_done"] > 0, 60)
    assert client.post(f"{job['url']}/cancel").json()["state"] == "cancelled"
    _wait_for_workers_to_drop(stack, job["id"], "lost its lease")
    assert _storage_under(s3_endpoint, s3_bucket, f"jobs/{job['id']}/") == ([], [])


def test_cancel_answers_404_for_someone_elses_job(
    client: httpx.Client, other_client: httpx.Client
) -> None:
    job = client.post("/v1/jobs", json={**USERS, "rows": 100}).json()
    answer = other_client.post(f"{job['url']}/cancel")
    assert answer.status_code == 404 and answer.json()["field"] == "job_id"


async def _planned_job(
    database_url: str, api_key_owner_job: uuid.UUID, upload_key: str, upload_id: str
) -> uuid.UUID:
    """A copy of a finished job, planned into two shards writing to ``upload_id``."""
    conn = await asyncpg.connect(database_url)
    try:
        job_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version,"
            " file_name, state, attempt, shard_count, upload_id, object_key, heartbeat_at,"
            " enqueued_at)"
            " SELECT $1, user_id, name, spec, format, rows_total, engine_version, file_name,"
            " 'running', 1, 2, $3, $4, now(), now() + interval '1 hour' FROM jobs WHERE id = $2",
            job_id,
            api_key_owner_job,
            upload_id,
            upload_key,
        )
        await conn.execute(
            "INSERT INTO job_shards (job_id, shard, first_block, stop_block, enqueued_at)"
            " VALUES ($1, 0, 0, 1, now() + interval '1 hour'),"
            " ($1, 1, 1, 2, now() + interval '1 hour')",
            job_id,
        )
        return job_id
    finally:
        await conn.close()


def test_a_shard_that_keeps_failing_fails_its_job_after_retries(
    stack: Stack, client: httpx.Client, database_url: str, redis_url: str
) -> None:
    # A worker of its own, on a queue of its own, whose bucket does not exist, given a shard
    # of a planned job: every upload of its part fails until the retries run out.
    queue = stack.start_worker_without_storage(attempts=2)
    model = client.post("/v1/jobs", json={**USERS, "rows": 70_000}).json()
    job_when(client, model["url"], lambda j: j["state"] == "succeeded", 60)
    job_id = asyncio.run(
        _planned_job(database_url, uuid.UUID(model["id"]), "jobs/x/users.csv", "upload-1")
    )

    broker = build_broker(BrokerSettings(url=redis_url, queue=queue))
    send_generate_shard(broker, queue, job_id, 0)
    failed = job_when(client, f"/v1/jobs/{job_id}", lambda j: j["state"] == "failed", 60)
    assert "part 1 of the file failed after 2 attempts" in failed["error"]
    assert "NoSuchBucket" in failed["error"]
    assert failed["file"] is None
    [shard] = asyncio.run(
        _fetch(database_url, "SELECT * FROM job_shards WHERE job_id = $1 AND shard = 0", job_id)
    )
    assert shard["attempt"] == 2 and shard["state"] != "done"


async def test_a_finalizer_that_died_after_completing_is_finished_exactly_once(
    quiet_resources: WorkerResources,
) -> None:
    resources = quiet_resources
    spec_dict = {**USERS, "rows": 200_000}
    spec = parse_spec(spec_dict)
    job = await new_job(resources, 200_000)
    claimed = await resources.jobs.claim(job.id, 30, 5)
    assert claimed is not None
    ranges = [(s.first_block, s.stop_block) for s in plan_shards(spec, SHARD_BYTES)]
    assert len(ranges) > 1
    store, shards = resources.store, ShardRepository(resources.pool)
    key = f"jobs/{job.id}/1/users.csv"
    upload_id = store.start_upload(key, "text/csv")
    assert await shards.plan(job.id, claimed.attempt, upload_id, key, ranges)
    # Every shard is made and uploaded, as workers would...
    for number, (first, stop) in enumerate(ranges):
        claim = await shards.claim(job.id, number, 30, 5)
        assert claim is not None
        data = b"".join(d for _, d in iter_encoded(spec, first, stop))
        etag = put_part(store, key, upload_id, claim.part_number, data)
        rows = sum(n for n, _ in iter_encoded(spec, first, stop))
        assert await shards.finish(claim, etag, len(data), rows) == len(ranges) - 1 - number
    # ...and the last one's worker completed the upload and died before it finished the job.
    store.complete_upload(key, upload_id, await shards.etags(job.id))
    await resources.pool.execute(
        "UPDATE jobs SET heartbeat_at = now() - interval '1 hour',"
        " enqueued_at = now() - interval '1 hour' WHERE id = $1",
        job.id,
    )
    # The reconciler sees a job with every shard in that nobody completed.
    assert job.id in await shards.claim_to_finalize(30)

    await finalize_sharded_job(resources, job.id)
    done = await resources.jobs.get(job.id)
    expected = expected_bytes(spec_dict)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert (done.size_bytes, done.sha256) == (len(expected), hashlib.sha256(expected).hexdigest())
    # A second finalize (a duplicate message) changes nothing.
    await finalize_sharded_job(resources, job.id)
    assert await resources.jobs.get(job.id) == done


async def test_a_shard_finished_after_its_job_was_cancelled_is_refused(
    quiet_resources: WorkerResources,
) -> None:
    resources = quiet_resources
    job = await new_job(resources, 200_000)
    claimed = await resources.jobs.claim(job.id, 30, 5)
    assert claimed is not None
    shards = ShardRepository(resources.pool)
    key = f"jobs/{job.id}/1/users.csv"
    upload_id = resources.store.start_upload(key, "text/csv")
    assert await shards.plan(job.id, claimed.attempt, upload_id, key, [(0, 2), (2, 4)])
    claim = await shards.claim(job.id, 0, 30, 5)
    assert claim is not None
    assert await resources.jobs.cancel(job.id, job.user_id) is not None
    # The worker's part is in, but the job is over: no progress, no finish, no finalize.
    assert not await shards.record_progress(claim, 10)
    with pytest.raises(JobEnded):
        await shards.finish(claim, '"etag"', 1, 10)
    assert await shards.claim(job.id, 1, 30, 5) is None
    assert await shards.claim_finalize(job.id, 30) is None
