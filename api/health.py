"""Liveness and readiness: is the process up, and can it reach what it needs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec

from api.state import AppState
from api.wire import Check, Readiness
from workers.broker import ping_broker

log = logging.getLogger(__name__)


@get(
    "/health",
    operation_id="health",
    summary="Liveness: the API process answers",
    tags=["ops"],
    security=[{}],
)
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _timed(
    name: str, probe: Callable[[], Awaitable[Any]], limit_seconds: float = 2.0
) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), limit_seconds)
    except Exception as exc:  # any failure means "not ready", reported, never raised
        latency = (time.perf_counter() - started) * 1000
        # The page is public: the exception (hosts, paths) goes to the log, not the answer.
        log.warning("readiness probe %s failed", name, exc_info=exc)
        detail = "timed out" if isinstance(exc, TimeoutError) else "unreachable"
        return Check(ok=False, latency_ms=round(latency, 2), detail=detail)
    return Check(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


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
