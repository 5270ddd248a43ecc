"""Deliveries in PostgreSQL: the webhook calls and emails that tell users a job has ended.

A trigger on the jobs table writes one row per message in the transaction that ends the job
(migration 0004). The scheduler's dispatcher sends a worker message for each due row; a worker
takes the row for one attempt, makes it and records the outcome: delivered, failed for good,
or due again later on the retry schedule.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import asyncpg
import msgspec

from storage.queries import query

NOTIFY_CHANNEL = "tdbuddy_deliveries"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the deliveries table."""

    id: uuid.UUID
    job_id: uuid.UUID
    channel: str  # "webhook" or "email"
    event: str
    endpoint_id: uuid.UUID | None
    target: str
    language: str | None
    payload: str | None
    state: DeliveryState
    attempts: int
    schedule_step: int
    next_attempt_at: dt.datetime
    resend_by_hand: bool
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    # Attempts recorded in delivery_attempts when this one was claimed (claims only).
    recorded_attempts: int = 0

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Delivery:
        present = set(row.keys())
        values = {name: row[name] for name in cls.__struct_fields__ if name in present}
        values["state"] = DeliveryState(values["state"])
        return cls(**values)


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One try at a delivery, as recorded."""

    attempted_at: dt.datetime
    duration_ms: int
    status: int | None
    error: str | None
    by_hand: bool


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What one attempt came to, and what happens next."""

    state: DeliveryState
    status: int | None = None
    error: str | None = None
    retry_at: dt.datetime | None = None  # set when state is PENDING
    # The receiver said 410 Gone: its endpoint takes no more deliveries.
    disable_endpoint: bool = False


class DeliveryRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim_to_dispatch(
        self, resend_after_seconds: float, limit: int = 500
    ) -> list[uuid.UUID]:
        """Ids of due deliveries with no message on its way, marked as sent now."""
        rows = await self._pool.fetch(
            query("claim_deliveries_to_dispatch"), resend_after_seconds, limit
        )
        return [row["id"] for row in rows]

    async def claim_attempt(self, delivery_id: uuid.UUID, hold_seconds: float) -> Delivery | None:
        """The delivery, taken for one attempt; None when it is not due, done or taken."""
        row = await self._pool.fetchrow(query("claim_delivery_attempt"), delivery_id, hold_seconds)
        return None if row is None else Delivery.from_row(row)

    async def webhook_secrets(self, endpoint_id: uuid.UUID) -> list[str] | None:
        """The secrets that sign for the endpoint now, newest first; None if it is off or gone."""
        row = await self._pool.fetchrow(query("webhook_secrets"), endpoint_id)
        if row is None:
            return None
        return [row["secret"]] + ([row["previous"]] if row["previous"] else [])

    async def fix_payload(self, delivery_id: uuid.UUID, payload: str) -> str:
        """The delivery's body: `payload` if it had none yet, else the one fixed before."""
        fixed: str = await self._pool.fetchval(query("fix_delivery_payload"), delivery_id, payload)
        return fixed

    async def record(
        self,
        delivery: Delivery,
        outcome: Outcome,
        attempted_at: dt.datetime,
        duration_ms: int,
        message_sent: bool = False,
    ) -> bool:
        """Records the attempt and its outcome in one transaction; False (the attempt kept on
        record, the outcome not) when a later attempt took the delivery over meanwhile.

        `message_sent`: a delayed message for the retry is on its way already.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                query("insert_delivery_attempt"),
                delivery.id,
                attempted_at,
                duration_ms,
                outcome.status,
                outcome.error,
                delivery.resend_by_hand,
            )
            status: str = await conn.execute(
                query("finish_delivery"),
                delivery.id,
                outcome.state.value,
                outcome.retry_at,
                outcome.status,
                outcome.error,
                message_sent,
                delivery.attempts,
            )
            if status != "UPDATE 1":
                return False
            if outcome.disable_endpoint and delivery.endpoint_id is not None:
                await conn.execute(
                    query("disable_webhook_endpoint"),
                    delivery.endpoint_id,
                    f"the receiver answered 410 Gone at {attempted_at.isoformat()}",
                )
        return True

    async def list_for_job(
        self, job_id: uuid.UUID, user_id: int
    ) -> list[tuple[Delivery, list[Attempt]]]:
        """The job's deliveries with every attempt, oldest first; empty for another's job."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(query("list_job_deliveries"), job_id, user_id)
            deliveries = [Delivery.from_row(row) for row in rows]
            attempts: dict[uuid.UUID, list[Attempt]] = {d.id: [] for d in deliveries}
            for row in await conn.fetch(query("list_delivery_attempts"), list(attempts)):
                attempts[row["delivery_id"]].append(
                    Attempt(
                        attempted_at=row["attempted_at"],
                        duration_ms=row["duration_ms"],
                        status=row["status"],
                        error=row["error"],
                        by_hand=row["by_hand"],
                    )
                )
        return [(d, attempts[d.id]) for d in deliveries]

    async def resend(
        self, delivery_id: uuid.UUID, job_id: uuid.UUID, user_id: int
    ) -> Delivery | None:
        """The delivery, due again now by hand; None when it is not the user's or under way."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(query("resend_delivery"), delivery_id, job_id, user_id)
            if row is None:
                return None
            await conn.execute(query("wake_dispatcher"))  # heard at commit
        return Delivery.from_row(row)
