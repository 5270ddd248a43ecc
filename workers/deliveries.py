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
from urllib.parse import urlsplit

import dramatiq
import httpx

from core.metrics import record_delivery
from core.settings import Settings
from storage.deliveries import Delivery, DeliveryRepository, DeliveryState, Outcome
from storage.jobs import JobRecord
from storage.links import download_url
from workers.mail import (
    JobNotice,
    MailDeliveryError,
    PermanentMailError,
    TransientMailError,
    deliver_email,
    job_message_id,
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
SMTP_STEPS = 4  # connect, greet and log in, send, quit: each may take the SMTP timeout
DELAYED_MESSAGE_MAX = dt.timedelta(minutes=10)


async def make_delivery_attempt(
    res: WorkerResources, broker: dramatiq.Broker, delivery_id: uuid.UUID
) -> None:
    """One attempt at the delivery, if it is due and no other worker is on it."""
    repository = DeliveryRepository(res.pool)
    settings = res.settings
    delivery = await repository.claim_attempt(delivery_id, _hold_seconds(settings))
    if delivery is None:
        log.info("delivery %s is not due, done, or under way elsewhere", delivery_id)
        return
    job = await res.jobs.get(delivery.job_id)
    assert job is not None  # deliveries go with their job
    attempted_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    try:
        if delivery.channel == "webhook":
            outcome = await _attempt_webhook(res, repository, delivery, job, attempted_at)
        elif delivery.attempts > delivery.recorded_attempts + 1:
            # An earlier attempt's worker stopped before recording what came of it: the
            # email may have gone. Never sent twice outweighs never lost, for a person.
            outcome = Outcome(
                state=DeliveryState.FAILED,
                error="an earlier attempt stopped before it could record whether the email "
                "went; it is not sent again, so that it never arrives twice",
            )
        else:
            outcome = await _attempt_email(res, delivery, job, attempted_at)
    except Exception as exc:  # recorded and retried on the schedule, never lost unrecorded
        log.exception("delivery %s: the attempt failed unexpectedly", delivery.id)
        retry_at = retry_time(
            delivery.schedule_step, settings.webhooks.retry_schedule, attempted_at
        )
        outcome = failed_attempt(None, f"internal error ({type(exc).__name__})", retry_at)
    duration_ms = round((time.monotonic() - started) * 1000)
    # A retry due soon goes as a delayed message; a later one is left to the dispatcher,
    # which finds it due in the database (brokers hold delayed messages badly for hours).
    by_message = (
        outcome.state is DeliveryState.PENDING
        and outcome.retry_at is not None
        and outcome.retry_at - attempted_at <= DELAYED_MESSAGE_MAX
    )
    if not await repository.record(delivery, outcome, attempted_at, duration_ms, by_message):
        log.warning(
            "delivery %s attempt %d was overtaken by a later one", delivery.id, delivery.attempts
        )
        return
    record_delivery(delivery.channel, outcome.state)
    log.info(
        "delivery %s (%s %s to %s) attempt %d: %s%s",
        delivery.id,
        delivery.channel,
        delivery.event,
        _where(delivery),
        delivery.attempts,
        outcome.state,
        f" ({outcome.error})" if outcome.error else "",
    )
    if by_message and outcome.retry_at is not None:
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


def _hold_seconds(settings: Settings) -> float:
    """How long an attempt may take before another worker may take the delivery over.

    SMTP's timeout bounds each step of a conversation, not the whole of it.
    """
    email = SMTP_STEPS * settings.email.timeout_seconds
    return max(settings.webhooks.timeout_seconds, email) + HOLD_MARGIN_SECONDS


def _where(delivery: Delivery) -> str:
    """The target for a log line: an email address, or a URL's scheme and host only (a
    query string may carry the receiver's token)."""
    if delivery.channel == "email":
        return delivery.target
    parts = urlsplit(delivery.target)
    return f"{parts.scheme}://{parts.netloc}"


async def _attempt_webhook(
    res: WorkerResources,
    repository: DeliveryRepository,
    delivery: Delivery,
    job: JobRecord,
    now: dt.datetime,
) -> Outcome:
    settings = res.settings
    secrets: list[str] | None
    if delivery.endpoint_id is None:
        # The job's own callback_url, signed with the job's secret; else an endpoint that
        # was deleted after the delivery was made (which cleared endpoint_id).
        if delivery.target != job.callback_url or not job.callback_secret:
            return Outcome(state=DeliveryState.FAILED, error="the endpoint was deleted")
        secrets = [job.callback_secret]
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
        # The whole call is bounded in post_webhook; httpx's own 5 s default must not cut a
        # call that the setting allows.
        timeout = httpx.Timeout(settings.webhooks.timeout_seconds)
        async with httpx.AsyncClient(trust_env=False, timeout=timeout) as client:
            response = await post_webhook(client, delivery.target, headers, body, settings.webhooks)
    except RefusedAddress as exc:
        return Outcome(state=DeliveryState.FAILED, error=f"refused: {exc}")
    except httpx.InvalidURL as exc:
        return Outcome(state=DeliveryState.FAILED, error=f"the URL cannot be called: {exc}")
    except (TimeoutError, httpx.TimeoutException):
        error = f"no answer within {settings.webhooks.timeout_seconds:g} s"
        return failed_attempt(None, error, retry_time(delivery.schedule_step, schedule, now))
    except (httpx.HTTPError, OSError) as exc:
        error = f"could not reach the receiver: {str(exc) or type(exc).__name__}"
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
        # One Message-ID per job, in the sender's domain: a copy is recognised as one.
        message_id=job_message_id(job.id, settings.email.sender),
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
