"""Notification email through the whole service: a real SMTP server (aiosmtpd) takes the
message, the test reads it, follows its link and downloads the file."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import dramatiq
import httpx
import pytest

from tests.integration.test_end_to_end import USERS
from tests.integration.test_generation import new_job
from tests.receivers import MailSink
from tests.services import Stack, job_when, new_api_key, run_sql, wait_until
from workers.deliveries import make_delivery_attempt
from workers.resources import WorkerResources

SMALL = {**USERS, "rows": 30}
BIG = {**USERS, "rows": 5_000_000, "format": "parquet"}
_LINK = re.compile(r"https?://\S+/v1/downloads/[\w.\-]+")


@pytest.fixture
def account(stack: Stack) -> Iterator[httpx.Client]:
    key = new_api_key(stack.env, f"mail-{uuid.uuid4().hex[:8]}")
    with stack.client(key) as client:
        yield client


def address() -> str:
    return f"qa-{uuid.uuid4().hex[:8]}@example.jp"


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_a_finished_job_emails_a_link_that_downloads_the_file(
    account: httpx.Client, mail: MailSink
) -> None:
    to = address()
    answer = account.post(
        "/v1/jobs",
        json={**SMALL, "name": "会員データ", "notify_email": to},
        headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"},
    )
    assert answer.status_code == 202, answer.text
    job = job_when(account, answer.headers["location"], lambda j: j["state"] == "succeeded", 60)
    message = mail.next_message(to)
    assert message["To"] == to and "会員データ" in str(message["Subject"])
    text, html = parts(message)
    assert "JST" in text and "会員データ" in html
    [link] = set(_LINK.findall(text))
    assert link in html
    download = httpx.get(link, follow_redirects=True, timeout=30)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == job["file"]["sha256"]
    [delivery] = account.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]
    assert (delivery["channel"], delivery["target"]) == ("email", to)
    # A person gets one email per job: it cannot be sent again by hand.
    again = account.post(f"/v1/jobs/{job['id']}/deliveries/{delivery['id']}/resend")
    assert again.status_code == 409 and again.json()["field"] == "delivery_id"


def test_a_failed_job_emails_the_reason_and_no_link(
    account: httpx.Client, mail: MailSink, stack_env: dict[str, str]
) -> None:
    to = address()
    answer = account.post("/v1/jobs", json={**BIG, "notify_email": to, "notify_language": "en"})
    assert answer.status_code == 202, answer.text
    # However a job fails, the row's change of state is what sends the email.
    run_sql(
        stack_env["DATABASE_URL"],
        "UPDATE jobs SET state = 'failed', error = 'the disk caught fire' WHERE id = $1",
        uuid.UUID(answer.json()["id"]),
    )
    message = mail.next_message(to)
    text, html = parts(message)
    assert "the disk caught fire" in text and "the disk caught fire" in html
    assert not _LINK.search(text) and not _LINK.search(html)


def test_the_account_default_address_and_language_are_used(
    account: httpx.Client, mail: MailSink
) -> None:
    to = address()
    changed = account.patch("/v1/account", json={"notify_email": to, "notify_language": "en"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["notify_email"] == to
    answer = account.post("/v1/jobs", json={**SMALL, "name": "members"})
    job_when(account, answer.headers["location"], lambda j: j["state"] == "succeeded", 60)
    message = mail.next_message(to)
    assert "members" in str(message["Subject"]) and "ready" in str(message["Subject"]).lower()
    # A cleared default sends nothing more (checked by the job's deliveries).
    assert account.patch("/v1/account", json={"notify_email": None}).json()["notify_email"] is None
    answer = account.post("/v1/jobs", json=SMALL)
    done = job_when(account, answer.headers["location"], lambda j: j["state"] == "succeeded", 60)
    assert account.get(f"/v1/jobs/{done['id']}/deliveries").json()["deliveries"] == []


def test_a_transient_smtp_refusal_is_retried_and_one_email_arrives(
    account: httpx.Client, mail: MailSink
) -> None:
    to = address()
    mail.refuse_next(to, "451 4.3.0 try again later")
    answer = account.post("/v1/jobs", json={**SMALL, "notify_email": to})
    job = job_when(account, answer.headers["location"], lambda j: j["state"] == "succeeded", 60)
    message = mail.next_message(to)
    assert "ready" in str(message["Subject"]).lower()

    def delivered() -> dict[str, Any] | None:
        [delivery] = account.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]
        return delivery if delivery["state"] == "delivered" else None

    delivery = wait_until(delivered, 30, "the email's delivery to be recorded", interval=0.05)
    assert [a["status"] for a in delivery["attempts"]] == [451, None]
    assert "451" in delivery["attempts"][0]["error"]
    assert mail.count(to) == 0  # one email, not two


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"notify_email": "not an address"}, "notify_email"),
        ({"notify_email": "a@b.jp\r\nBcc: x@y.jp"}, "notify_email"),
        ({"notify_email": "qa@example.jp", "notify_language": "fr"}, "notify_language"),
        ({"notify_email": "qa@example.jp", "notify_language": ""}, "notify_language"),
    ],
)
def test_bad_notification_options_are_422_naming_the_field(
    account: httpx.Client, extra: dict[str, Any], field: str
) -> None:
    answer = account.post("/v1/jobs", json={**SMALL, **extra})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


async def test_two_workers_on_one_delivery_send_one_email(
    quiet_resources: WorkerResources, mail: MailSink
) -> None:
    # A database no scheduler watches: nothing but this test makes attempts.
    res = quiet_resources
    to = address()
    job = await new_job(res, rows=30, notify_email=to)
    await res.pool.execute("UPDATE jobs SET state = 'failed', error = 'x' WHERE id = $1", job.id)
    delivery_id = await res.pool.fetchval("SELECT id FROM deliveries WHERE job_id = $1", job.id)
    broker = dramatiq.get_broker()
    await asyncio.gather(*(make_delivery_attempt(res, broker, delivery_id) for _ in range(3)))
    await make_delivery_attempt(res, broker, delivery_id)  # a duplicate message, later
    mail.next_message(to)
    assert mail.count(to) == 0
    row = await res.pool.fetchrow(
        "SELECT state, attempts FROM deliveries WHERE id = $1", delivery_id
    )
    assert (row["state"], row["attempts"]) == ("delivered", 1)
