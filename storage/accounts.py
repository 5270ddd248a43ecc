"""Users and their API keys. A key is shown once; only its SHA-256 and prefix are kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import asyncpg
import msgspec

from storage.queries import query

KEY_PREFIX = "tdb_"


class Caller(msgspec.Struct, frozen=True):
    """The user an API key belongs to."""

    user_id: int
    name: str
    key_id: int  # the API key the request came with (idempotency keys are scoped to it)


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """A user, with the defaults their jobs' notifications fall back on."""

    id: int
    name: str
    email: str | None
    notify_email: str | None
    notify_language: str | None
    created_at: dt.datetime


class NewKey(msgspec.Struct, frozen=True):
    """A freshly made key: `secret` is the only time the whole key is available."""

    user_id: int
    prefix: str
    secret: str


def hash_key(secret: str) -> bytes:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).digest()


class AccountRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_user(self, name: str, email: str | None = None) -> int:
        """The id of the user called `name`, created when missing."""
        user_id: int = await self._pool.fetchval(query("insert_user"), name, email)
        return user_id

    async def create_key(self, user_id: int) -> NewKey:
        """A new API key for the user; the caller must hand `secret` over now or lose it."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = secret[: len(KEY_PREFIX) + 8]
        await self._pool.execute(query("insert_api_key"), user_id, prefix, hash_key(secret))
        return NewKey(user_id=user_id, prefix=prefix, secret=secret)

    async def caller_for_key(self, secret: str) -> Caller | None:
        """The owner of a live key, or None for an unknown or revoked one."""
        row = await self._pool.fetchrow(query("user_for_key_hash"), hash_key(secret))
        return (
            None
            if row is None
            else Caller(user_id=row["id"], name=row["name"], key_id=row["key_id"])
        )

    async def get(self, user_id: int) -> Account:
        row = await self._pool.fetchrow(query("get_account"), user_id)
        return Account(**dict(row))

    async def set_notification_defaults(
        self,
        user_id: int,
        notify_email: str | None,
        notify_language: str | None,
        *,
        email_given: bool,
        language_given: bool,
    ) -> Account:
        """The account after changing the given defaults (None clears one)."""
        row = await self._pool.fetchrow(
            query("update_notification_defaults"),
            user_id,
            notify_email,
            notify_language,
            email_given,
            language_given,
        )
        return Account(**dict(row))
