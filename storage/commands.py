"""Operator commands on the database: `tdbuddy migrate`, `users`, `keys`, `plans` and
`stats`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
import msgspec

from core.settings import Settings
from storage.accounts import AccountRepository, NewKey
from storage.database import create_pool, migrate
from storage.plans import Plan, PlanRepository
from storage.statistics import DayStatistics, roll_up_day, roll_up_since_last

T = TypeVar("T")
LIMITS = (
    "rows_per_job",
    "jobs_per_day",
    "running_jobs",
    "bytes_stored",
    "link_seconds",
    "assistant_tokens_per_month",
)


async def apply_migrations(database_url: str) -> list[int]:
    """Applies pending migrations to the database at the URL; returns their numbers."""
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def create_user_with_key(
    settings: Settings, name: str, email: str | None, plan: str | None = None
) -> NewKey:
    """A new key for the user called `name`, created when missing (see create_user)."""
    pool = await create_pool(settings.database)
    try:
        accounts = AccountRepository(pool)
        return await accounts.create_key(await accounts.create_user(name, email, plan))
    finally:
        await pool.close()


def _with_pool(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    async def run() -> T:
        pool = await create_pool(Settings.from_env().database)
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str("-" if value is None else value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in [list(header), *cells]) for i in range(len(header))]
    for row in [list(header), *cells]:
        print(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        )


def run_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if settings.database.url is None:
        raise SystemExit("DATABASE_URL is not set")
    applied = asyncio.run(apply_migrations(settings.database.url))
    print(f"applied migrations: {applied}" if applied else "database is up to date")
    return 0


def run_users(args: argparse.Namespace) -> int:
    if args.users_command == "create":
        try:
            key = asyncio.run(
                create_user_with_key(Settings.from_env(), args.name, args.email, args.plan)
            )
        except asyncpg.ForeignKeyViolationError:
            raise SystemExit(f"no plan {args.plan!r}: see `tdbuddy plans list`") from None
        print(f"user {args.name} (id {key.user_id}) — new API key, shown only now:")
        print(key.secret)
    elif args.users_command == "list":
        users = _with_pool(lambda pool: AccountRepository(pool).list_users())
        _table(
            ("id", "name", "plan", "email", "live keys", "admin", "created"),
            [
                (
                    u.id,
                    u.name,
                    u.plan,
                    u.email,
                    u.live_keys,
                    "yes" if u.is_admin else None,
                    f"{u.created_at:%F %R}",
                )
                for u in users
            ],
        )
    elif args.users_command == "set-admin":
        if not _with_pool(lambda pool: AccountRepository(pool).set_admin(args.name, not args.off)):
            raise SystemExit(f"no user {args.name!r}")
        print(f"user {args.name} is {'not ' if args.off else ''}an administrator")
    else:  # set-plan
        try:
            moved = _with_pool(
                lambda pool: PlanRepository(pool).set_user_plan(args.name, args.plan)
            )
        except asyncpg.ForeignKeyViolationError:
            raise SystemExit(f"no plan {args.plan!r}: see `tdbuddy plans list`") from None
        if not moved:
            raise SystemExit(f"no user {args.name!r}")
        print(f"user {args.name} is on plan {args.plan}")
    return 0


def run_keys(args: argparse.Namespace) -> int:
    if args.keys_command == "revoke":
        return _revoke(args.key)

    async def user_keys(pool: asyncpg.Pool) -> tuple[int | None, list[Any]]:
        accounts = AccountRepository(pool)
        user_id = await accounts.user_id(args.user)
        if user_id is None:
            return None, []
        if args.keys_command == "create":
            return user_id, [await accounts.create_key(user_id)]
        return user_id, list(await accounts.list_keys(user_id))

    user_id, keys = _with_pool(user_keys)
    if user_id is None:
        raise SystemExit(f"no user {args.user!r}: create one with `tdbuddy users create`")
    if args.keys_command == "create":
        print(f"new API key {keys[0].id} for {args.user}, shown only now:")
        print(keys[0].secret)
    else:
        _table(
            ("id", "prefix", "created", "revoked"),
            [
                (k.id, k.prefix, f"{k.created_at:%F %R}", k.revoked_at and f"{k.revoked_at:%F %R}")
                for k in keys
            ],
        )
    return 0


def _revoke(id_or_prefix: str) -> int:
    async def revoke(pool: asyncpg.Pool) -> str:
        accounts = AccountRepository(pool)
        found = await accounts.find_keys(id_or_prefix)
        if not found:
            raise SystemExit(f"no API key with id or prefix {id_or_prefix!r}")
        if len(found) > 1:
            ids = ", ".join(str(key.id) for _, key in found)
            raise SystemExit(
                f"{len(found)} keys have prefix {id_or_prefix!r}; name one by id: {ids}"
            )
        user_name, key = found[0]
        user_id = await accounts.user_id(user_name)
        assert user_id is not None
        await accounts.revoke_key(user_id, key.id)
        return f"revoked key {key.id} ({key.prefix}…) of {user_name}"

    print(_with_pool(revoke))
    return 0


def run_plans(args: argparse.Namespace) -> int:
    if args.plans_command == "set":
        return _set_plan(args)
    plans = _with_pool(lambda pool: PlanRepository(pool).list())
    _table(("plan", *LIMITS), [(p.name, *(getattr(p, limit) for limit in LIMITS)) for p in plans])
    print("(- is no limit)")
    return 0


def _set_plan(args: argparse.Namespace) -> int:
    async def set_plan(pool: asyncpg.Pool) -> Plan:
        plans = PlanRepository(pool)
        current = {plan.name: plan for plan in await plans.list()}.get(args.name)
        limits = {limit: None if current is None else getattr(current, limit) for limit in LIMITS}
        for limit in LIMITS:
            given = getattr(args, limit)
            if given is not None:
                limits[limit] = None if given == "none" else _positive(limit, given)
        return await plans.set(Plan(name=args.name, **limits))

    try:
        plan = _with_pool(set_plan)
    except asyncpg.CheckViolationError:
        raise SystemExit(
            "a plan name is 1-40 lower-case letters, digits, - or _, starting with a letter"
            " or digit"
        ) from None
    print(msgspec.json.encode(plan).decode())
    return 0


def _positive(limit: str, value: str) -> int:
    if not value.isdigit() or (limit in ("rows_per_job", "link_seconds") and int(value) == 0):
        raise SystemExit(f"--{limit.replace('_', '-')} takes a whole number above 0, or 'none'")
    return int(value)


def run_stats(args: argparse.Namespace) -> int:
    """`tdbuddy stats roll-up [--day D]`: one line per day rolled up."""
    if args.day is not None:
        days = [_with_pool(lambda pool: roll_up_day(pool, args.day))]
    else:
        days = _with_pool(roll_up_since_last)
    for day in days:
        print(_day_line(day))
    if not days:
        print("every ended day is rolled up already")
    return 0


def _day_line(day: DayStatistics) -> str:
    p50, p95 = day.duration_p50_seconds, day.duration_p95_seconds
    durations = "" if p50 is None or p95 is None else f", p50 {p50:.1f} s, p95 {p95:.1f} s"
    return (
        f"{day.day}: {day.jobs_total} jobs ({day.jobs_succeeded} succeeded, {day.jobs_failed}"
        f" failed, {day.jobs_cancelled} cancelled) of {day.unique_users} users,"
        f" {day.rows_generated:,} rows, {day.bytes_generated:,} bytes{durations};"
        f" assistant: {day.assistant_requests} requests,"
        f" {day.assistant_input_tokens + day.assistant_output_tokens:,} tokens"
    )
