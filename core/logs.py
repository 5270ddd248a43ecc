"""One logging set-up for every tier: a JSON object a line, each naming its job and trace.

`job_id` is the job the line is about (bound by the worker while it runs one, see `job_bound`)
and `trace_id` the OpenTelemetry trace it belongs to; both are null outside one.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator

from opentelemetry import trace

from core.settings import ObservabilitySettings

_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [job=%(job_id)s trace=%(trace_id)s] %(message)s"
# Loggers that would write a secret at INFO: httpx logs each request's whole URL, and a webhook
# URL's query may carry the receiver's token (workers/deliveries.py logs scheme and host).
HANDLER_NAME = "tdbuddy"
QUIET = {"httpx": logging.WARNING, "httpcore": logging.WARNING}


@contextlib.contextmanager
def job_bound(job_id: object) -> Iterator[None]:
    """Every line logged inside (in this context and the tasks it starts) names `job_id`."""
    token = _job_id.set(str(job_id))
    try:
        yield
    finally:
        _job_id.reset(token)


def bind_job(job_id: object) -> contextvars.Token[str | None]:
    """Binds `job_id` until `unbind_job` is given the token (for hooks split in two halves)."""
    return _job_id.set(str(job_id))


def unbind_job(token: contextvars.Token[str | None]) -> None:
    _job_id.reset(token)


class ContextFilter(logging.Filter):
    """Adds job_id and trace_id (None outside a job or trace) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = _job_id.get()
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        else:
            record.trace_id = record.span_id = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, job_id, trace_id, span_id."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", None),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(settings: ObservabilitySettings) -> None:
    """Sends every logger's lines to stderr in LOG_FORMAT at LOG_LEVEL; safe to call again."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        # Ours from an earlier call, or a plain one of logging.basicConfig (Dramatiq's); a
        # test runner's capturing handlers stay.
        if old.get_name() == HANDLER_NAME or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
