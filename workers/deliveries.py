"""Making one delivery attempt: take the delivery, call the webhook or send the email, record
what came of it, and send the message for the retry when one is due later.

Safe to run twice for one delivery: taking it is exclusive and needs it to be due, so a
duplicate message finds nothing to do, and a delivered email is never sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid

import dramatiq
import httpx

from storage.deliveries import Delivery, DeliveryRepository, DeliveryState, Outcome
from storage.jobs import JobRecord
from storage.links import download_url
from workers.mail import (
    JobNotice,
    MailDeliveryError,
    PermanentMailError,
    TransientMailError,
    deliver_email,
    render_job_email,
)
from workers.messages import deliveries_queue, send_delivery
from workers.resources import WorkerResources
from workers.webhooks import (
    RefusedAddress,
    failed_attempt,
    job_event_body,
    post_webhook,
    response_outcome,
    retry_time,
    webhook_headers,
)

log = logging.getLogger(__name__)

# How long a worker holds a delivery beyond the call's own timeout before another may take it.
HOLD_MARGIN_SECONDS = 30.0


async def make_delivery_attempt(
    res: WorkerResources, broker: dramatiq.Broker, delivery_id: uuid.UUID
) -> None:
    """One attempt at the delivery, if it is due and no other worker is on it."""
    repository = DeliveryRepository(res.pool)
    settings = res.settings
    timeout = settings.webhooks.timeout_seconds
    hold = max(timeout, settings.email.timeout_seconds) + HOLD_MARGIN_SECONDS
    delivery = await repository.claim_attempt(delivery_id, hold)
    if delivery is None:
        log.info("delivery %s is not due, done, or under way elsewhere", delivery_id)
        return
    job = await res.jobs.get(delivery.job_id)
    assert job is not None  # deliveries go with their job
    attempted_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    if delivery.channel == "webhook":
        outcome = await _attempt_webhook(res, repository, delivery, job, attempted_at)
    else:
        outcome = await _attempt_email(res, delivery, job, attempted_at)
    duration_ms = round((time.monotonic() - started) * 1000)
    retry = outcome.state is DeliveryState.PENDING
    await repository.record(delivery, outcome, attempted_at, duration_ms, message_sent=retry)
    log.info(
        "delivery %s (%s %s to %s) attempt %d: %s%s",
        delivery.id,
        delivery.channel,
        delivery.event,
        delivery.target,
        delivery.attempts,
        outcome.state,
        f" ({outcome.error})" if outcome.error else "",
    )
    if retry and outcome.retry_at is not None:
        delay = max(outcome.retry_at - dt.datetime.now(dt.UTC), dt.timedelta(0))
        try:
            await asyncio.to_thread(
                send_delivery,
                broker,
                deliveries_queue(settings.broker.queue),
                delivery.id,
                int(delay.total_seconds() * 1000),
            )
        except Exception:  # the dispatcher's sweep sends it once it is overdue
            log.exception("could not send the retry of delivery %s", delivery.id)


async def _attempt_webhook(
    res: WorkerResources,
    repository: DeliveryRepository,
    delivery: Delivery,
    job: JobRecord,
    now: dt.datetime,
) -> Outcome:
    settings = res.settings
    secrets: list[str] | None
    if delivery.endpoint_id is None:  # the job's own callback_url, with the job's secret
        secrets = [job.callback_secret] if job.callback_secret else []
    else:
        secrets = await repository.webhook_secrets(delivery.endpoint_id)
        if secrets is None:
            return Outcome(state=DeliveryState.FAILED, error="the endpoint was disabled or deleted")
    body = await repository.fix_payload(
        delivery.id, job_event_body(delivery.event, job, settings, now)
    )
    headers = webhook_headers(f"msg_{delivery.id.hex}", secrets, now, body)
    schedule = settings.webhooks.retry_schedule
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await post_webhook(client, delivery.target, headers, body, settings.webhooks)
    except RefusedAddress as exc:
        return Outcome(state=DeliveryState.FAILED, error=f"refused: {exc}")
    except TimeoutError:
        error = f"no answer within {settings.webhooks.timeout_seconds:g} s"
        return failed_attempt(None, error, retry_time(delivery.schedule_step, schedule, now))
    except (httpx.HTTPError, OSError) as exc:
        error = f"could not reach the receiver: {exc or type(exc).__name__}"
        return failed_attempt(None, error, retry_time(delivery.schedule_step, schedule, now))
    return response_outcome(response, delivery.schedule_step, schedule, now)


async def _attempt_email(
    res: WorkerResources, delivery: Delivery, job: JobRecord, now: dt.datetime
) -> Outcome:
    settings = res.settings
    live = job.expires_at is not None and job.expires_at > now and job.deleted_at is None
    link = None
    if job.state.value == "succeeded" and live and job.expires_at is not None:
        link = download_url(settings.api.public_url, settings.links, job.id, job.expires_at)
    notice = JobNotice(
        job_id=job.id,
        dataset_name=job.name,
        state=job.state.value,
        rows=job.rows_total,
        format=job.format,
        size_bytes=job.size_bytes,
        download_url=link,
        expires_at=job.expires_at if link else None,
        error=job.error,
        job_url=f"{settings.api.public_url}/v1/jobs/{job.id}",
    )
    message = render_job_email(
        notice,
        delivery.language or "en",
        sender=settings.email.sender,
        to=delivery.target,
        # One Message-ID per delivery: a receiving server can drop a copy it has seen.
        message_id=f"<{delivery.id}@tdbuddy>",
    )
    try:
        where = await asyncio.to_thread(deliver_email, settings.email, message)
    except PermanentMailError as exc:
        return Outcome(state=DeliveryState.FAILED, status=_smtp_code(exc), error=str(exc))
    except TransientMailError as exc:
        retry_at = retry_time(delivery.schedule_step, settings.webhooks.retry_schedule, now)
        return failed_attempt(_smtp_code(exc), str(exc), retry_at)
    log.info("job %s email went to %s", job.id, where)
    return Outcome(state=DeliveryState.DELIVERED)


def _smtp_code(exc: Exception) -> int | None:
    return exc.smtp_code if isinstance(exc, MailDeliveryError) else None
