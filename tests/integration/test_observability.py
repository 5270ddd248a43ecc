"""Traces, logs and health as an operator sees them: one trace from the HTTP request through the
scheduler's relay into the worker, received by an OTLP/HTTP collector; JSON log lines naming the
job and its trace; /health naming each component with its latency, a down one included."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.fake_anthropic import fake_anthropic
from tests.integration.test_end_to_end import USERS
from tests.services import (
    Stack,
    api_of_its_own,
    free_port,
    job_when,
    new_api_key,
    stack_of_its_own,
)


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: every span POSTed to /v1/traces, by trace."""

    def __init__(self) -> None:
        self.spans: queue.Queue[dict[str, Any]] = queue.Queue()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v1/traces":
                    collector._take(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _take(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            service = next(
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.put(
                        {
                            "service": service,
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_id": span.parent_span_id.hex() or None,
                            "attributes": {a.key: a.value for a in span.attributes},
                            "error": span.status.code == span.status.STATUS_CODE_ERROR,
                        }
                    )

    def spans_of(self, trace_id: str, wanted: set[tuple[str, str]]) -> list[dict[str, Any]]:
        """The spans of `trace_id` once (service, name) of each of `wanted` has arrived."""
        seen: list[dict[str, Any]] = []
        while not wanted <= {(s["service"], s["name"]) for s in seen}:
            try:
                span = self.spans.get(timeout=30)
            except queue.Empty:
                names = sorted((s["service"], s["name"]) for s in seen)
                raise AssertionError(f"spans missing from trace {trace_id}; got {names}") from None
            if span["trace_id"] == trace_id:
                seen.append(span)
        return seen


@contextmanager
def collector() -> Iterator[Collector]:
    receiver = Collector()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture(scope="module")
def otlp() -> Iterator[Collector]:
    with collector() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def traced_stack(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, otlp: Collector
) -> Iterator[Stack]:
    with stack_of_its_own(
        stack_env,
        tmp_path_factory.mktemp("traced-logs"),
        "traced",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url,
        # Batches leave every 50 ms instead of 5 s: the test waits for them, not a timer.
        OTEL_BSP_SCHEDULE_DELAY="50",
        LOG_FORMAT="json",
    ) as stack:
        yield stack


def _process(stack: Stack, name: str) -> Any:
    return next(p for p in stack.processes if p.name == name)


def test_a_job_is_one_trace_from_the_request_through_the_relay_into_the_worker(
    traced_stack: Stack, otlp: Collector
) -> None:
    trace_id = uuid.uuid4().hex
    caller_span = uuid.uuid4().hex[:16]
    key = new_api_key(traced_stack.env, f"traced-{uuid.uuid4().hex[:6]}")
    with traced_stack.client(key) as client:
        answer = client.post(
            "/v1/jobs",
            json={**USERS, "rows": 500},
            headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
        )
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        job_when(client, answer.headers["location"], lambda j: j["state"] == "succeeded", 30)

    spans = otlp.spans_of(
        trace_id,
        {
            ("tdbuddy-api", "POST /v1/jobs"),
            ("tdbuddy-scheduler", "relay job"),
            ("tdbuddy-worker", "generate_job"),
            ("tdbuddy-worker", "generate"),
            ("tdbuddy-worker", "upload"),
        },
    )
    by_name = {s["name"]: s for s in spans}
    # Each tier's span is the child of the one before: the caller's, the API's, the relay's.
    assert by_name["POST /v1/jobs"]["parent_id"] == caller_span
    assert by_name["relay job"]["parent_id"] == by_name["POST /v1/jobs"]["span_id"]
    assert by_name["generate_job"]["parent_id"] == by_name["relay job"]["span_id"]
    assert by_name["generate"]["parent_id"] == by_name["generate_job"]["span_id"]
    assert by_name["generate_job"]["attributes"]["job.id"].string_value == job_id

    # The worker's lines about this job are JSON naming the job and the trace.
    worker_lines = [
        json.loads(line) for line in _process(traced_stack, "worker").log_text().splitlines()
    ]
    about_job = [line for line in worker_lines if line["job_id"] == job_id]
    assert any("succeeded" in line["message"] for line in about_job), worker_lines[-20:]
    assert {line["trace_id"] for line in about_job} == {trace_id}
    # Outside a job, the fields are there and null.
    assert any(line["job_id"] is None and line["trace_id"] is None for line in worker_lines)


def test_a_request_without_a_traceparent_starts_the_trace_the_worker_continues(
    traced_stack: Stack, otlp: Collector
) -> None:
    key = new_api_key(traced_stack.env, f"traced-{uuid.uuid4().hex[:6]}")
    with traced_stack.client(key) as client:
        answer = client.post("/v1/jobs", json={**USERS, "rows": 50})
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        job_when(client, answer.headers["location"], lambda j: j["state"] == "succeeded", 30)
    lines = [json.loads(line) for line in _process(traced_stack, "worker").log_text().splitlines()]
    (trace_id,) = {line["trace_id"] for line in lines if line["job_id"] == job_id}
    spans = otlp.spans_of(
        trace_id, {("tdbuddy-api", "POST /v1/jobs"), ("tdbuddy-worker", "generate_job")}
    )
    api_span = next(s for s in spans if s["service"] == "tdbuddy-api")
    assert api_span["parent_id"] is None  # the API began it


def test_a_refused_request_is_traced_with_its_status_and_not_as_an_error(
    traced_stack: Stack, otlp: Collector
) -> None:
    trace_id = uuid.uuid4().hex
    key = new_api_key(traced_stack.env, f"traced-{uuid.uuid4().hex[:6]}")
    with traced_stack.client(key) as client:
        answer = client.post(
            "/v1/jobs",
            json={**USERS, "rows": -1},
            headers={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"},
        )
    assert answer.status_code == 422
    (span,) = otlp.spans_of(trace_id, {("tdbuddy-api", "POST /v1/jobs")})
    assert span["attributes"]["http.response.status_code"].int_value == 422
    assert span["error"] is False


def test_every_line_of_api_and_scheduler_is_json_with_job_and_trace_fields(
    traced_stack: Stack,
) -> None:
    for name in ("api", "scheduler"):
        lines = _process(traced_stack, name).log_text().splitlines()
        assert lines, f"{name} logged nothing"
        for line in lines:
            parsed = json.loads(line)
            assert {"time", "level", "logger", "message", "job_id", "trace_id"} <= set(parsed)


def test_health_reports_each_component_with_its_latency(traced_stack: Stack) -> None:
    answer = httpx.get(f"{traced_stack.base_url}/health", timeout=10)
    assert answer.status_code == 200
    health = answer.json()
    assert health["status"] == "ok"
    checks = health["checks"]
    for name in ("database", "redis", "storage"):
        assert checks[name]["status"] == "up", checks
        assert checks[name]["latency_ms"] >= 0
    # The stack's schema assistant talks to the tests' Anthropic server.
    assert checks["claude"]["status"] == "up", checks
    assert checks["claude"]["latency_ms"] >= 0
    live = httpx.get(f"{traced_stack.base_url}/health/live", timeout=10)
    assert live.status_code == 200 and live.json() == {"status": "ok"}


def test_a_down_component_is_reported_down_without_an_error_status(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with (
        fake_anthropic() as claude,
        api_of_its_own(
            stack_env,
            tmp_path_factory.mktemp("down-logs"),
            REDIS_URL=closed,
            ANTHROPIC_BASE_URL=claude.url,
            ANTHROPIC_API_KEY="sk-ant-test-key",
            HEALTH_CACHE_SECONDS="60",
        ) as api,
    ):
        answer = httpx.get(f"{api.base_url}/health", timeout=10)
        assert answer.status_code == 200
        health = answer.json()
        assert health["status"] == "degraded"
        checks = health["checks"]
        assert checks["redis"]["status"] == "down"
        assert checks["redis"]["detail"] == "unreachable"
        assert checks["redis"]["latency_ms"] >= 0
        assert checks["database"]["status"] == "up"
        assert checks["storage"]["status"] == "up"
        assert checks["claude"]["status"] == "up"
        assert claude.requests.get(timeout=5).headers["x-api-key"] == "sk-ant-test-key"
        # Polled again within HEALTH_CACHE_SECONDS: the same answer, and no new probe.
        assert httpx.get(f"{api.base_url}/health", timeout=10).json() == health
        assert claude.requests.empty()
        # The key reaches Anthropic only: neither the answer nor the log shows it.
        assert "sk-ant-test-key" not in answer.text
        assert "sk-ant-test-key" not in api.processes[0].log_text()
