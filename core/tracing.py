"""OpenTelemetry traces across the tiers: an HTTP request, the relay and the worker, one trace.

The W3C `traceparent` of a submit is stored with its job (the jobs table is the outbox), the
relay puts it in the job's message options, and the worker continues the trace from there.
Spans are exported over OTLP/HTTP when an endpoint is configured (OTEL_EXPORTER_OTLP_* read by
the exporter itself), or printed one a line in `tdbuddy dev`; with neither, none are made.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from core.settings import ObservabilitySettings

TRACEPARENT = "traceparent"
_propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("tdbuddy")


def setup_tracing(service: str, settings: ObservabilitySettings) -> bool:
    """Installs this process's tracer provider when traces are configured; whether it did."""
    processor = _processor(settings.traces_exporter)
    if processor is None:
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return True


def _processor(exporter: str | None) -> SpanProcessor | None:
    if exporter == "otlp":
        # Imported here: the exporter pulls in protobuf, which a process without traces skips.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return BatchSpanProcessor(OTLPSpanExporter())
    if exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(formatter=_one_line))
    return None


def _one_line(span: ReadableSpan) -> str:
    context = span.get_span_context()
    parent = span.parent
    took_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    fields = {
        "span": span.name,
        "trace_id": format(context.trace_id, "032x") if context else None,
        "span_id": format(context.span_id, "016x") if context else None,
        "parent_id": format(parent.span_id, "016x") if parent else None,
        "ms": round(took_ms, 2),
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }
    return json.dumps(fields, default=str) + "\n"


def current_traceparent(context: Context | None = None) -> str | None:
    """The W3C traceparent of the current (or given) span, None outside a trace."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=context)
    return carrier.get(TRACEPARENT)


def context_from(traceparent: str | None) -> Context:
    """The context that continues `traceparent`; an empty one if it is missing or malformed."""
    return _propagator.extract({TRACEPARENT: traceparent} if traceparent else {})


def traceparent_of_request(headers: Mapping[str, str]) -> str | None:
    """The trace a submit belongs to: the API's own span, else a valid traceparent the client
    sent (so a trace started upstream reaches the worker even while the API makes no spans)."""
    return current_traceparent() or current_traceparent(context_from(headers.get(TRACEPARENT)))
