"""The production topology of docker-compose.prod.yml as local processes: two API processes
behind one nginx running deploy/nginx/ (tests/local_nginx.py), two workers and one scheduler,
on a database, queue and rate-limit Redis of their own. Every request of a user goes through
nginx over HTTPS, as it would in production.

nginx is Debian's (`apt-get install -y nginx`); without it the module skips on a laptop and
fails under CI=true.
"""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from generators.output import write_dataset
from generators.spec import parse_spec
from tests.local_nginx import LocalNginx, nginx_binary
from tests.private_services import PrivateRedis
from tests.services import (
    Process,
    Stack,
    create_database,
    drop_database,
    free_port,
    job_when,
    new_api_key,
    wait_until,
)

# Per client address: one request back every 100 ms, so that a burst of a few dozen requests
# shows in RateLimit-Remaining while a test's polling never meets the limit.
ADDRESS_LIMIT = 600
SPEC = {
    "name": "people",
    "rows": 2_000,
    "format": "csv",
    "seed": 8,
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "email", "type": "email"},
    ],
}


@dataclass
class Topology:
    nginx: LocalNginx
    stack: Stack
    apis: dict[int, Process]  # by port
    api_key: str

    def client(self, local_address: str = "127.0.0.1") -> httpx.Client:
        """A client of nginx, the only address a user knows, connecting from `local_address`."""
        return httpx.Client(
            base_url=self.nginx.url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            transport=httpx.HTTPTransport(local_address=local_address, verify=self.nginx.trust()),
            timeout=30,
        )


def _ready(port: int, process: Process) -> bool:
    if not process.alive():
        raise AssertionError(f"{process.name} exited:\n{process.log_text()[-3000:]}")
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_ready(port: int, process: Process) -> None:
    wait_until(
        lambda: _ready(port, process), 30, f"{process.name} to be ready ({process.log_path})"
    )


@pytest.fixture(scope="module")
def topology(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    nginx_binary()  # before anything starts: a missing nginx skips, or fails under CI
    limits = PrivateRedis()
    limits.start()
    api_ports = [free_port(), free_port()]
    nginx = LocalNginx(api_ports)
    database_url = asyncio.run(create_database("tdbuddy_topology"))
    stack = Stack(
        {
            **stack_env,
            "DATABASE_URL": database_url,
            "BROKER_QUEUE": f"topology-{uuid.uuid4().hex[:8]}",
            # Links point at nginx; the API believes X-Forwarded-For from nginx only.
            "PUBLIC_URL": nginx.url,
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "RATE_LIMIT_REDIS_URL": limits.url,
            "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": str(ADDRESS_LIMIT),
        },
        tmp_path_factory.mktemp("topology-logs"),
    )
    try:
        apis = {port: stack.start(f"api-{port}", "api", API_PORT=str(port)) for port in api_ports}
        for name in ("worker-1", "worker-2"):
            stack.start(name, "worker")
        stack.start("scheduler", "scheduler")
        for port, api in apis.items():
            _wait_ready(port, api)
        nginx.start()
        key = new_api_key(stack.env, f"topology-{uuid.uuid4().hex[:6]}")
        yield Topology(nginx, stack, apis, key)
    finally:
        nginx.stop()
        stack.stop_all()
        asyncio.run(drop_database(database_url))
        limits.remove()


def _served(port: int, route: str) -> float:
    """How many requests for `route` the API process on `port` answered, by its /metrics."""
    page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "http_request_duration_seconds_count"
        and sample.labels.get("route") == route
    )


def _expected_file() -> bytes:
    sink = io.BytesIO()
    write_dataset(parse_spec(SPEC), sink)
    return sink.getvalue()


def _run_job(client: httpx.Client) -> dict[str, object]:
    submitted = client.post("/v1/jobs", json=SPEC)
    assert submitted.status_code == 202, submitted.text
    return job_when(client, submitted.headers["location"], lambda j: j["state"] == "succeeded", 45)


def test_a_job_runs_end_to_end_through_nginx_on_both_api_processes(topology: Topology) -> None:
    with topology.client() as client:
        done = _run_job(client)
        file = done["file"]
        assert isinstance(file, dict)
        link = file["download_url"]
        assert link.startswith(f"{topology.nginx.url}/"), link  # PUBLIC_URL is nginx's
        first = client.get(link)
        assert first.status_code == 302, first.text
        body = httpx.get(first.headers["location"], timeout=30).content
        assert body == _expected_file()
        for _ in range(6):  # round robin: each API process answers some of these
            assert client.get(f"/v1/jobs/{done['id']}").status_code == 200

    served = {port: _served(port, "/v1/jobs/{job_id}") for port in topology.apis}
    assert all(count > 0 for count in served.values()), served


def test_nginx_serves_https_only_with_the_api_headers_once(topology: Topology) -> None:
    plain = httpx.get(f"{topology.nginx.http_url}/v1/jobs", timeout=10)
    assert plain.status_code == 301
    assert plain.headers["location"] == "https://127.0.0.1/v1/jobs"
    with topology.client() as client:
        response = client.get("/v1/jobs")
    assert response.status_code == 200
    # The API saw https through X-Forwarded-Proto; nginx did not add a second copy.
    assert response.headers.get_list("strict-transport-security") == ["max-age=31536000"]
    assert response.headers.get_list("x-frame-options") == ["DENY"]


def test_the_web_page_and_its_assets_are_served_through_nginx_with_the_api_csp(
    topology: Topology,
) -> None:
    with topology.client() as client:
        page = client.get("/")
        assert page.status_code == 200, page.text
        assert "text/html" in page.headers["content-type"]
        # The API's policy, once: the page loads only its own scripts and styles.
        assert page.headers.get_list("content-security-policy") == ["default-src 'self'"]
        assets = re.findall(r'(?:src|href)="(/web/[^"]+)"', page.text)
        assert any(asset.startswith("/web/app.js") for asset in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


def _remaining(client: httpx.Client, **headers: str) -> int:
    response = client.get("/v1/jobs", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.headers["RateLimit-Remaining"])


def test_the_api_limits_the_client_nginx_forwards_not_nginx(topology: Topology) -> None:
    # Two users on their own addresses; nginx connects to the API from 127.0.0.1 for both.
    with topology.client("127.0.0.2") as first, topology.client("127.0.0.3") as second:
        burst = [_remaining(first) for _ in range(30)]
        assert burst[-1] <= ADDRESS_LIMIT - 20, burst  # the burst drew on one allowance
        assert _remaining(second) >= ADDRESS_LIMIT - 2  # and not on the other user's
        # An address the user writes itself is not believed: nginx appends the real one.
        assert _remaining(first, **{"X-Forwarded-For": "203.0.113.50"}) <= ADDRESS_LIMIT - 20


def test_requests_keep_succeeding_when_an_api_process_stops(topology: Topology) -> None:
    stopped, survivor = list(topology.apis)
    topology.apis[stopped].stop()
    before = _served(survivor, "/v1/jobs/{job_id}")
    with topology.client() as client:
        done = _run_job(client)
        statuses = [client.get(f"/v1/jobs/{done['id']}").status_code for _ in range(10)]
    assert statuses == [200] * 10
    assert _served(survivor, "/v1/jobs/{job_id}") >= before + 10
