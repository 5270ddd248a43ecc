"""Each message a worker processes runs in a span of the trace its sender began, and every line
it logs names its job and that trace."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from opentelemetry import context, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from core.logs import bind_job, unbind_job
from core.tracing import TRACEPARENT, context_from, tracer
from workers.messages import DELIVER, FINALIZE_JOB, GENERATE_JOB, GENERATE_SHARD

_Open = tuple[Span, object, contextvars.Token[str | None] | None]
# Actors whose first argument is a job id; a delivery's is a delivery id, a periodic task's
# none of these.
JOB_ACTORS = frozenset({GENERATE_JOB, GENERATE_SHARD, FINALIZE_JOB})


class TracingMiddleware(dramatiq.Middleware):
    """Opens the message's span (named by its actor) before it runs and closes it after.

    Dramatiq calls both hooks on the worker thread that runs the actor; an async actor's
    coroutine runs with a copy of that thread's context, so it sees the span and the job too.
    """

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        parent = context_from(message.options.get(TRACEPARENT))
        attributes = {"messaging.message.id": message.message_id}
        job_id = None
        if message.actor_name in JOB_ACTORS and message.args:
            job_id = attributes["job.id"] = str(message.args[0])
        elif message.actor_name == DELIVER and message.args:
            attributes["delivery.id"] = str(message.args[0])
        span = tracer.start_span(
            message.actor_name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        )
        token = context.attach(trace.set_span_in_context(span, parent))
        job = bind_job(job_id) if job_id is not None else None
        with self._lock:
            self._open[message.message_id] = (span, token, job)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            opened = self._open.pop(message.message_id, None)
        if opened is None:
            return
        span, token, job = opened
        if exception is not None:
            span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        span.end()
        if job is not None:
            unbind_job(job)
        context.detach(token)  # type: ignore[arg-type]

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)
