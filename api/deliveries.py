"""What was sent about a job: every webhook call and email, each attempt, and re-sending one."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import msgspec
from litestar import Request, get, post

from api.errors import ApiError, error_responses
from api.state import AppState
from storage.accounts import Caller
from storage.deliveries import Attempt, Delivery, DeliveryRepository, DeliveryState

log = logging.getLogger(__name__)


class AttemptView(msgspec.Struct):
    attempted_at: dt.datetime
    duration_ms: int
    status: int | None
    error: str | None
    by_hand: bool


class DeliveryView(msgspec.Struct):
    id: uuid.UUID
    channel: str
    event: str
    target: str
    endpoint_id: uuid.UUID | None
    state: DeliveryState
    attempts: list[AttemptView]
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_error: str | None


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryView]


def delivery_view(delivery: Delivery, attempts: list[Attempt]) -> DeliveryView:
    return DeliveryView(
        id=delivery.id,
        channel=delivery.channel,
        event=delivery.event,
        target=delivery.target,
        endpoint_id=delivery.endpoint_id,
        state=delivery.state,
        attempts=[AttemptView(**msgspec.structs.asdict(attempt)) for attempt in attempts],
        next_attempt_at=(
            delivery.next_attempt_at if delivery.state is DeliveryState.PENDING else None
        ),
        delivered_at=delivery.delivered_at,
        last_error=delivery.last_error,
    )


@get(
    "/v1/jobs/{job_id:uuid}/deliveries",
    operation_id="listDeliveries",
    responses=error_responses(404),
    summary="Every webhook call and email about the job, with each attempt's outcome",
    tags=["deliveries"],
)
async def list_deliveries(
    request: Request[Any, Any, Any], caller: Caller, job_id: uuid.UUID
) -> DeliveryList:
    state = AppState.of(request)
    if await state.jobs.get_for_user(job_id, caller.user_id) is None:
        raise ApiError(404, "not_found", f"no job {job_id}", "job_id")
    found = await DeliveryRepository(state.pool).list_for_job(job_id, caller.user_id)
    return DeliveryList([delivery_view(delivery, attempts) for delivery, attempts in found])


@post(
    "/v1/jobs/{job_id:uuid}/deliveries/{delivery_id:uuid}/resend",
    status_code=202,
    operation_id="resendDelivery",
    responses=error_responses(404, 409),
    summary="Send a webhook call or email again now, whatever became of it before",
    description=(
        "The delivery is due at once and its retry schedule starts again. A webhook call "
        "carries the same webhook-id and body as before, so a receiver can tell it has "
        "seen it. 409 while an attempt is under way, and for an email that was sent."
    ),
    tags=["deliveries"],
)
async def resend_delivery(
    request: Request[Any, Any, Any], caller: Caller, job_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryView:
    state = AppState.of(request)
    repository = DeliveryRepository(state.pool)
    delivery = await repository.resend(delivery_id, job_id, caller.user_id)
    if delivery is None:
        for known, _ in await repository.list_for_job(job_id, caller.user_id):
            if (
                known.id == delivery_id
                and known.channel == "email"
                and known.state is (DeliveryState.DELIVERED)
            ):
                raise ApiError(
                    409,
                    "email_sent",
                    "this email was sent already; a job's email goes once",
                    "delivery_id",
                )
            if known.id == delivery_id:
                raise ApiError(
                    409,
                    "attempt_under_way",
                    "an attempt at this delivery is under way; retry when it has ended",
                    "delivery_id",
                    headers={"Retry-After": "5"},
                )
        raise ApiError(
            404, "not_found", f"no delivery {delivery_id} of job {job_id}", "delivery_id"
        )
    # The scheduler's dispatcher, woken at commit, sends it to a worker.
    found = await repository.list_for_job(job_id, caller.user_id)
    attempts = next((a for d, a in found if d.id == delivery.id), [])
    return delivery_view(delivery, attempts)
