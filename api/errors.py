"""One error shape for every 4xx and 5xx: `{"error": code, "field": path|null, "detail": why}`."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from generators.errors import SpecError
from storage.database import database_unavailable

log = logging.getLogger(__name__)


class ErrorBody(msgspec.Struct):
    error: str
    detail: str
    field: str | None = None


# What each error status means in this API, as its OpenAPI document says.
ERROR_MEANINGS: dict[int, str] = {
    400: "A parameter, header or body that cannot be read; `field` names it",
    401: "No API key, or an unknown or revoked one",
    403: "Not allowed: a link that is not valid, a limit of your plan, or not an administrator",
    404: "No such thing of yours; `field` names the id",
    409: "Not now: the resource is in a state that refuses this; the detail says which",
    410: "Gone: the file was deleted or has expired",
    413: "The body is larger than the API accepts",
    416: "The range asks for none of the file's bytes",
    422: "Read, but not valid: `field` names the value and `detail` says why",
    429: "Too many requests: retry after Retry-After seconds",
    503: "A service the API depends on is unavailable: retry after Retry-After seconds",
}


def error_responses(*status_codes: int) -> dict[int, ResponseSpec]:
    """The OpenAPI entries of error statuses a handler answers with, each an ErrorBody."""
    return {
        code: ResponseSpec(ErrorBody, generate_examples=False, description=ERROR_MEANINGS[code])
        for code in status_codes
    }


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


class JsonBodyRequest(Request[Any, Any, Any]):
    """A request whose JSON body the decoder gives up on in a way Litestar does not expect
    (nested deeper than it goes, text that is not UTF-8) gets a 400, not a 500."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply") from None
        except UnicodeDecodeError:
            raise ClientException("the JSON body is not valid UTF-8") from None


_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
# msgspec names the field itself only in the reason: "Object missing required field `x`".
_NAMED_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `(?P<name>[^`]+)`$")
# Litestar's words for a required parameter left out (it gives no structured detail then).
_MISSING_PARAMETER = re.compile(
    r"^Missing required (?P<source>query|header|cookie) parameter '(?P<name>[^']+)'"
)


def _field_path(msgspec_path: str | None) -> str | None:
    """`.fields[3].type` → `fields[3].type`."""
    if not msgspec_path:
        return None
    return msgspec_path.removeprefix(".")


def _on_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[ErrorBody]:
    return Response(exc.body, status_code=exc.status_code, headers=exc.headers)


def _on_spec_error(_: Request[Any, Any, Any], exc: SpecError) -> Response[ErrorBody]:
    return error_response(422, exc.code, exc.detail, exc.field)


def _parameter_name(request: Request[Any, Any, Any], argument: str | None) -> str | None:
    """The name a client sends a handler's argument by: `from` for
    `first_day: Annotated[dt.date, Parameter(query="from")]`."""
    field = request.route_handler.parsed_fn_signature.parameters.get(argument or "")
    alias = getattr(field, "kwarg_definition", None)
    return getattr(alias, "query", None) or getattr(alias, "header", None) or argument


def _on_validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[ErrorBody]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    message = str(first.get("message") or exc.detail)
    if missing := _MISSING_PARAMETER.match(message):
        where, name = missing.group("source", "name")
        return error_response(
            400, "invalid_parameter", f"the {where} parameter '{name}' is required", name
        )
    match = _PATH.match(message)
    reason = match.group("reason") if match else message
    field = _field_path(match.group("path") if match else None)
    if named := _NAMED_FIELD.match(reason):
        field = f"{field}.{named.group('name')}" if field else named.group("name")
    field = field or first.get("key")
    if first.get("source") == "body" and message == repr(first.get("key")):
        return error_response(400, "invalid_request", "a JSON body is required", "body")
    if first.get("source") in ("query", "path", "header"):
        return error_response(
            400, "invalid_parameter", reason, _parameter_name(request, first.get("key"))
        )
    return error_response(400, "invalid_request", reason, field)


def _on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    codes = {
        400: "invalid_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
        415: "unsupported_media_type",
    }
    code = codes.get(exc.status_code, "http_error")
    detail = exc.detail
    if exc.status_code == 413:
        limit = request.route_handler.resolve_request_max_body_size()
        detail = f"the request body is larger than the limit of {limit} bytes"
    return error_response(exc.status_code, code, detail, headers=exc.headers)


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
