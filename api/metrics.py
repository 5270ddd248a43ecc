"""`GET /metrics` and what feeds it: request timings, and gauges refreshed in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.state import AppState
from core.metrics import (
    ACTIVE_USERS,
    CONTENT_TYPE,
    HTTP_REQUEST_DURATION,
    JOBS_QUEUED,
    latest_page,
    record_pool,
)
from storage.queries import query

log = logging.getLogger(__name__)


@get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics of every process of this API",
    tags=["ops"],
    security=[{}],
    include_in_schema=False,
    sync_to_thread=False,
)
def metrics() -> Response[bytes]:
    return Response(latest_page(), media_type=CONTENT_TYPE)


def request_timing(app: ASGIApp) -> ASGIApp:
    """Middleware that times each request under its route template (`/v1/jobs/{job_id}`),
    never its raw path, so that the metric's labels stay few."""

    async def timed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        except Exception as exc:
            # Turned into the answer by the exception handlers outside this middleware.
            status = getattr(exc, "status_code", 500)
            raise
        finally:
            labels = (scope["method"], scope.get("path_template", "unknown"), status)
            child = children.get(labels)
            if child is None:  # labels() checks and locks: once per label set, not per request
                child = children[labels] = HTTP_REQUEST_DURATION.labels(
                    labels[0], labels[1], str(status)
                )
            child.observe(time.perf_counter() - started)

    children: dict[tuple[str, str, int], Any] = {}
    return timed


@contextlib.asynccontextmanager
async def refreshing_gauges(app: Litestar) -> AsyncIterator[None]:
    """Refreshes the pool and database gauges every METRICS_REFRESH_SECONDS while serving,
    so a scrape costs no query."""
    task = asyncio.create_task(_refresh_forever(app.state.resources))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _refresh_forever(resources: AppState) -> None:
    pool = resources.pool
    interval = resources.settings.metrics.refresh_seconds
    while True:
        record_pool(
            pool.get_size() - pool.get_idle_size(), pool.get_idle_size(), pool.get_max_size()
        )
        try:
            row = await pool.fetchrow(query("metrics_gauges"))
        except Exception:  # the next refresh tries again; /ready reports the database
            log.warning("could not refresh the metrics gauges", exc_info=True)
        else:
            ACTIVE_USERS.set(row["active_users"])
            JOBS_QUEUED.set(row["jobs_queued"])
        await asyncio.sleep(interval)
