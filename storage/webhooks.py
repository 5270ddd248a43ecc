"""Webhook endpoints of an account, each with its own signing secret (Standard Webhooks)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid

import asyncpg
import msgspec

from storage.queries import query

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix the spec gives every secret
EVENTS = ("job.succeeded", "job.failed", "job.cancelled", "job.expired")


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One row of webhook_endpoints."""

    id: uuid.UUID
    user_id: int
    url: str
    description: str
    events: list[str]
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: dt.datetime | None
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Endpoint:
        return cls(**{name: row[name] for name in cls.__struct_fields__})


class WebhookRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, user_id: int, url: str, events: list[str], description: str) -> Endpoint:
        row = await self._pool.fetchrow(
            query("insert_webhook_endpoint"),
            uuid.uuid4(),
            user_id,
            url,
            description,
            events,
            new_secret(),
        )
        return Endpoint.from_row(row)

    async def list_for_user(self, user_id: int) -> list[Endpoint]:
        rows = await self._pool.fetch(query("list_webhook_endpoints"), user_id)
        return [Endpoint.from_row(row) for row in rows]

    async def get(self, endpoint_id: uuid.UUID, user_id: int) -> Endpoint | None:
        row = await self._pool.fetchrow(query("get_webhook_endpoint"), endpoint_id, user_id)
        return None if row is None else Endpoint.from_row(row)

    async def delete(self, endpoint_id: uuid.UUID, user_id: int) -> bool:
        return (
            await self._pool.fetchval(query("delete_webhook_endpoint"), endpoint_id, user_id)
            is not None
        )

    async def rotate_secret(
        self, endpoint_id: uuid.UUID, user_id: int, grace_seconds: int
    ) -> Endpoint | None:
        """The endpoint with a new secret; the old one keeps signing for `grace_seconds`."""
        row = await self._pool.fetchrow(
            query("rotate_webhook_secret"), endpoint_id, user_id, new_secret(), grace_seconds
        )
        return None if row is None else Endpoint.from_row(row)

    async def enable(self, endpoint_id: uuid.UUID, user_id: int) -> Endpoint | None:
        """The endpoint, taking deliveries again after it was disabled."""
        row = await self._pool.fetchrow(query("enable_webhook_endpoint"), endpoint_id, user_id)
        return None if row is None else Endpoint.from_row(row)
