"""The caller's API keys: make another (shown once), list them by prefix, revoke one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter

from api.errors import ApiError, error_responses
from api.state import AppState
from storage.accounts import ApiKey, Caller

MAX_LIVE_KEYS = 20


class KeyView(msgspec.Struct):
    id: int
    prefix: str  # the key's first characters: enough to tell keys apart, never to use one
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    current: bool  # the key this request came with


class NewKeyView(msgspec.Struct):
    id: int
    prefix: str
    created_at: dt.datetime
    key: str  # the whole key: shown this once, only its SHA-256 is kept


class KeyList(msgspec.Struct):
    keys: list[KeyView]


def _view(key: ApiKey, caller: Caller) -> KeyView:
    return KeyView(
        id=key.id,
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        current=key.id == caller.key_id,
    )


class KeyController(Controller):
    path = "/v1/keys"
    tags = ("keys",)

    @get("/", operation_id="listApiKeys", summary="Your API keys, newest first, by prefix")
    async def list_keys(self, request: Request[Any, Any, Any], caller: Caller) -> KeyList:
        keys = await AppState.of(request).accounts.list_keys(caller.user_id)
        return KeyList([_view(key, caller) for key in keys])

    @post(
        "/",
        status_code=201,
        operation_id="createApiKey",
        responses=error_responses(409),
        summary="Make another API key for your account; the whole key is shown only now",
        description=f"An account holds at most {MAX_LIVE_KEYS} keys that are not revoked.",
    )
    async def create_key(self, request: Request[Any, Any, Any], caller: Caller) -> NewKeyView:
        accounts = AppState.of(request).accounts
        live = [key for key in await accounts.list_keys(caller.user_id) if key.revoked_at is None]
        if len(live) >= MAX_LIVE_KEYS:
            raise ApiError(
                409,
                "too_many_keys",
                f"an account holds at most {MAX_LIVE_KEYS} live keys; revoke one first",
            )
        key = await accounts.create_key(caller.user_id)
        return NewKeyView(id=key.id, prefix=key.prefix, created_at=key.created_at, key=key.secret)

    @delete(
        "/{key_id:int}",
        operation_id="revokeApiKey",
        responses=error_responses(404),
        summary="Revoke one of your API keys; every API process refuses it at once",
        description="Revoking the key the request came with is allowed: it is the last use.",
    )
    async def revoke_key(
        self,
        request: Request[Any, Any, Any],
        caller: Caller,
        key_id: Annotated[int, Parameter(ge=1, le=2**63 - 1, description="the key's id")],
    ) -> None:
        if not await AppState.of(request).accounts.revoke_key(caller.user_id, key_id):
            raise ApiError(404, "not_found", f"no API key {key_id}", "key_id")
