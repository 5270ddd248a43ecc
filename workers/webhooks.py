"""One webhook attempt (Standard Webhooks v1): the body, its signatures, the call, the verdict.

The address is resolved once and checked, and the request goes to exactly that address (the
URL's host name still in the Host header and in TLS's SNI and certificate check), so a name
that resolves differently a second time cannot lead the call into a private network.
Redirects are not followed: a 3xx is a failed attempt like any other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import socket
from collections.abc import Sequence

import httpx
import msgspec
from standardwebhooks import Webhook

from core.callbacks import ONLY_PUBLIC, IpAddress, address_refusal, forbidden_kind, literal_address
from core.settings import Settings, WebhookSettings
from storage.deliveries import DeliveryState, Outcome
from storage.jobs import JobRecord
from storage.links import download_url

USER_AGENT = "TestData-Buddy-Webhooks/1"
MAX_ERROR_CHARS = 2_000  # a failed job's reason, in the payload; keeps it well under 20 kB
MAX_RETRY_AFTER = dt.timedelta(hours=24)


class RefusedAddress(Exception):
    """The webhook's host is, or resolves to, an address webhooks may not go to."""


class JobSummary(msgspec.Struct, frozen=True):
    id: str
    name: str
    state: str
    format: str
    rows: int
    size_bytes: int | None
    sha256: str | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    download_url: str | None
    download_expires_at: dt.datetime | None
    url: str


class JobEvent(msgspec.Struct, frozen=True):
    """The body of every delivery, in the shape Standard Webhooks recommends."""

    type: str
    timestamp: dt.datetime
    data: JobSummary


def job_event_body(event: str, job: JobRecord, settings: Settings, now: dt.datetime) -> str:
    """The JSON body announcing `event` for the job, with its download link while it is live."""
    link = None
    live = (
        job.state.value == "succeeded"
        and job.deleted_at is None
        and job.expires_at is not None
        and job.expires_at > now
    )
    if live and job.expires_at is not None:
        link = download_url(settings.api.public_url, settings.links, job.id, job.expires_at)
    summary = JobSummary(
        id=str(job.id),
        name=job.name,
        state=job.state.value,
        format=job.format,
        rows=job.rows_total,
        size_bytes=job.size_bytes,
        sha256=job.sha256,
        error=None if job.error is None else job.error[:MAX_ERROR_CHARS],
        created_at=job.created_at,
        finished_at=job.finished_at,
        download_url=link,
        download_expires_at=job.expires_at if link else None,
        url=f"{settings.api.public_url}/v1/jobs/{job.id}",
    )
    return msgspec.json.encode(JobEvent(event, now, summary)).decode()


def signature_header(
    secrets: Sequence[str], message_id: str, sent_at: dt.datetime, body: str
) -> str:
    """`webhook-signature`: one `v1,<base64>` per live secret, newest first, space-separated."""
    if not secrets:
        raise ValueError("a webhook is never sent unsigned: no secret was given")
    return " ".join(Webhook(secret).sign(message_id, sent_at, body) for secret in secrets)


async def resolve_address(host: str, port: int, settings: WebhookSettings) -> IpAddress:
    """The one address the call will connect to; raises RefusedAddress for a forbidden one.

    The refusal does not name the address a name resolved to: that would map a private
    network's names for whoever registers URLs.
    """
    address = literal_address(host)
    if address is None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise OSError(f"cannot resolve {host}: {exc.strerror}") from None
        except UnicodeError:
            raise RefusedAddress(f"{host} is not a valid host name") from None
        address = literal_address(str(infos[0][4][0]))
        assert address is not None
        if (kind := forbidden_kind(address, settings.allowed_networks)) is not None:
            raise RefusedAddress(f"{host} resolves to {kind} address; {ONLY_PUBLIC}")
        return address
    if (refusal := address_refusal(address, settings.allowed_networks)) is not None:
        raise RefusedAddress(refusal)
    return address


async def post_webhook(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: str,
    settings: WebhookSettings,
) -> httpx.Response:
    """POSTs the body to the checked address of `url` within the webhook timeout, name
    resolution included; the response is not read."""
    target = httpx.URL(url)
    port = target.port or (443 if target.scheme == "https" else 80)
    async with asyncio.timeout(settings.timeout_seconds):
        address = await resolve_address(target.host, port, settings)
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = client.build_request(
            "POST",
            target.copy_with(host=str(address)),
            content=body.encode(),
            # The URL's own host and port, brackets and all for an IPv6 literal.
            headers={**headers, "Host": target.netloc.decode("ascii")},
            extensions=extensions,
        )
        response = await client.send(request, follow_redirects=False, stream=True)
        await response.aclose()  # only the status matters; a big body is not read
    return response


def webhook_headers(
    message_id: str, secrets: Sequence[str], sent_at: dt.datetime, body: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature_header(secrets, message_id, sent_at, body),
    }


def retry_time(
    step: int, schedule: Sequence[float], now: dt.datetime, rng: random.Random | None = None
) -> dt.datetime | None:
    """When retry `step` (0 = the first) is due, with ±10 % jitter; None after the last."""
    if step >= len(schedule):
        return None
    jitter = (rng or random).uniform(0.9, 1.1)
    return now + dt.timedelta(seconds=schedule[step] * jitter)


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """The wait a Retry-After header asks for (seconds or an HTTP date), capped at 24 h."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # More than a day's seconds is a day: no need to parse a thousand digits.
        wait = MAX_RETRY_AFTER if len(value) > 6 else dt.timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        wait = max(when - now, dt.timedelta(0))
    return min(wait, MAX_RETRY_AFTER)


def response_outcome(
    response: httpx.Response, step: int, schedule: Sequence[float], now: dt.datetime
) -> Outcome:
    """The verdict on a receiver's answer, and when to try again if at all."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(state=DeliveryState.DELIVERED, status=status)
    if status == 410:
        return Outcome(
            state=DeliveryState.FAILED,
            status=status,
            error="the receiver answered 410 Gone; the endpoint is disabled",
            disable_endpoint=True,
        )
    if 300 <= status < 400:
        error = f"the receiver answered {status}, a redirect; redirects are not followed"
    else:
        error = f"the receiver answered {status}"
    retry_at = retry_time(step, schedule, now)
    if status in (429, 503) and retry_at is not None:
        wait = parse_retry_after(response.headers.get("retry-after"), now)
        if wait is not None:
            # Later than the schedule when asked, never sooner: a "Retry-After: 0" must not
            # use up the retries in a few seconds.
            retry_at = max(retry_at, now + wait)
            error += f"; retrying after the {int(wait.total_seconds())} s it asked for"
    return failed_attempt(status, error, retry_at)


def failed_attempt(status: int | None, error: str, retry_at: dt.datetime | None) -> Outcome:
    """A failed attempt: due again at `retry_at`, or failed for good without one."""
    if retry_at is None:
        return Outcome(
            state=DeliveryState.FAILED, status=status, error=f"{error}; no retries are left"
        )
    return Outcome(state=DeliveryState.PENDING, status=status, error=error, retry_at=retry_at)
