"""Real services for the tests: a fresh PostgreSQL database, a Redis queue, moto's S3 server,
and the product's own processes (API, worker, scheduler) started as a user would start them.

A missing service skips the tests that need it on a laptop, and fails them under CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LINK_KEY = "1:test-link-signing-key-0123456789"

T = TypeVar("T")


def unavailable(what: str) -> None:
    """Skips the test on a laptop without `what`; fails it in CI, where every service must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(prefix: str, migrated: bool = True) -> str:
    """A new database on the local server, migrated unless told not to; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    if migrated:
        from storage.commands import apply_migrations

        await apply_migrations(url)
    return url


async def drop_database(url: str) -> None:
    """Drops a database that create_database made, whoever is still connected to it."""
    await _admin(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(
    probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05
) -> T:
    """The first truthy value `probe` returns, polling until `timeout`; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Process:
    """A product process (`python -m core.cli …`) in its own process group, with its log kept."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "core.cli", *args],
            cwd=ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group: the process and every child dies at once, mid-work."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


class Stack:
    """The environment every product process of one test session shares, and its processes."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[Process] = []

    @property
    def base_url(self) -> str:
        return self.env["PUBLIC_URL"]

    def client(self, api_key: str) -> httpx.Client:
        """An HTTP client on the API that sends `api_key` with every request."""
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )

    def start(self, name: str, *args: str, **extra_env: str) -> Process:
        process = Process(name, list(args), {**self.env, **extra_env}, self.log_dir)
        self.processes.append(process)
        return process

    def start_worker_without_storage(self, attempts: int) -> str:
        """Starts a worker of its own, on a queue of its own, whose bucket does not exist: every
        storage call fails until its `attempts` run out. Returns its queue."""
        queue = f"doomed-{uuid.uuid4().hex[:6]}"
        self.start(
            "doomed-worker",
            "worker",
            BROKER_QUEUE=queue,
            S3_BUCKET="no-such-bucket-here",
            JOB_MAX_ATTEMPTS=str(attempts),
        )
        return queue

    def start_api(self) -> Process:
        api = self.start("api", "api")
        wait_until(
            lambda: self._healthy(api), 30, f"the API to answer /health (log: {api.log_path})"
        )
        return api

    def _healthy(self, api: Process) -> bool:
        if not api.alive():
            raise AssertionError(f"API exited:\n{api.log_text()[-3000:]}")
        try:
            return httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@contextlib.contextmanager
def stack_of_its_own(
    base_env: Mapping[str, str], log_dir: Path, name: str, **env: str
) -> Iterator[Stack]:
    """API, worker and scheduler on a database and queue of their own, with `env` on top.

    The session's scheduler relays every job of the session's database to the session's
    queue: a stack configured otherwise (another broker, local storage) needs its own.
    """
    port = free_port()
    database_url = asyncio.run(create_database(f"tdbuddy_{name}"))
    stack = Stack(
        {
            **base_env,
            "DATABASE_URL": database_url,
            "BROKER_QUEUE": f"{name}-{uuid.uuid4().hex[:8]}",
            "API_PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            **env,
        },
        log_dir,
    )
    try:
        stack.start_api()
        stack.start("worker", "worker")
        stack.start("scheduler", "scheduler")
        yield stack
    finally:
        stack.stop_all()
        asyncio.run(drop_database(database_url))


# A second loopback address, which a client can send from: the "load balancer" of the tests
# that configure TRUSTED_PROXIES, while 127.0.0.1 stays an untrusted peer.
PROXY_ADDRESS = "127.0.0.2"


@contextlib.contextmanager
def api_of_its_own(base_env: Mapping[str, str], log_dir: Path, **env: str) -> Iterator[Stack]:
    """One API process on a port of its own, on `base_env`'s database, with `env` on top."""
    port = free_port()
    stack = Stack(
        {**base_env, "API_PORT": str(port), "PUBLIC_URL": f"http://127.0.0.1:{port}", **env},
        log_dir,
    )
    try:
        stack.start_api()
        yield stack
    finally:
        stack.stop_all()


def run_sql(database_url: str, sql: str, *args: Any) -> None:
    """Runs one statement on the database, as an operator (or a failing worker) might."""

    async def go() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    asyncio.run(go())


def new_api_key(env: Mapping[str, str], user_name: str, plan: str = "enterprise") -> str:
    """A fresh API key for the user (created if new, or moved to `plan`), made as `tdbuddy
    users create` does; on the enterprise plan by default, which limits no test's jobs."""
    from core.settings import Settings
    from storage.commands import create_user_with_key

    settings = Settings.from_env(env)
    return asyncio.run(create_user_with_key(settings, user_name, None, plan)).secret


def job_when(
    client: httpx.Client, job_url: str, predicate: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """The job's JSON once `predicate` holds for it, polling the API."""
    last: dict[str, Any] = {}

    def probe() -> dict[str, Any] | None:
        nonlocal last
        response = client.get(job_url)
        assert response.status_code == 200, response.text
        last = response.json()
        return last if predicate(last) else None

    try:
        return wait_until(probe, timeout, "the job", interval=0.05)
    except AssertionError:
        raise AssertionError(f"job never reached the expected state; last seen: {last}") from None
