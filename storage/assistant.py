"""What the schema assistant's requests to Claude spent, per user and UTC day (migration 0015).

A plan may cap a user's tokens per calendar month. Each request holds an estimate of its
tokens while Claude answers it, so concurrent requests cannot all pass the check: a request
is let through while the month's spent and held tokens are under the cap. The request that
crosses the cap is answered; the next one is refused.
"""

from __future__ import annotations

import asyncpg
import msgspec

from storage.queries import query


class AssistantAllowance(msgspec.Struct, frozen=True):
    plan: str
    cap: int | None  # tokens per calendar month (UTC); None: no cap
    used: int  # spent this month
    held: int  # by the user's requests still being answered

    @property
    def reached(self) -> bool:
        return self.cap is not None and self.used + self.held >= self.cap


class Hold(msgspec.Struct, frozen=True):
    """Tokens held against the cap for one request; `release_and_record` ends it."""

    id: int
    user_id: int


async def hold_assistant_tokens(
    pool: asyncpg.Pool, user_id: int, tokens: int, seconds: float
) -> Hold | AssistantAllowance:
    """A hold of `tokens` for at most `seconds`, or the allowance that refuses the request."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(query("lock_assistant_user"), user_id)
        await conn.execute(query("forget_expired_assistant_holds"), user_id)
        row = await conn.fetchrow(query("assistant_allowance"), user_id)
        allowance = AssistantAllowance(
            plan=row["plan"], cap=row["cap"], used=row["used"], held=row["held"]
        )
        if allowance.reached:
            return allowance
        hold_id: int = await conn.fetchval(query("hold_assistant_tokens"), user_id, tokens, seconds)
    return Hold(hold_id, user_id)


async def release_and_record(
    pool: asyncpg.Pool, hold: Hold, input_tokens: int, output_tokens: int, failed: bool
) -> None:
    """Ends the hold and counts the request for today with the tokens Claude billed."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(query("release_assistant_hold"), hold.id)
        await conn.execute(
            query("record_assistant_request"), hold.user_id, input_tokens, output_tokens, failed
        )
