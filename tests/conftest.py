from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import boto3
import httpx
import pytest
import redis

from core.settings import Settings
from storage.database import create_pool
from storage.jobs import JobRepository
from storage.objects import object_store
from tests.fake_anthropic import FakeAnthropic
from tests.fake_anthropic import fake_anthropic as serve_fake_anthropic
from tests.receivers import MailSink, WebhookReceiver, mail_sink, webhook_receiver
from tests.services import (
    LINK_KEY,
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    Stack,
    create_database,
    drop_database,
    free_port,
    new_api_key,
    unavailable,
)
from workers.resources import WorkerResources


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    try:
        url = asyncio.run(create_database("tdbuddy_test", migrated=False))
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} ({exc})")
    from storage.commands import apply_migrations

    asyncio.run(apply_migrations(url))  # a failing migration is a failure, not "unavailable"
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} ({exc})")
    return REDIS_URL


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server over real HTTP on a free port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_bucket(s3_endpoint: str) -> str:
    name = f"tdbuddy-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session", autouse=True)
def _aws_credentials() -> Iterator[None]:
    """moto accepts any credentials; boto3 only needs some to sign with."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def mail() -> Iterator[MailSink]:
    """The SMTP server the stack's workers send notification email to."""
    with mail_sink() as sink:
        yield sink


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    """An HTTP server on 127.0.0.1 taking the stack's webhook calls."""
    with webhook_receiver() as server:
        yield server


@pytest.fixture(scope="session")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """Anthropic's API as the stack's schema assistant sees it: a local server (the real one
    cannot be reached from here) that the real `anthropic` client talks to."""
    with serve_fake_anthropic() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack_env(
    database_url: str,
    redis_url: str,
    s3_endpoint: str,
    s3_bucket: str,
    mail: MailSink,
    fake_anthropic: FakeAnthropic,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """The environment of the product's processes: real services, short timings for recovery."""
    import os

    port = free_port()
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BROKER_QUEUE": f"jobs-{uuid.uuid4().hex[:8]}",
        "S3_BUCKET": s3_bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "LINK_SIGNING_KEYS": LINK_KEY,
        "API_PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "JOB_LEASE_SECONDS": "3",
        "JOB_REQUEUE_AFTER_SECONDS": "5",
        "RECONCILE_INTERVAL_SECONDS": "0.5",
        # The periodic tasks tests wait for (file expiry, idempotency-key cleanup), every second.
        "EXPIRY_INTERVAL_SECONDS": "1",
        "IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS": "1",
        # Every stack shares one bucket but not one database, and moto dates every upload
        # 2010: another stack's scheduler would take a running job's upload for a stale one
        # of a job it does not know, and abort it (it did, at the top of an hour). Only the
        # stacks that test this task run it (tests/integration/test_periodic.py).
        "STALE_UPLOADS_INTERVAL_SECONDS": str(10 * 365 * 24 * 3600),
        "JOB_MIN_BACKOFF_MS": "200",
        "JOB_MAX_BACKOFF_MS": "1000",
        # Shards of the smallest size S3 takes, so that a few hundred thousand rows are split.
        "SHARD_TARGET_BYTES": str(6 * 1024 * 1024),
        "STORAGE_DIR": str(tmp_path_factory.mktemp("files")),
        # The tests' receivers listen on 127.0.0.1; every other private address stays refused.
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
        "WEBHOOK_TIMEOUT_SECONDS": "6",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail.port),
        "SMTP_SECURITY": "none",
        "MAIL_OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
        # Tests send bursts from one address; tests/integration/test_rate_limits.py turns
        # the limits on for stacks of their own.
        "RATE_LIMIT_PER_KEY_PER_MINUTE": "0",
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
        "ANTHROPIC_API_KEY": "sk-ant-test-key",
        "ANTHROPIC_BASE_URL": fake_anthropic.url,
    }


@pytest.fixture(scope="session")
def stack(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API, one worker and the scheduler, running as separate processes on real services."""
    log_dir: Path = tmp_path_factory.mktemp("logs")
    stack = Stack(stack_env, log_dir)
    stack.start_api()
    stack.start("worker", "worker")
    stack.start("scheduler", "scheduler")
    yield stack
    stack.stop_all()


@pytest.fixture(scope="session")
def api_key(stack_env: dict[str, str]) -> str:
    return new_api_key(stack_env, f"alice-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="session")
def other_api_key(stack_env: dict[str, str]) -> str:
    return new_api_key(stack_env, f"bob-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def client(stack: Stack, api_key: str) -> Iterator[httpx.Client]:
    with stack.client(api_key) as client:
        yield client


@pytest.fixture
def other_client(stack: Stack, other_api_key: str) -> Iterator[httpx.Client]:
    with stack.client(other_api_key) as client:
        yield client


@contextlib.asynccontextmanager
async def worker_resources(settings: Settings) -> AsyncIterator[WorkerResources]:
    """What a worker process holds, opened in the test's own process."""
    pool = await create_pool(settings.database)
    try:
        yield WorkerResources(
            settings=settings,
            pool=pool,
            jobs=JobRepository(pool),
            store=object_store(settings.storage),
        )
    finally:
        await pool.close()


@pytest.fixture
async def resources(stack_env: dict[str, str]) -> AsyncIterator[WorkerResources]:
    """What a worker process holds, opened in the test's own process on the stack's services."""
    async with worker_resources(Settings.from_env(stack_env)) as held:
        yield held


@pytest.fixture
async def quiet_resources(stack_env: dict[str, str]) -> AsyncIterator[WorkerResources]:
    """Like `resources`, on a database of its own that no scheduler watches: nothing re-sends
    or takes over what a test leaves half-done on purpose."""
    url = await create_database("tdbuddy_quiet")
    try:
        async with worker_resources(Settings.from_env({**stack_env, "DATABASE_URL": url})) as held:
            yield held
    finally:
        await drop_database(url)
