"""Liveness, component health and readiness: is the process up, and can it reach what it
needs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import httpx
import msgspec
from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from redis.asyncio import Redis

from api.state import AppState
from api.wire import Check, Readiness
from core.settings import Settings
from workers.broker import ping_broker

log = logging.getLogger(__name__)

PROBE_SECONDS = 2.0
ANTHROPIC_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


class Component(msgspec.Struct):
    """One dependency: "up", "down" (with why) or "not_configured" (no latency then)."""

    status: Literal["up", "down", "not_configured"]
    latency_ms: float | None = None
    detail: str | None = None


class Health(msgspec.Struct):
    """ "ok" when every configured component is up, "degraded" otherwise."""

    status: Literal["ok", "degraded"]
    checks: dict[str, Component]


@get(
    "/health/live",
    operation_id="liveness",
    summary="Liveness: the API process answers (no I/O)",
    tags=["ops"],
    security=[{}],
)
async def live() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/health",
    operation_id="health",
    summary="Health of the database, Redis, storage and Claude, each with its latency",
    description=(
        "Always 200 while the API process runs: each component says up, down or "
        "not_configured, with the latency of its probe. Probes are shared for "
        "HEALTH_CACHE_SECONDS (2 s), so polling this often costs the dependencies little. "
        "GET /health/live answers without any I/O; GET /ready answers 503 when the API "
        "cannot serve."
    ),
    tags=["ops"],
    security=[{}],
)
async def health(request: Request[Any, Any, Any]) -> Health:
    state = AppState.of(request)
    shared: HealthCache = request.app.state.setdefault("health_cache", HealthCache())
    return await shared.get(state)


class HealthCache:
    """The last probes' answer for a moment, and one round of probes at a time."""

    def __init__(self) -> None:
        self._answer: Health | None = None
        self._at = 0.0
        self._round: asyncio.Task[Health] | None = None

    async def get(self, state: AppState) -> Health:
        fresh_for = state.settings.observability.health_cache_seconds
        if self._answer is not None and time.monotonic() - self._at < fresh_for:
            return self._answer
        if self._round is None:
            self._round = asyncio.create_task(_probe_components(state))
            self._round.add_done_callback(self._keep)
        # Shielded: a poller that hangs up must not cancel the round others wait for.
        return await asyncio.shield(self._round)

    def _keep(self, done: asyncio.Task[Health]) -> None:
        self._round = None
        if not done.cancelled() and done.exception() is None:
            self._answer, self._at = done.result(), time.monotonic()


async def _probe_components(state: AppState) -> Health:
    settings = state.settings

    async def database() -> None:
        await state.pool.fetchval("SELECT 1")

    async def storage() -> None:
        await asyncio.to_thread(state.store.check)

    redis_url = _redis_url(settings)
    claude = settings.assistant
    names = ("database", "redis", "storage", "claude")
    probes = (
        _component("database", database),
        _component("redis", (lambda: _ping_redis(redis_url)) if redis_url else None),
        _component("storage", storage),
        _component(
            "claude",
            (lambda: _ping_claude(settings)) if claude.api_key or claude.base_url else None,
        ),
    )
    checks = dict(zip(names, await asyncio.gather(*probes), strict=True))
    ok = all(check.status != "down" for check in checks.values())
    return Health(status="ok" if ok else "degraded", checks=checks)


async def _component(name: str, probe: Callable[[], Awaitable[Any]] | None) -> Component:
    if probe is None:
        return Component(status="not_configured")
    check = await _timed(name, probe)
    return Component(
        status="up" if check.ok else "down", latency_ms=check.latency_ms, detail=check.detail
    )


def _redis_url(settings: Settings) -> str | None:
    """REDIS_URL (rate limits, and the broker unless BROKER_URL says otherwise)."""
    if settings.edge.redis_url:
        return settings.edge.redis_url
    broker = settings.broker.url
    return broker if broker and broker.startswith(("redis://", "rediss://")) else None


async def _ping_redis(url: str) -> None:
    client = Redis.from_url(url, socket_connect_timeout=PROBE_SECONDS, socket_timeout=PROBE_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _ping_claude(settings: Settings) -> None:
    """Lists the models: no tokens spent, and it proves the key and the network path."""
    claude = settings.assistant
    base = (claude.base_url or ANTHROPIC_URL).rstrip("/")
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if claude.api_key:
        headers["x-api-key"] = claude.api_key
    async with httpx.AsyncClient(timeout=PROBE_SECONDS) as client:
        response = await client.get(f"{base}/v1/models", headers=headers)
    response.raise_for_status()


async def _timed(
    name: str, probe: Callable[[], Awaitable[Any]], limit_seconds: float = PROBE_SECONDS
) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), limit_seconds)
    except Exception as exc:  # any failure means "not ready", reported, never raised
        latency = (time.perf_counter() - started) * 1000
        # The page is public: the exception (hosts, paths) goes to the log, not the answer.
        log.warning("probe of %s failed", name, exc_info=exc)
        return Check(ok=False, latency_ms=round(latency, 2), detail=_why(exc))
    return Check(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


def _why(exc: Exception) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"answered HTTP {exc.response.status_code}"
    return "unreachable"


@get(
    "/ready",
    operation_id="ready",
    summary="Readiness: PostgreSQL, the broker and storage, each with its latency",
    description=(
        "Answers 503 with Retry-After while PostgreSQL or storage cannot be reached. The "
        "broker is reported but not required: a submit only commits its job, and the "
        "scheduler sends it once the broker is back."
    ),
    tags=["ops"],
    security=[{}],
    responses={503: ResponseSpec(Readiness, description="Not ready: the failing checks say why")},
)
async def ready(request: Request[Any, Any, Any]) -> Response[Readiness]:
    state = AppState.of(request)

    async def database() -> None:
        await state.pool.fetchval("SELECT 1")

    async def broker() -> None:
        await asyncio.to_thread(ping_broker, state.broker, state.settings.broker.queue)

    async def storage() -> None:
        await asyncio.to_thread(state.store.check)

    names = ("database", "broker", "storage")
    checks = await asyncio.gather(
        _timed("database", database), _timed("broker", broker), _timed("storage", storage)
    )
    by_name = dict(zip(names, checks, strict=True))
    needed = (by_name["database"], by_name["storage"])
    result = Readiness(ready=all(c.ok for c in needed), checks=by_name)
    if result.ready:
        return Response(result, status_code=200)
    # As every other 503 of this API: a load balancer or client may try again after this long.
    retry_after = str(state.settings.jobs.retry_after_seconds)
    return Response(result, status_code=503, headers={"Retry-After": retry_after})
