"""Prometheus metrics as an operator's scrape sees them: the API under two uvicorn processes
and a worker tier serving its own page, after real requests and a real job."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.receivers import MailSink, WebhookReceiver
from tests.services import (
    Stack,
    create_database,
    drop_database,
    free_port,
    job_when,
    new_api_key,
    wait_until,
)

POOL_MAX = 4
SPEC = {
    "name": "metered",
    "rows": 1234,
    "format": "csv",
    "seed": 7,
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "email", "type": "email"},
        {"name": "age", "type": "integer", "min": 18, "max": 90},
    ],
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Metered(Stack):
    """A stack of its own: `tdbuddy api --workers 2`, a worker serving /metrics, a scheduler."""

    api_dir: Path
    worker_url: str


@pytest.fixture(scope="module")
def metered(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Metered]:
    port, worker_port = free_port(), free_port()
    database_url = asyncio.run(create_database("tdbuddy_metrics"))
    stack = Metered(
        {
            **stack_env,
            "DATABASE_URL": database_url,
            "DATABASE_POOL_MAX": str(POOL_MAX),
            "BROKER_QUEUE": f"metrics-{uuid.uuid4().hex[:8]}",
            "API_PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "METRICS_REFRESH_SECONDS": "0.2",
        },
        tmp_path_factory.mktemp("metrics-logs"),
    )
    stack.api_dir = tmp_path_factory.mktemp("api-metrics")
    stack.worker_url = f"http://127.0.0.1:{worker_port}/metrics"
    try:
        api = stack.start(
            "api", "api", "--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(stack.api_dir)
        )
        stack.start("worker", "worker", WORKER_METRICS_PORT=str(worker_port))
        stack.start("scheduler", "scheduler")
        wait_until(lambda: _answers(f"{stack.base_url}/health"), 60, f"the API ({api.log_path})")
        wait_until(lambda: _answers(stack.worker_url), 60, "the worker's /metrics")
        yield stack
    finally:
        stack.stop_all()
        asyncio.run(drop_database(database_url))


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def scrape(url: str) -> Samples:
    """Every sample on a /metrics page, by name and labels."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def scrape_until(url: str, predicate: Callable[[Samples], bool], what: str) -> Samples:
    """The first page at `url` whose samples satisfy `predicate` (gauges refresh every 0.2 s,
    deliveries come after the job)."""

    def probe() -> Samples | None:
        samples = scrape(url)
        return samples if predicate(samples) else None

    return wait_until(probe, 30, what)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_two_api_processes_report_summed_request_counts_by_route_template(
    metered: Metered,
) -> None:
    page = f"{metered.base_url}/metrics"
    route = "/v1/jobs/{job_id}"
    before = value(
        scrape(page), "http_request_duration_seconds_count", method="GET", route=route, status="401"
    )
    sent = 0

    def both_processes_served() -> bool:
        nonlocal sent
        # A new connection each time: the kernel hands it to either uvicorn process.
        answer = httpx.get(f"{metered.base_url}/v1/jobs/{uuid.uuid4()}", timeout=10)
        assert answer.status_code == 401, answer.text
        sent += 1
        writers = {p.name for p in metered.api_dir.glob("histogram_*.db")}
        return sent >= 20 and len(writers) >= 2

    wait_until(both_processes_served, 60, "both API processes to answer requests")
    for _ in range(4):  # whichever process answers the scrape adds up both
        samples = scrape(page)
        counted = value(
            samples, "http_request_duration_seconds_count", method="GET", route=route, status="401"
        )
        assert counted - before == sent
    # Both processes' pools are live: their capacity adds up.
    assert value(samples, "database_connections_max") == 2 * POOL_MAX


def test_a_job_shows_on_the_api_and_the_worker_pages(
    metered: Metered, receiver: WebhookReceiver, mail: MailSink
) -> None:
    key = new_api_key(metered.env, f"metrics-{uuid.uuid4().hex[:6]}")
    to = f"ops-{uuid.uuid4().hex[:8]}@example.jp"
    with metered.client(key) as client:
        answer = client.post(
            "/v1/jobs",
            json={**SPEC, "callback_url": f"{receiver.base_url}/metrics-hook", "notify_email": to},
        )
        assert answer.status_code == 202, answer.text
        done = job_when(client, answer.headers["location"], lambda j: j["state"] == "succeeded", 60)
    receiver.next_call("/metrics-hook")
    mail.next_message(to)

    api = scrape_until(
        f"{metered.base_url}/metrics",
        lambda s: value(s, "active_users") >= 1,
        "active_users to count the job's user",
    )
    assert (
        value(
            api,
            "http_request_duration_seconds_count",
            method="POST",
            route="/v1/jobs",
            status="202",
        )
        >= 1
    )
    assert value(api, "tdbuddy_jobs_queued") == 0
    pool = value(api, "database_connections", state="in_use") + value(
        api, "database_connections", state="idle"
    )
    assert 1 <= pool <= 2 * POOL_MAX

    def delivered(samples: Samples) -> bool:
        return all(
            value(samples, "tdbuddy_delivery_attempts_total", channel=channel, outcome="delivered")
            >= 1
            for channel in ("webhook", "email")
        )

    worker = scrape_until(
        metered.worker_url, delivered, "the worker to count the webhook and the email"
    )
    for field_type in ("sequence", "email", "integer"):
        assert value(worker, "data_generation_total", type=field_type, success="true") == 1
    assert value(worker, "data_generation_total", type="email", success="false") == 0
    assert value(worker, "tdbuddy_rows_generated_total") == 1234
    assert value(worker, "tdbuddy_bytes_generated_total") == done["file"]["size_bytes"]
    assert value(worker, "tdbuddy_job_duration_seconds_count", outcome="succeeded") == 1
    assert (
        value(
            worker,
            "tdbuddy_worker_message_duration_seconds_count",
            actor="generate_job",
            outcome="ok",
        )
        >= 1
    )
    assert value(worker, "database_connections_max") == POOL_MAX


def test_no_label_carries_a_raw_path_or_an_id(metered: Metered) -> None:
    job_id = uuid.uuid4()
    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/cancel", "/no/such/page/42"):
        httpx.get(f"{metered.base_url}{path}", timeout=10)
    for url in (f"{metered.base_url}/metrics", metered.worker_url):
        for (name, labels), _ in scrape(url).items():
            for label, text in labels:
                assert not _UUID.search(text), (name, label, text)
                assert "42" not in text.split("/") and "no" not in text.split("/"), (name, text)
                if label == "route":
                    assert text.startswith("/"), text


def test_a_dead_api_process_leaves_its_counts_but_not_its_pool(metered: Metered) -> None:
    page = f"{metered.base_url}/metrics"
    wait_until(
        lambda: len(_live_pids(metered.api_dir)) == 2, 30, "both API processes to record a pool"
    )
    victim = sorted(_live_pids(metered.api_dir))[0]
    counted = value(scrape(page), "http_request_duration_seconds_count", **HEALTH)
    os.kill(victim, signal.SIGKILL)
    survivors = _live_pids(metered.api_dir) - {victim}

    def replaced() -> bool:
        # uvicorn starts a new process; once it has answered a request, its pool is recorded.
        httpx.get(page, timeout=10)
        newcomers = _live_pids(metered.api_dir) - survivors - {victim}
        return any((metered.api_dir / f"histogram_{pid}.db").exists() for pid in newcomers)

    wait_until(replaced, 60, "a new API process to replace the killed one and answer")
    samples = scrape(page)
    # Two live pools, not three: the dead process's is dropped...
    assert value(samples, "database_connections_max") == 2 * POOL_MAX
    # ...while what it counted stays counted.
    assert value(samples, "http_request_duration_seconds_count", **HEALTH) > counted


HEALTH = {"method": "GET", "route": "/metrics", "status": "200"}


def _live_pids(directory: Path) -> set[int]:
    """Processes with a live gauge file that are still running."""
    pids = {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob("gauge_livesum_*.db")}
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}
