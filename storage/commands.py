"""Operator commands on the database: `tdbuddy migrate` and `tdbuddy users create`."""

from __future__ import annotations

import argparse
import asyncio

import asyncpg

from core.settings import Settings
from storage.accounts import AccountRepository, NewKey
from storage.database import create_pool, migrate


async def apply_migrations(database_url: str) -> list[int]:
    """Applies pending migrations to the database at the URL; returns their numbers."""
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def create_user_with_key(settings: Settings, name: str, email: str | None) -> NewKey:
    pool = await create_pool(settings.database)
    try:
        accounts = AccountRepository(pool)
        return await accounts.create_key(await accounts.create_user(name, email))
    finally:
        await pool.close()


def run_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if settings.database.url is None:
        raise SystemExit("DATABASE_URL is not set")
    applied = asyncio.run(apply_migrations(settings.database.url))
    print(f"applied migrations: {applied}" if applied else "database is up to date")
    return 0


def run_users(args: argparse.Namespace) -> int:
    key = asyncio.run(create_user_with_key(Settings.from_env(), args.name, args.email))
    print(f"user {args.name} (id {key.user_id}) — new API key, shown only now:")
    print(key.secret)
    return 0
