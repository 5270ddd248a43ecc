"""Who is calling: `Authorization: Bearer <api key>` resolved to the key's owner."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from api.state import AppState
from storage.accounts import Caller

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tdbuddy"'}


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The owner of the request's API key; 401 when it is missing, unknown or revoked."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthorizedException(
            "send your API key as 'Authorization: Bearer <key>'", headers=_CHALLENGE
        )
    caller = await AppState.of(request).callers.caller_for_key(secret.strip())
    if caller is None:
        raise NotAuthorizedException("unknown or revoked API key", headers=_CHALLENGE)
    return caller
