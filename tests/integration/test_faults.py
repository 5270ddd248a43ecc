"""Faults injected mid-job into servers of the tests' own: PostgreSQL and Redis restarted, an
API killed in the middle of submits, a broker that never answers. Each job still ends with the
very file expected.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis

from storage.commands import apply_migrations
from tests.integration.test_end_to_end import USERS, download, expected_bytes
from tests.private_services import PrivatePostgres, PrivateRedis, SilentServer
from tests.services import Process, Stack, free_port, job_when, new_api_key, wait_until


async def _fetchval(url: str, statement: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


def _sql(url: str, statement: str, *args: Any) -> Any:
    return asyncio.run(_fetchval(url, statement, *args))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    _sql(server.url(), "CREATE DATABASE tdbuddy")
    asyncio.run(apply_migrations(server.url("tdbuddy")))
    yield server
    server.remove()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.remove()


def _stop(process: Process) -> None:
    """SIGTERM to the process alone: Dramatiq's main process passes it on to its workers once.

    Stack.stop signals the whole group, so a worker gets it twice, takes the second for
    "kill now" and hangs on its event-loop thread until the SIGKILL 15 s later.
    """
    if process.alive():
        process.popen.send_signal(signal.SIGTERM)
        try:
            process.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    process.stop()


@pytest.fixture
def private_stack(
    stack_env: dict[str, str],
    postgres: PrivatePostgres,
    redis_server: PrivateRedis,
    tmp_path: Path,
) -> Iterator[Stack]:
    """API, one worker and the scheduler on the private servers, fresh for each test.

    The worker runs one thread that holds one message at a time, so the rest of a job's
    messages wait in Redis, where a restart loses them.
    """
    # A test that failed half-way may have left a server down.
    if not postgres.running:
        postgres.start()
    if not redis_server.running:
        redis_server.start()
    port = free_port()
    env = {
        **stack_env,
        "DATABASE_URL": postgres.url("tdbuddy"),
        "REDIS_URL": redis_server.url,
        "BROKER_URL": redis_server.url,
        "BROKER_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
        "API_PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WORKER_THREADS": "1",
        "dramatiq_queue_prefetch": "1",
    }
    stack = Stack(env, tmp_path)
    stack.start_api()
    stack.start("worker", "worker")
    stack.start("scheduler", "scheduler")
    yield stack
    for process in reversed(stack.processes):
        _stop(process)


@pytest.fixture
def private_client(private_stack: Stack) -> Iterator[httpx.Client]:
    key = new_api_key(private_stack.env, f"carol-{uuid.uuid4().hex[:6]}")
    with private_stack.client(key) as client:
        yield client


def _queue_keys(stack: Stack) -> tuple[str, str]:
    """Dramatiq's Redis keys for the stack's queue: messages waiting, and dead messages."""
    queue = stack.env["BROKER_QUEUE"]
    return f"dramatiq:{queue}", f"dramatiq:{queue}.XQ"


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["error"] == "unavailable", body
    assert body["field"] is None and body["detail"]


def test_postgres_restarted_mid_job_503_while_down_then_the_job_finishes_with_the_right_file(
    private_stack: Stack,
    private_client: httpx.Client,
    postgres: PrivatePostgres,
    redis_server: PrivateRedis,
) -> None:
    client = private_client
    database = postgres.url("tdbuddy")
    small = {**USERS, "name": "small", "rows": 100}
    small_done = job_when(
        client,
        client.post("/v1/jobs", json=small).json()["url"],
        lambda j: j["state"] == "succeeded",
        60,
    )
    spec = {**USERS, "name": "big", "rows": 1_000_000, "seed": 11}
    job = client.post("/v1/jobs", json=spec).json()
    job_when(client, job["url"], lambda j: j["progress"]["rows_done"] > 0, 60)

    # One request is in flight when the server goes down: it waits on a lock that only API
    # requests touch (one with a key the API has not seen yet reads the key's owner first).
    # A fast shutdown ends the lock's holder too, and the request may slip through before
    # its own session ends: then it gets its normal answer, and its job is not lost.
    fresh_key = new_api_key(private_stack.env, f"dave-{uuid.uuid4().hex[:6]}")
    late = {**USERS, "name": "in-flight", "rows": 100, "seed": 12}
    with postgres.locked("tdbuddy", "api_keys"), ThreadPoolExecutor(1) as pool:
        wait_until(lambda: _sql(database, _KEYS_LOCKED), 10, "the lock on api_keys")
        in_flight = pool.submit(
            httpx.post,
            f"{private_stack.base_url}/v1/jobs",
            json=late,
            headers={"Authorization": f"Bearer {fresh_key}"},
            timeout=30,
        )
        wait_until(lambda: _sql(database, _KEY_LOOKUP_WAITING), 10, "the request to wait")
        postgres.stop()
        answered = in_flight.result()
        if answered.status_code != 202:
            _assert_unavailable(answered)

    # Every endpoint that needs the database says so with a 503 a client can act on.
    _assert_unavailable(client.get(job["url"]))
    _assert_unavailable(client.get("/v1/jobs"))
    _assert_unavailable(client.post("/v1/jobs", json=small))
    _assert_unavailable(client.get(f"{job['url']}/edge-cases"))
    _assert_unavailable(client.post(f"{job['url']}/cancel"))
    _assert_unavailable(client.get(small_done["file"]["download_url"]))
    ready = client.get("/ready")
    assert ready.status_code == 503 and int(ready.headers["retry-after"]) >= 1
    assert ready.json()["checks"]["database"]["ok"] is False
    assert client.get("/health").status_code == 200

    # The outage outlasts the worker's retries: some of the job's messages die of it.
    _, dead = _queue_keys(private_stack)
    broker = redis.Redis.from_url(redis_server.url)
    wait_until(lambda: broker.zcard(dead) > 0, 30, "a message to use up its retries")
    postgres.start()

    # The same API process answers again once its pool reconnects: nobody restarted it.
    wait_until(lambda: client.get("/ready").status_code == 200, 30, "the API to be ready again")
    done = job_when(client, job["url"], lambda j: j["state"] in ("succeeded", "failed"), 60)
    assert done["state"] == "succeeded", done
    assert download(client, done["file"]["download_url"]).content == expected_bytes(spec)
    if answered.status_code == 202:  # accepted just before the server went: it still runs
        with private_stack.client(fresh_key) as dave:
            finished = job_when(
                dave, answered.json()["url"], lambda j: j["state"] == "succeeded", 60
            )
            assert download(dave, finished["file"]["download_url"]).content == expected_bytes(late)
    assert [p.name for p in private_stack.processes] == ["api", "worker", "scheduler"]
    assert all(p.alive() for p in private_stack.processes)


def test_postgres_crashing_mid_job_loses_no_accepted_job(
    private_stack: Stack, private_client: httpx.Client, postgres: PrivatePostgres
) -> None:
    client = private_client
    spec = {**USERS, "name": "crash", "rows": 1_000_000, "seed": 12}
    job = client.post("/v1/jobs", json=spec).json()  # 202: the job is committed
    job_when(client, job["url"], lambda j: j["progress"]["rows_done"] > 0, 60)

    postgres.stop("immediate")  # dies like a crash; the next start recovers from the WAL
    _assert_unavailable(client.get(job["url"]))
    postgres.start()

    wait_until(lambda: client.get("/ready").status_code == 200, 60, "the API to be ready again")
    done = job_when(client, job["url"], lambda j: j["state"] in ("succeeded", "failed"), 120)
    assert done["state"] == "succeeded", done
    assert download(client, done["file"]["download_url"]).content == expected_bytes(spec)
    assert all(p.alive() for p in private_stack.processes)


_KEYS_LOCKED = (
    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
    " WHERE c.relname = 'api_keys' AND l.mode = 'AccessExclusiveLock' AND l.granted"
)
_KEY_LOOKUP_WAITING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND query LIKE '%api_keys%'"
)


def _auth(client: httpx.Client) -> dict[str, str]:
    return {"Authorization": client.headers["authorization"]}


def test_redis_restarted_mid_job_loses_the_queue_and_the_jobs_still_finish(
    private_stack: Stack, private_client: httpx.Client, redis_server: PrivateRedis
) -> None:
    client = private_client
    big = {**USERS, "name": "big", "rows": 1_000_000, "seed": 21}
    big_job = client.post("/v1/jobs", json=big).json()
    job_when(client, big_job["url"], lambda j: j["progress"]["rows_done"] > 0, 60)
    queued = {**USERS, "name": "queued", "rows": 1_000, "seed": 22}
    queued_job = client.post("/v1/jobs", json=queued).json()
    waiting, _ = _queue_keys(private_stack)
    broker = redis.Redis.from_url(redis_server.url)
    # The worker is busy with the big job and holds no more: the queued one waits in Redis ...
    lost = set(broker.lrange(waiting, 0, -1))
    assert lost
    redis_server.stop()

    # A job submitted while Redis is down is still accepted: its row is the promise. The
    # API stays ready: it reports the broker down but does not need it.
    during = {**USERS, "name": "during", "rows": 1_000, "seed": 23}
    submitted = client.post("/v1/jobs", json=during)
    assert submitted.status_code == 202, submitted.text
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["broker"]["ok"] is False

    redis_server.start()
    # ... and the restart lost it (the scheduler may already be re-sending, with new ids).
    assert not lost & set(broker.lrange(waiting, 0, -1))
    wait_until(
        lambda: client.get("/ready").json()["checks"]["broker"]["ok"],
        30,
        "the API's broker to reconnect",
    )

    jobs = ((big, big_job["url"]), (queued, queued_job["url"]), (during, submitted.json()["url"]))
    for spec, url in jobs:
        done = job_when(client, url, lambda j: j["state"] in ("succeeded", "failed"), 60)
        assert done["state"] == "succeeded", done
        assert download(client, done["file"]["download_url"]).content == expected_bytes(spec)
    # The same worker, API and scheduler did it all: each reconnected by itself.
    assert [p.name for p in private_stack.processes] == ["api", "worker", "scheduler"]
    assert all(p.alive() for p in private_stack.processes)
    after = {**USERS, "name": "after", "rows": 1_000, "seed": 24}
    done = job_when(
        client,
        client.post("/v1/jobs", json=after).json()["url"],
        lambda j: j["state"] == "succeeded",
        30,
    )
    assert download(client, done["file"]["download_url"]).content == expected_bytes(after)


def _start_api(stack: Stack, name: str, broker_url: str) -> tuple[Process, str]:
    """Another API process on the stack's database, sending to the broker at `broker_url`."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    api = stack.start(
        name,
        "api",
        API_PORT=str(port),
        PUBLIC_URL=base_url,
        REDIS_URL=broker_url,
        BROKER_URL=broker_url,
    )
    wait_until(lambda: _answers(base_url), 30, f"API {name} to answer (log: {api.log_path})")
    return api, base_url


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_submit_needs_no_broker_the_scheduler_sends_the_job(
    private_stack: Stack, private_client: httpx.Client
) -> None:
    # An API whose broker accepts connections and never answers: a submit only commits the
    # job (the jobs table is the outbox), and the scheduler's relay sends it.
    hung_broker = SilentServer()
    _, stuck_url = _start_api(private_stack, "api-stuck", hung_broker.url)
    spec = {**USERS, "name": "stuck", "rows": 1_000, "seed": 41}
    submitted = httpx.post(
        f"{stuck_url}/v1/jobs", json=spec, headers=_auth(private_client), timeout=30
    )
    assert submitted.status_code == 202, submitted.text
    done = job_when(
        private_client,
        f"/v1/jobs/{submitted.json()['id']}",
        lambda j: j["state"] in ("succeeded", "failed"),
        60,
    )
    hung_broker.close()
    assert done["state"] == "succeeded", done
    assert download(private_client, done["file"]["download_url"]).content == expected_bytes(spec)


def test_an_api_killed_mid_submits_loses_no_committed_job(
    private_stack: Stack,
    private_client: httpx.Client,
    postgres: PrivatePostgres,
    redis_server: PrivateRedis,
) -> None:
    # Submits pour into an API process that is killed (SIGKILL) once many have committed:
    # some clients hear 202, some were answered nothing on a request the API had taken.
    # Every committed job runs to its file all the same: the row is the message.
    doomed, doomed_url = _start_api(private_stack, "api-killed", redis_server.url)
    name = f"burst-{uuid.uuid4().hex[:6]}"
    database = postgres.url("tdbuddy")
    specs = [{**USERS, "name": name, "rows": 200, "seed": 700 + i} for i in range(600)]

    def submit(spec: dict[str, Any]) -> str:
        try:
            answer = httpx.post(
                f"{doomed_url}/v1/jobs", json=spec, headers=_auth(private_client), timeout=30
            )
        except httpx.ConnectError:
            return "refused"  # the API was gone before this request
        except httpx.TransportError:
            return "cut off"  # the connection was made; no answer came
        assert answer.status_code == 202, answer.text
        job_id: str = answer.json()["id"]
        return job_id

    with ThreadPoolExecutor(32) as pool:
        answers = pool.map(submit, specs)
        wait_until(
            lambda: _sql(database, "SELECT count(*) >= 50 FROM jobs WHERE name = $1", name),
            30,
            "fifty commits",
        )
        doomed.kill()
        heard = list(answers)
    committed = asyncio.run(_rows(database, "SELECT id, spec FROM jobs WHERE name = $1", name))
    accepted = {answer for answer in heard if answer not in ("cut off", "refused")}
    assert accepted <= {str(row["id"]) for row in committed}  # every 202 was committed
    # The kill came mid-stream: some requests went unanswered (whether a committed one was
    # among them is down to timing; when it is, it is checked below like every other).
    assert len(accepted) < len(specs), "the API was killed after every answer"
    for row in committed:
        done = job_when(
            private_client,
            f"/v1/jobs/{row['id']}",
            lambda j: j["state"] in ("succeeded", "failed"),
            120,
        )
        assert done["state"] == "succeeded", done
        content = download(private_client, done["file"]["download_url"]).content
        assert content == expected_bytes(json.loads(row["spec"]))


async def _rows(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()
