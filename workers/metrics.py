"""The worker tier's metrics: a middleware that times every message, and the one server that
answers `/metrics` for all the tier's processes (started by `tdbuddy worker` when
WORKER_METRICS_PORT is set)."""

from __future__ import annotations

import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy

from core.metrics import CONTENT_TYPE, MESSAGE_DURATION, latest_page, record_pool
from core.settings import Settings
from workers.resources import current_resources

log = logging.getLogger(__name__)


class WorkerMetrics(dramatiq.Middleware):
    """Times each message by actor and outcome, and records the pool after it."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.pop(message.message_id, None)
        if started is not None:
            outcome = "ok" if exception is None else "error"
            MESSAGE_DURATION.labels(message.actor_name, outcome).observe(
                time.perf_counter() - started
            )
        pool = current_resources().pool
        record_pool(
            pool.get_size() - pool.get_idle_size(), pool.get_idle_size(), pool.get_max_size()
        )

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._started.pop(message.message_id, None)


class _MetricsPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404)
            return
        page = latest_page()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


def serve_metrics() -> int:
    """Serves `/metrics` on WORKER_METRICS_HOST:WORKER_METRICS_PORT until stopped (a Dramatiq
    fork process, beside the worker processes)."""
    settings = Settings.from_env().metrics
    assert settings.worker_port is not None
    server = ThreadingHTTPServer((settings.worker_host, settings.worker_port), _MetricsPage)
    log.info("worker metrics on http://%s:%d/metrics", settings.worker_host, server.server_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
