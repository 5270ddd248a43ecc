"""Submitting safely: retries with an Idempotency-Key make one job, and a request identical to
an earlier one reuses that job's live file instead of generating it again."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from storage.idempotency import SubmissionRepository
from tests.integration.test_end_to_end import USERS, download, expected_bytes
from tests.services import Stack, job_when, new_api_key, wait_until

SPEC: dict[str, Any] = {**USERS, "name": "safely", "rows": 2_000, "seed": 1234}


@pytest.fixture
def fresh(stack: Stack, stack_env: dict[str, str]) -> Iterator[httpx.Client]:
    """A client of a user of its own, so that listings show only this test's jobs."""
    with stack.client(new_api_key(stack_env, f"careful-{uuid.uuid4().hex[:6]}")) as client:
        yield client


def submit(client: httpx.Client, spec: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post("/v1/jobs", json=spec, headers=headers)


def job_ids(client: httpx.Client) -> list[str]:
    return [job["id"] for job in client.get("/v1/jobs", params={"limit": 100}).json()["jobs"]]


def fetch_row(database_url: str, sql: str, *args: Any) -> asyncpg.Record | None:
    async def go() -> asyncpg.Record | None:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


# --- Idempotency-Key -------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_gets_the_same_job(fresh: httpx.Client) -> None:
    key = str(uuid.uuid4())
    first = submit(fresh, SPEC, key)
    assert first.status_code == 202, first.text
    # The same request again, keys in another order and a default spelled out: the same body.
    retry = submit(fresh, {"locale": "ja_JP", "edge_case_rate": 0.0, **SPEC}, f'"{key}"')
    assert retry.status_code == 202, retry.text
    same = ("id", "name", "seed", "format", "created_at", "url")
    assert [retry.json()[k] for k in same] == [first.json()[k] for k in same]
    assert retry.headers["location"] == first.headers["location"]
    assert first.headers["location"] == f"/v1/jobs/{first.json()['id']}"
    assert job_ids(fresh) == [first.json()["id"]]


def test_a_retry_of_a_request_without_seed_gets_the_job_and_seed_of_the_first(
    fresh: httpx.Client,
) -> None:
    unseeded = {k: v for k, v in SPEC.items() if k != "seed"}
    key = str(uuid.uuid4())
    first = submit(fresh, unseeded, key).json()
    retry = submit(fresh, unseeded, key).json()
    assert (retry["id"], retry["seed"]) == (first["id"], first["seed"])
    assert job_ids(fresh) == [first["id"]]


def test_the_same_key_with_another_body_is_422_and_makes_no_job(fresh: httpx.Client) -> None:
    key = str(uuid.uuid4())
    first = submit(fresh, SPEC, key)
    assert first.status_code == 202, first.text
    other = submit(fresh, {**SPEC, "rows": 2_001}, key)
    assert other.status_code == 422, other.text
    body = other.json()
    assert body["error"] == "idempotency_key_reused"
    assert body["field"] == "Idempotency-Key"
    assert "different request body" in body["detail"]
    assert job_ids(fresh) == [first.json()["id"]]


def test_a_retry_while_the_first_request_is_being_created_is_409(
    stack: Stack, stack_env: dict[str, str], database_url: str
) -> None:
    api_key = new_api_key(stack_env, f"hasty-{uuid.uuid4().hex[:6]}")
    key = str(uuid.uuid4())

    def post() -> httpx.Response:
        with stack.client(api_key) as client:
            client.timeout = httpx.Timeout(10)
            return submit(client, SPEC, key)

    async def race() -> tuple[httpx.Response, httpx.Response]:
        # The test holds the key table, so the first request stops inside its transaction,
        # after it has taken the key's lock and just before it writes the key's row.
        holder = await asyncpg.connect(database_url)
        watcher = await asyncpg.connect(database_url)
        try:
            held = holder.transaction()
            await held.start()
            await holder.execute("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
            loop = asyncio.get_running_loop()
            first = loop.run_in_executor(None, post)
            deadline = time.monotonic() + 10
            while not await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO idempotency_keys%'"
            ):
                assert time.monotonic() < deadline, "the first request never reached its insert"
                await asyncio.sleep(0.02)
            second = await loop.run_in_executor(None, post)
            await held.rollback()
            return await first, second
        finally:
            await holder.close()
            await watcher.close()

    first, second = asyncio.run(race())
    assert second.status_code == 409, second.text
    assert second.json()["field"] == "Idempotency-Key"
    assert second.json()["error"] == "idempotency_key_in_use"
    assert int(second.headers["retry-after"]) >= 1
    assert first.status_code == 202, first.text
    # Once the first is committed, the retry the 409 asked for gets its job.
    again = post()
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    with stack.client(api_key) as client:
        assert job_ids(client) == [first.json()["id"]]


def test_keys_belong_to_the_api_key_not_the_user(
    stack: Stack, stack_env: dict[str, str], client: httpx.Client, other_client: httpx.Client
) -> None:
    key = str(uuid.uuid4())
    mine, theirs = submit(client, SPEC, key), submit(other_client, SPEC, key)
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]
    # A second key of the same user starts afresh too.
    user = f"two-keys-{uuid.uuid4().hex[:6]}"
    keys = [new_api_key(stack_env, user), new_api_key(stack_env, user)]
    ids = []
    for api_key in keys:
        with stack.client(api_key) as c:
            ids.append(submit(c, {**SPEC, "seed": None}, key).json()["id"])
    assert ids[0] != ids[1]
    with stack.client(keys[0]) as c:
        assert sorted(job_ids(c)) == sorted(ids)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "1 to 255"),
        ('""', "1 to 255"),
        ("k" * 256, "not 256"),
        ('"unterminated', "printable ASCII"),
        ("tab\there", "printable ASCII"),
    ],
)
def test_a_malformed_key_is_400_naming_the_header(
    fresh: httpx.Client, value: str, words: str
) -> None:
    response = submit(fresh, SPEC, value)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "Idempotency-Key"
    assert words in response.json()["detail"]
    assert job_ids(fresh) == []


def test_keys_of_255_characters_are_taken_and_two_headers_are_refused(fresh: httpx.Client) -> None:
    assert submit(fresh, SPEC, "k" * 255).status_code == 202
    twice = fresh.post(
        "/v1/jobs",
        json={**SPEC, "seed": 5},
        headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert twice.status_code == 400
    assert twice.json()["field"] == "Idempotency-Key"


def test_a_key_past_its_24_hours_may_be_used_again_and_is_cleaned_up(
    stack: Stack, fresh: httpx.Client, database_url: str
) -> None:
    key = str(uuid.uuid4())
    first = submit(fresh, SPEC, key).json()
    fetch_row(
        database_url,
        "UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 second'"
        " WHERE job_id = $1",
        uuid.UUID(first["id"]),
    )
    reused = submit(fresh, {**SPEC, "rows": 2_001}, key)
    assert reused.status_code == 202, reused.text
    assert reused.json()["id"] != first["id"]
    # Expire the new use as well: the cleanup removes it and leaves younger keys alone.
    young = submit(fresh, SPEC, str(uuid.uuid4())).json()
    fetch_row(
        database_url,
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE job_id = $1",
        uuid.UUID(reused.json()["id"]),
    )

    # The scheduler removes it, and leaves the younger key alone.
    def counts() -> tuple[int, int]:
        left = fetch_row(
            database_url,
            "SELECT count(*) FILTER (WHERE job_id = $1) AS old,"
            " count(*) FILTER (WHERE job_id = $2) AS young FROM idempotency_keys",
            uuid.UUID(reused.json()["id"]),
            uuid.UUID(young["id"]),
        )
        assert left is not None
        return left["old"], left["young"]

    wait_until(lambda: counts() == (0, 1), 30, "the scheduler to remove the expired key")


# --- reusing a live file ---------------------------------------------------------------------


def test_an_identical_seeded_request_reuses_the_live_file(
    fresh: httpx.Client, other_client: httpx.Client, database_url: str
) -> None:
    spec = {**SPEC, "name": "reused", "seed": 777}
    first = submit(fresh, spec)
    done = job_when(fresh, first.json()["url"], lambda j: j["state"] == "succeeded", 60)
    assert done["reused_from"] is None

    second = submit(fresh, spec)
    assert second.status_code == 202, second.text
    again = second.json()
    assert again["id"] != done["id"]
    assert again["state"] == "succeeded"  # at once, in the answer to the POST itself
    assert "retry-after" not in second.headers
    assert again["reused_from"] == done["id"]
    assert again["file"]["sha256"] == done["file"]["sha256"]
    assert again["file"]["size_bytes"] == done["file"]["size_bytes"]
    assert again["progress"]["percent"] == 100.0
    body = download(fresh, again["file"]["download_url"]).content
    assert body == download(fresh, done["file"]["download_url"]).content == expected_bytes(spec)
    # Nothing went to the workers: no attempt was ever made and no message marked sent.
    row = fetch_row(
        database_url, "SELECT attempt, enqueued_at FROM jobs WHERE id = $1", uuid.UUID(again["id"])
    )
    assert row is not None and (row["attempt"], row["enqueued_at"]) == (0, None)
    # A job reusing a reused one still names the job that generated the file.
    third = submit(fresh, spec).json()
    assert third["reused_from"] == done["id"]
    # Another user's identical request makes a file of its own.
    theirs = submit(other_client, spec).json()
    assert theirs["state"] == "queued" and theirs["reused_from"] is None

    async def shared(job_id: str) -> bool:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
        try:
            return await SubmissionRepository(pool).file_shared_with_live_job(uuid.UUID(job_id))
        finally:
            await pool.close()

    assert asyncio.run(shared(done["id"])) and asyncio.run(shared(again["id"]))
    assert not asyncio.run(shared(theirs["id"]))


def test_another_seed_format_or_a_file_about_to_expire_is_not_reused(
    fresh: httpx.Client, database_url: str
) -> None:
    spec = {**SPEC, "name": "not-reused", "seed": 888}
    first = submit(fresh, spec).json()
    job_when(fresh, first["url"], lambda j: j["state"] == "succeeded", 60)
    for changed in ({**spec, "seed": 889}, {**spec, "format": "jsonl"}):
        job = submit(fresh, changed).json()
        assert job["state"] == "queued" and job["reused_from"] is None, job
    # A file with only minutes left is generated afresh rather than handed out again.
    fetch_row(
        database_url,
        "UPDATE jobs SET expires_at = now() + interval '1 minute' WHERE id = $1",
        uuid.UUID(first["id"]),
    )
    fresh_job = submit(fresh, spec).json()
    assert fresh_job["state"] == "queued" and fresh_job["reused_from"] is None
