"""Users and their API keys. A key is shown once; only its SHA-256 and prefix are kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import time

import asyncpg
import msgspec

from storage.listening import Listening, listen
from storage.queries import query

KEY_PREFIX = "tdb_"
KEY_CHANGES_CHANNEL = "tdbuddy_api_keys"


class Caller(msgspec.Struct, frozen=True):
    """The user an API key belongs to."""

    user_id: int
    name: str
    key_id: int  # the API key the request came with (idempotency keys are scoped to it)
    is_admin: bool = False  # may read the whole service's statistics


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """A user, with the defaults their jobs' notifications fall back on."""

    id: int
    name: str
    email: str | None
    notify_email: str | None
    notify_language: str | None
    created_at: dt.datetime


class NewKey(msgspec.Struct, frozen=True, kw_only=True):
    """A freshly made key: `secret` is the only time the whole key is available."""

    id: int
    user_id: int
    prefix: str
    secret: str
    created_at: dt.datetime


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A key as it is shown after its creation: by its prefix only."""

    id: int
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class UserSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    email: str | None
    plan: str
    is_admin: bool
    created_at: dt.datetime
    live_keys: int


def hash_key(secret: str) -> bytes:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).digest()


class AccountRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_user(
        self, name: str, email: str | None = None, plan: str | None = None
    ) -> int:
        """The id of the user called `name`, created when missing (on the free plan unless
        `plan` is given; an existing user moves to `plan` when it is given)."""
        user_id: int = await self._pool.fetchval(query("insert_user"), name, email, plan)
        return user_id

    async def create_key(self, user_id: int) -> NewKey:
        """A new API key for the user; the caller must hand `secret` over now or lose it."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = secret[: len(KEY_PREFIX) + 8]
        row = await self._pool.fetchrow(query("insert_api_key"), user_id, prefix, hash_key(secret))
        return NewKey(
            id=row["id"],
            user_id=user_id,
            prefix=prefix,
            secret=secret,
            created_at=row["created_at"],
        )

    async def list_keys(self, user_id: int) -> list[ApiKey]:
        """The user's keys, live and revoked, newest first."""
        rows = await self._pool.fetch(query("list_api_keys"), user_id)
        return [ApiKey(**dict(row)) for row in rows]

    async def revoke_key(self, user_id: int, key_id: int) -> bool:
        """Revokes the user's key (at once in every API process); False when the user has
        no such key."""
        return await self._pool.fetchval(query("revoke_api_key"), key_id, user_id) is not None

    async def find_keys(self, id_or_prefix: str) -> list[tuple[str, ApiKey]]:
        """(owner's name, key) of every key with this id or prefix."""
        rows = await self._pool.fetch(query("find_api_keys"), id_or_prefix)
        return [
            (row["user_name"], ApiKey(**{k: v for k, v in row.items() if k != "user_name"}))
            for row in rows
        ]

    async def user_id(self, name: str) -> int | None:
        user_id: int | None = await self._pool.fetchval(query("user_id_by_name"), name)
        return user_id

    async def set_admin(self, name: str, is_admin: bool) -> bool:
        """Makes the user called `name` an administrator or not (at once in every API
        process); False when there is no such user."""
        return await self._pool.fetchval(query("set_user_admin"), name, is_admin) is not None

    async def list_users(self) -> list[UserSummary]:
        return [UserSummary(**dict(row)) for row in await self._pool.fetch(query("list_users"))]

    async def caller_for_key(self, secret: str) -> Caller | None:
        """The owner of a live key, or None for an unknown or revoked one."""
        return await self.caller_for_hash(hash_key(secret))

    async def caller_for_hash(self, key_hash: bytes) -> Caller | None:
        """The owner of the live key with this hash, or None."""
        row = await self._pool.fetchrow(query("user_for_key_hash"), key_hash)
        return (
            None
            if row is None
            else Caller(
                user_id=row["id"], name=row["name"], key_id=row["key_id"], is_admin=row["is_admin"]
            )
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


class CachedCallers:
    """The owners of API keys, kept in memory while the database announces every change.

    A key's owner is read once and then served from memory, for `ttl` seconds at most. A
    revoked or deleted key is announced by the database at commit (migration 0005) and
    forgotten here at once; `ttl` bounds the damage of a listening connection that died
    without a word (a dropped network flow). Nothing is kept while the announcements cannot
    be heard (before listening starts, or after its connection is lost): every request asks
    the database then.
    """

    MAX_KEYS = 10_000
    RELISTEN_SECONDS = 5.0

    def __init__(self, accounts: AccountRepository, pool: asyncpg.Pool, ttl: float = 60.0):
        self._accounts = accounts
        self._pool = pool
        self._ttl = ttl
        self._kept: dict[bytes, tuple[Caller, float]] = {}
        # Bumped by every announcement: a read that overlapped one is not kept.
        self._generation = 0
        self._listening: Listening | None = None
        self._next_listen = 0.0
        self._lock = asyncio.Lock()

    async def caller_for_key(self, secret: str) -> Caller | None:
        """The owner of a live key, or None for an unknown or revoked one."""
        key_hash = hash_key(secret)
        kept = self._kept.get(key_hash)
        now = time.monotonic()
        if kept is not None and kept[1] > now and self._heard():
            return kept[0]
        await self._ensure_listening(now)
        generation = self._generation
        caller = await self._accounts.caller_for_hash(key_hash)
        if caller is not None and self._heard() and generation == self._generation:
            if len(self._kept) >= self.MAX_KEYS:
                self._kept.clear()
            self._kept[key_hash] = (caller, now + self._ttl)
        return caller

    async def close(self) -> None:
        if self._listening is not None:
            await self._listening.close()
            self._listening = None

    def _heard(self) -> bool:
        return self._listening is not None and self._listening.alive

    def _on_change(self, payload: str) -> None:
        self._generation += 1
        if payload == "*":
            self._kept.clear()
            return
        try:
            self._kept.pop(bytes.fromhex(payload), None)
        except ValueError:
            self._kept.clear()

    def _on_lost(self) -> None:
        self._generation += 1
        self._kept.clear()

    async def _ensure_listening(self, now: float) -> None:
        if self._heard() or now < self._next_listen or self._lock.locked():
            return
        async with self._lock:
            self._next_listen = now + self.RELISTEN_SECONDS
            lost, self._listening = self._listening, None
            if lost is not None:
                await lost.close()
            self._kept.clear()
            self._listening = await listen(
                self._pool, KEY_CHANGES_CHANNEL, self._on_change, self._on_lost
            )
            # A read that began before LISTEN may predate a change no one told us of.
            self._generation += 1
