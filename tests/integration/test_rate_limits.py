"""Rate limits as clients meet them: per API key across two API replicas, per client address
behind a trusted proxy, with 429, Retry-After and RateLimit-* headers, and no 5xx when Redis
is gone.

The counters live in a private Redis (RATE_LIMIT_REDIS_URL), emptied before each test; the
limits are small, and GCRA gives one request back every minute/limit (10 s and more here), so a
burst sent within that time meets the limit exactly.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from tests.private_services import PrivateRedis
from tests.services import PROXY_ADDRESS as PROXY
from tests.services import Stack, api_of_its_own, new_api_key, wait_until

KEY_LIMIT = 5
ADDRESS_LIMIT = 3


@pytest.fixture(scope="module")
def limits_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.remove()


@pytest.fixture(autouse=True)
def _empty_counters(limits_redis: PrivateRedis) -> None:
    if not limits_redis.running:  # a test that failed half-way may have left it down
        limits_redis.start()
    redis.Redis.from_url(limits_redis.url).flushall()


@pytest.fixture(scope="module")
def replicas(
    stack_env: dict[str, str],
    limits_redis: PrivateRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, Stack]]:
    """Two API processes on one database and one Redis, limited per API key only."""
    logs = tmp_path_factory.mktemp("replica-logs")
    env = {
        "RATE_LIMIT_REDIS_URL": limits_redis.url,
        "RATE_LIMIT_PER_KEY_PER_MINUTE": str(KEY_LIMIT),
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
    }
    with (
        api_of_its_own(stack_env, logs, **env) as first,
        api_of_its_own(stack_env, logs, **env) as second,
    ):
        yield first, second


@pytest.fixture(scope="module")
def proxied_api(
    stack_env: dict[str, str],
    limits_redis: PrivateRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """An API limited per client address only, behind a trusted proxy at 127.0.0.2."""
    with api_of_its_own(
        stack_env,
        tmp_path_factory.mktemp("proxied-logs"),
        RATE_LIMIT_REDIS_URL=limits_redis.url,
        RATE_LIMIT_PER_KEY_PER_MINUTE="0",
        RATE_LIMIT_PER_ADDRESS_PER_MINUTE=str(ADDRESS_LIMIT),
        TRUSTED_PROXIES=f"{PROXY}/32",
    ) as api:
        yield api


def _burst(clients: list[httpx.Client], count: int) -> list[httpx.Response]:
    """`count` GET /v1/jobs at once, spread over the clients in turn."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda i: clients[i % len(clients)].get("/v1/jobs"), range(count)))


def _assert_rate_limited(response: httpx.Response, limit: int, per: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "rate_limited"
    assert body["field"] is None
    assert f"per {per}" in body["detail"]
    assert f"{limit} requests per minute" in body["detail"]
    # The next request fits within one interval (a minute over the limit); the whole
    # allowance is back within the minute, and not before the next request fits.
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= math.ceil(60 / limit)
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert retry_after <= int(response.headers["RateLimit-Reset"]) <= 60
    assert f"{response.headers['Retry-After']} s" in body["detail"]


def test_two_replicas_hold_one_limit_per_key_in_total(
    replicas: tuple[Stack, Stack], stack_env: dict[str, str], limits_redis: PrivateRedis
) -> None:
    key = new_api_key(stack_env, f"burst-{uuid.uuid4().hex[:6]}")
    first, second = replicas
    with first.client(key) as one, second.client(key) as other:
        responses = _burst([one, other], 4 * KEY_LIMIT)

    served = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(served) == KEY_LIMIT, [r.status_code for r in responses]
    # Each success saw the shared count: one of each remaining value, whichever replica served it.
    remaining = sorted(int(r.headers["RateLimit-Remaining"]) for r in served)
    assert remaining == list(range(KEY_LIMIT))
    assert all(r.headers["RateLimit-Limit"] == str(KEY_LIMIT) for r in served)
    for response in refused:
        _assert_rate_limited(response, KEY_LIMIT, "API key")
    # Both replicas refused some: neither counted on its own.
    assert {str(r.url.port) for r in refused} == {
        first.env["API_PORT"],
        second.env["API_PORT"],
    }
    # The counters are named by a fingerprint; the key itself is nowhere in Redis.
    store = redis.Redis.from_url(limits_redis.url)
    stored = repr([(name, store.get(name)) for name in store.keys("*")])
    assert "tdbuddy:ratelimit:key:" in stored
    assert key not in stored


def test_an_unknown_key_is_limited_like_any_other(replicas: tuple[Stack, Stack]) -> None:
    first, second = replicas
    unknown = f"tdb_{uuid.uuid4().hex}"
    with first.client(unknown) as one, second.client(unknown) as other:
        responses = [(one if i % 2 else other).get("/v1/jobs") for i in range(KEY_LIMIT + 2)]

    statuses = [r.status_code for r in responses]
    assert statuses == [401] * KEY_LIMIT + [429, 429]
    _assert_rate_limited(responses[-1], KEY_LIMIT, "API key")


def test_health_and_readiness_are_not_limited(replicas: tuple[Stack, Stack]) -> None:
    first, _ = replicas
    with first.client(f"tdb_{uuid.uuid4().hex}") as client:
        for _ in range(KEY_LIMIT + 2):
            health = client.get("/health")
            assert health.status_code == 200
            assert "RateLimit-Limit" not in health.headers
        assert client.get("/ready").status_code == 200
        assert client.get("/v1/jobs").status_code == 401  # the key's allowance is untouched


def _via_proxy(api: Stack) -> httpx.Client:
    """A client whose connections come from the trusted proxy's address."""
    return httpx.Client(
        base_url=api.base_url, transport=httpx.HTTPTransport(local_address=PROXY), timeout=30
    )


def _from(client: httpx.Client, forwarded_for: str) -> int:
    return client.get("/v1/jobs", headers={"X-Forwarded-For": forwarded_for}).status_code


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance(
    proxied_api: Stack,
) -> None:
    with _via_proxy(proxied_api) as proxy:
        assert [_from(proxy, "203.0.113.7") for _ in range(ADDRESS_LIMIT)] == [401] * ADDRESS_LIMIT
        refused = proxy.get("/v1/jobs", headers={"X-Forwarded-For": "203.0.113.7"})
        _assert_rate_limited(refused, ADDRESS_LIMIT, "client address")
        # Another client behind the same proxy is not affected.
        assert _from(proxy, "203.0.113.8") == 401
        # The client is the right-most hop that is not a trusted proxy; what it wrote itself
        # to the left is ignored.
        assert _from(proxy, "198.51.100.1, 203.0.113.7") == 429
        assert _from(proxy, f"203.0.113.9, {PROXY}") == 401


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(proxied_api: Stack) -> None:
    with httpx.Client(base_url=proxied_api.base_url, timeout=30) as direct:
        statuses = [_from(direct, f"198.51.100.{i}") for i in range(ADDRESS_LIMIT + 1)]
    assert statuses == [401] * ADDRESS_LIMIT + [429]


@pytest.mark.parametrize(
    "forwarded_for",
    ["", "not-an-address", "203.0.113.7, ,, [::1", "999.1.1.1", "1.2.3.4:99999", "x" * 4000],
)
def test_a_malformed_forwarded_for_is_not_an_error(proxied_api: Stack, forwarded_for: str) -> None:
    with _via_proxy(proxied_api) as proxy, httpx.Client(base_url=proxied_api.base_url) as direct:
        for client in (proxy, direct):
            assert _from(client, forwarded_for) in (401, 429)


def test_requests_are_served_while_redis_is_down(stack_env: dict[str, str], tmp_path: Path) -> None:
    server = PrivateRedis()
    server.start()
    key = new_api_key(stack_env, f"outage-{uuid.uuid4().hex[:6]}")
    try:
        with (
            api_of_its_own(
                stack_env,
                tmp_path,
                RATE_LIMIT_REDIS_URL=server.url,
                RATE_LIMIT_PER_KEY_PER_MINUTE="2",
                RATE_LIMIT_PER_ADDRESS_PER_MINUTE="0",
            ) as api,
            api.client(key) as client,
        ):
            assert [client.get("/v1/jobs").status_code for _ in range(3)] == [200, 200, 429]
            server.stop()
            during = [client.get("/v1/jobs") for _ in range(10)]
            assert [r.status_code for r in during] == [200] * 10
            assert all("RateLimit-Limit" not in r.headers for r in during)
            log = api.processes[0].log_text
            warning = "rate limits are not enforced: Redis is unreachable"
            wait_until(lambda: warning in log(), 10, "the warning in the API's log")
            assert log().count(warning) == 1  # once, not once per request
            # Back (and empty): the limit holds again once the API tries Redis anew.
            server.start()
            wait_until(
                lambda: client.get("/v1/jobs").status_code == 429, 30, "the limit to hold again"
            )
            wait_until(lambda: "rate limits are enforced again" in log(), 10, "the recovery log")
    finally:
        server.remove()
