"""Plans, their limits, and the allowance every new job is checked against.

A plan's limits live in the database (`plans`, migration 0008), so every API process reads
the same ones and an operator's change holds at once. A NULL limit means no limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import asyncpg
import msgspec

from storage.queries import query

LimitName = Literal[
    "rows_per_job", "jobs_per_day", "running_jobs", "bytes_stored", "assistant_tokens_per_month"
]
DEFAULT_PLANS = ("free", "pro", "enterprise")
# What a job that reuses a live file is not held to: it neither runs nor stores more bytes.
# They come after rows_per_job and jobs_per_day in take_job_allowance's order, so a job
# refused for one of them passed those two.
NOT_FOR_REUSED_FILES: frozenset[LimitName] = frozenset({"running_jobs", "bytes_stored"})


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """A plan's limits; None is no limit."""

    name: str
    rows_per_job: int | None
    jobs_per_day: int | None
    running_jobs: int | None
    bytes_stored: int | None
    link_seconds: int | None
    # Claude's tokens (input and output) per calendar month (UTC), for the schema assistant.
    assistant_tokens_per_month: int | None = None


class PlanUsage(msgspec.Struct, frozen=True, kw_only=True):
    """A user's plan and what they use of it now."""

    plan: Plan
    jobs_today: int
    jobs_running: int
    bytes_used: int
    next_file_expiry: dt.datetime | None  # when stored bytes next go down by themselves
    assistant_tokens_used: int = 0  # this calendar month (UTC)


class LimitReached(Exception):
    """A new job its owner's plan does not allow: which limit, and its value."""

    def __init__(self, limit: LimitName, value: int, job: Allowance) -> None:
        super().__init__(f"{limit} limit of {value} reached")
        self.limit = limit
        self.value = value
        self.job = job


class Allowance(msgspec.Struct, frozen=True):
    """The owner and the row count of a job about to be inserted."""

    user_id: int
    rows: int


async def take_allowance(
    conn: asyncpg.Connection, jobs: Sequence[Allowance]
) -> list[LimitReached | None]:
    """For each job, None if its owner's plan allows it, else the limit it breaks.

    The allowed jobs are counted for the day at once, and each owner's counter row stays
    locked until the transaction ends: call this in the transaction that inserts the jobs,
    so a rollback gives the allowance back and no two API processes can both take the last
    job of a limit.
    """
    rows = await conn.fetch(
        query("take_job_allowance"), [job.user_id for job in jobs], [job.rows for job in jobs]
    )
    refusals: list[LimitReached | None] = [None] * len(jobs)
    for row in rows:
        if row["refused"] is not None:
            job = jobs[row["job"] - 1]
            refusals[row["job"] - 1] = LimitReached(row["refused"], row["limit_value"], job)
    return refusals


async def count_refused_job(conn: asyncpg.Connection, user_id: int) -> None:
    """Counts for the day a job `take_allowance` refused for a limit in NOT_FOR_REUSED_FILES
    that was created all the same, on a live file; same transaction, so the row is locked."""
    await conn.execute(query("count_job_today"), user_id)


def _plan(row: asyncpg.Record) -> Plan:
    return Plan(
        name=row["name"],
        rows_per_job=row["rows_per_job"],
        jobs_per_day=row["jobs_per_day"],
        running_jobs=row["running_jobs"],
        bytes_stored=row["bytes_stored"],
        link_seconds=row["link_seconds"],
        assistant_tokens_per_month=row["assistant_tokens_per_month"],
    )


class PlanRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def list(self) -> list[Plan]:
        return [_plan(row) for row in await self._pool.fetch(query("list_plans"))]

    async def set(self, plan: Plan) -> Plan:
        """Creates the plan, or gives an existing one these limits."""
        row = await self._pool.fetchrow(
            query("set_plan"),
            plan.name,
            plan.rows_per_job,
            plan.jobs_per_day,
            plan.running_jobs,
            plan.bytes_stored,
            plan.link_seconds,
            plan.assistant_tokens_per_month,
        )
        return _plan(row)

    async def set_user_plan(self, user_name: str, plan_name: str) -> bool:
        """Moves the user to the plan; False when there is no such user."""
        user_id = await self._pool.fetchval(query("set_user_plan"), user_name, plan_name)
        return user_id is not None

    async def usage(self, user_id: int) -> PlanUsage:
        row = await self._pool.fetchrow(query("plan_usage"), user_id)
        return PlanUsage(
            plan=_plan(row),
            jobs_today=row["jobs_today"],
            jobs_running=row["jobs_running"],
            bytes_used=row["bytes_used"],
            next_file_expiry=row["next_file_expiry"],
            assistant_tokens_used=row["assistant_tokens_used"],
        )
