"""One error shape for every 4xx and 5xx: `{"error": code, "field": path|null, "detail": why}`."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from generators.errors import SpecError
from storage.database import database_unavailable

log = logging.getLogger(__name__)


class ErrorBody(msgspec.Struct):
    error: str
    detail: str
    field: str | None = None


class ApiError(Exception):
    """An error a handler raises on purpose, with the status and body a user sees."""

    def __init__(
        self,
        status_code: int,
        error: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.body = ErrorBody(error=error, detail=detail, field=field)
        self.headers = headers or {}


def error_response(
    status_code: int,
    error: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(error=error, detail=detail, field=field),
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _field_path(msgspec_path: str | None) -> str | None:
    """`.fields[3].type` → `fields[3].type`."""
    if not msgspec_path:
        return None
    return msgspec_path.removeprefix(".")


def _on_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[ErrorBody]:
    return Response(exc.body, status_code=exc.status_code, headers=exc.headers)


def _on_spec_error(_: Request[Any, Any, Any], exc: SpecError) -> Response[ErrorBody]:
    return error_response(422, exc.code, exc.detail, exc.field)


def _on_validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[ErrorBody]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    message = str(first.get("message") or exc.detail)
    match = _PATH.match(message)
    reason = match.group("reason") if match else message
    field = _field_path(match.group("path") if match else None) or first.get("key")
    if first.get("source") in ("query", "path", "header"):
        return error_response(400, "invalid_parameter", reason, first.get("key"))
    return error_response(400, "invalid_request", reason, field)


def _on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    codes = {
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
        415: "unsupported_media_type",
    }
    code = codes.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, exc.detail, headers=exc.headers)


def _on_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.warning("dependency unavailable on %s %s: %r", request.method, request.url.path, exc)
    retry_after = str(request.app.state.settings.jobs.retry_after_seconds)
    return error_response(
        HTTP_503_SERVICE_UNAVAILABLE,
        "unavailable",
        "a service we depend on is unavailable; retry shortly",
        headers={"Retry-After": retry_after},
    )


def _on_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """503 while the database is unreachable (restart, failover); any other error is a bug."""
    if database_unavailable(exc):
        return _on_unavailable(request, exc)
    return _on_bug(request, exc)


def _on_bug(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "internal error")


exception_handlers: dict[type[Exception] | int, Any] = {
    ApiError: _on_api_error,
    SpecError: _on_spec_error,
    ValidationException: _on_validation_error,
    HTTPException: _on_http_error,
    OSError: _on_unavailable,
    asyncpg.PostgresError: _on_database_error,
    asyncpg.InterfaceError: _on_database_error,
    asyncpg.InternalClientError: _on_database_error,
    HTTP_500_INTERNAL_SERVER_ERROR: _on_bug,
}
