"""What the schema assistant's requests to Claude spent, per user and UTC day (migration 0015).

A plan may cap a user's tokens per calendar month; the cap is checked before each request,
so the request that crosses it is answered and the next one is refused.
"""

from __future__ import annotations

import asyncpg
import msgspec

from storage.queries import query


class AssistantAllowance(msgspec.Struct, frozen=True):
    plan: str
    cap: int | None  # tokens per calendar month (UTC); None: no cap
    used: int  # this month

    @property
    def reached(self) -> bool:
        return self.cap is not None and self.used >= self.cap


async def assistant_allowance(pool: asyncpg.Pool, user_id: int) -> AssistantAllowance:
    row = await pool.fetchrow(query("assistant_allowance"), user_id)
    return AssistantAllowance(plan=row["plan"], cap=row["cap"], used=row["used"])


async def record_assistant_request(
    pool: asyncpg.Pool, user_id: int, input_tokens: int, output_tokens: int, failed: bool
) -> None:
    """Counts one request of the user today, with the tokens Claude billed for it."""
    await pool.execute(
        query("record_assistant_request"), user_id, input_tokens, output_tokens, failed
    )
