"""A span per HTTP request, continuing the caller's traceparent; installed only with tracing on."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import SpanKind, Status, StatusCode

from core.tracing import TRACEPARENT, context_from, tracer


def traced_requests(app: ASGIApp) -> ASGIApp:
    """Wraps each request in a server span named by its route (`POST /v1/jobs`)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        parent = None
        for name, value in scope["headers"]:
            if name == TRACEPARENT.encode():
                parent = value.decode("latin-1")
        method = scope["method"]
        route = scope.get("path_template") or scope["path"]
        with tracer.start_as_current_span(
            f"{method} {route}",
            context=context_from(parent),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
            # An ApiError (a 4xx) passes through here on its way to the exception handlers
            # outside: only a 5xx marks the span failed.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:

            def answered(status: int) -> None:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    answered(message["status"])
                await send(message)

            try:
                await app(scope, receive, sending)
            except Exception as exc:
                status = getattr(exc, "status_code", 500)
                answered(status)
                if status >= 500:
                    span.record_exception(exc)
                raise

    return middleware
