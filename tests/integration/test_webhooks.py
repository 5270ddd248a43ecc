"""Webhooks through the whole service: a real receiver over HTTP, signatures checked with the
Standard Webhooks reference library, retries, 410, Retry-After, redirects, rotation, re-sends
and the refusal of private addresses."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from core.settings import Settings
from tests.integration.test_end_to_end import USERS
from tests.receivers import Answer, Call, WebhookReceiver
from tests.services import Stack, job_when, new_api_key, run_sql
from workers.webhooks import RefusedAddress, post_webhook

SMALL = {**USERS, "rows": 20}
BIG = {**USERS, "rows": 5_000_000, "format": "parquet"}


@pytest.fixture
def account(stack: Stack) -> Iterator[httpx.Client]:
    """A client for a user of its own: its endpoints hear of its jobs only."""
    key = new_api_key(stack.env, f"hooks-{uuid.uuid4().hex[:8]}")
    with stack.client(key) as client:
        yield client


def register(client: httpx.Client, url: str, **extra: Any) -> dict[str, Any]:
    answer = client.post("/v1/webhooks", json={"url": url, **extra})
    assert answer.status_code == 201, answer.text
    endpoint: dict[str, Any] = answer.json()
    return endpoint


def finished(client: httpx.Client, spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    answer = client.post("/v1/jobs", json={**spec, **extra})
    assert answer.status_code == 202, answer.text
    return job_when(
        client,
        answer.headers["location"],
        lambda j: j["state"] != "queued" and j["state"] != "running",
        60,
    )


def verified(call: Call, *secrets: str) -> dict[str, Any]:
    """The call's payload, after checking its signature with each secret."""
    for secret in secrets:
        payload: dict[str, Any] = Webhook(secret).verify(call.body, call.headers)
    return payload


def deliveries(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/jobs/{job_id}/deliveries")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["deliveries"]
    return found


def delivery_when(
    client: httpx.Client, job_id: str, state: str, timeout: float = 30
) -> dict[str, Any]:
    from tests.services import wait_until

    def probe() -> dict[str, Any] | None:
        found = deliveries(client, job_id)
        return found[0] if found and found[0]["state"] == state else None

    return wait_until(probe, timeout, f"a delivery of job {job_id} to be {state}", interval=0.05)


def test_a_finished_job_is_announced_signed_with_a_working_link(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    endpoint = register(account, f"{receiver.base_url}/ok")
    assert endpoint["secret"].startswith("whsec_")
    listed = account.get("/v1/webhooks").json()["endpoints"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and listed[0]["secret"] is None
    job = finished(account, SMALL)
    call = receiver.next_call("/ok")
    payload = verified(call, endpoint["secret"])
    assert call.headers["webhook-id"] and call.headers["content-type"] == "application/json"
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["id"] == job["id"] and payload["data"]["rows"] == 20
    assert len(call.body) < 20_000
    # The link in the payload opens the file, and it is the file the job describes.
    download = httpx.get(payload["data"]["download_url"], follow_redirects=True, timeout=30)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == payload["data"]["sha256"]
    # A wrong secret does not verify: the signature is real.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(call.body, call.headers)
    delivery_when(account, job["id"], "delivered")
    [delivery] = deliveries(account, job["id"])
    assert delivery["event"] == "job.succeeded" and delivery["channel"] == "webhook"
    assert [a["status"] for a in delivery["attempts"]] == [200]


def test_a_job_callback_url_is_signed_with_the_secret_given_at_submit(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    answer = account.post("/v1/jobs", json={**BIG, "callback_url": f"{receiver.base_url}/cb"})
    assert answer.status_code == 202, answer.text
    secret = answer.json()["callback_secret"]
    assert secret.startswith("whsec_")
    assert "callback_secret" not in account.get(answer.headers["location"]).json() or (
        account.get(answer.headers["location"]).json()["callback_secret"] is None
    )
    job_id = answer.json()["id"]
    assert account.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    payload = verified(receiver.next_call("/cb"), secret)
    assert payload["type"] == "job.cancelled" and payload["data"]["download_url"] is None


def test_failed_attempts_are_retried_with_the_same_id_and_body(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.answer("/flaky", Answer(500), Answer(503))
    endpoint = register(account, f"{receiver.base_url}/flaky")
    job = finished(account, SMALL)
    calls = [receiver.next_call("/flaky") for _ in range(3)]
    assert [c.status for c in calls] == [500, 503, 200]
    assert len({c.headers["webhook-id"] for c in calls}) == 1
    assert len({c.body for c in calls}) == 1
    for call in calls:
        verified(call, endpoint["secret"])
    delivery = delivery_when(account, job["id"], "delivered")
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]
    assert "500" in delivery["attempts"][0]["error"]


def test_a_delivery_fails_once_its_retries_run_out(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.answer("/down", *[Answer(500)] * 10)
    register(account, f"{receiver.base_url}/down")
    job = finished(account, SMALL)
    delivery = delivery_when(account, job["id"], "failed")
    # The first attempt and one per wait of WEBHOOK_RETRY_SCHEDULE (three in the tests).
    assert [a["status"] for a in delivery["attempts"]] == [500] * 4
    assert "no retries are left" in delivery["last_error"]


def test_410_disables_the_endpoint(account: httpx.Client, receiver: WebhookReceiver) -> None:
    receiver.answer("/gone", Answer(410))
    endpoint = register(account, f"{receiver.base_url}/gone")
    job = finished(account, SMALL)
    assert receiver.next_call("/gone").status == 410
    delivery = delivery_when(account, job["id"], "failed")
    assert [a["status"] for a in delivery["attempts"]] == [410]
    shown = account.get(f"/v1/webhooks/{endpoint['id']}").json()
    assert shown["disabled_at"] is not None and "410" in shown["disabled_reason"]
    # A disabled endpoint hears of no more jobs, until its owner turns it on again.
    second = finished(account, SMALL)
    assert deliveries(account, second["id"]) == []
    assert account.post(f"/v1/webhooks/{endpoint['id']}/enable").json()["disabled_at"] is None
    third = finished(account, SMALL)
    assert verified(receiver.next_call("/gone"), endpoint["secret"])["data"]["id"] == third["id"]


def test_429_is_retried_no_sooner_than_its_retry_after(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.answer("/busy", Answer(429, {"Retry-After": "2"}))
    register(account, f"{receiver.base_url}/busy")
    job = finished(account, SMALL)
    delivery = delivery_when(account, job["id"], "delivered")
    first, second = (dt.datetime.fromisoformat(a["attempted_at"]) for a in delivery["attempts"])
    # The schedule alone would have retried after 0.3 s.
    assert second - first >= dt.timedelta(seconds=1.9)
    assert [a["status"] for a in delivery["attempts"]] == [429, 200]


def test_redirects_are_not_followed(account: httpx.Client, receiver: WebhookReceiver) -> None:
    receiver.answer("/moved", Answer(302, {"Location": f"{receiver.base_url}/elsewhere"}))
    register(account, f"{receiver.base_url}/moved")
    job = finished(account, SMALL)
    delivery = delivery_when(account, job["id"], "delivered")
    assert [a["status"] for a in delivery["attempts"]] == [302, 200]
    assert "redirect" in delivery["attempts"][0]["error"]
    assert receiver.calls_so_far("/elsewhere") == 0


def test_after_a_rotation_both_secrets_verify_for_the_grace_period(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    endpoint = register(account, f"{receiver.base_url}/rotated")
    rotated = account.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"] and rotated.json()["previous_secret_expires_at"]
    finished(account, SMALL)
    call = receiver.next_call("/rotated")
    assert len(call.headers["webhook-signature"].split(" ")) == 2
    verified(call, new_secret, endpoint["secret"])


def test_a_delivery_can_be_resent_by_hand(account: httpx.Client, receiver: WebhookReceiver) -> None:
    register(account, f"{receiver.base_url}/again")
    job = finished(account, SMALL)
    first = receiver.next_call("/again")
    delivery = delivery_when(account, job["id"], "delivered")
    answer = account.post(f"/v1/jobs/{job['id']}/deliveries/{delivery['id']}/resend")
    assert answer.status_code == 202, answer.text
    again = receiver.next_call("/again")
    assert again.headers["webhook-id"] == first.headers["webhook-id"] and again.body == first.body
    resent = delivery_when(account, job["id"], "delivered")
    assert [a["by_hand"] for a in resent["attempts"]] in ([False, True],)


def test_deliveries_of_another_users_job_are_404(
    account: httpx.Client, other_client: httpx.Client
) -> None:
    job = finished(account, SMALL)
    assert other_client.get(f"/v1/jobs/{job['id']}/deliveries").status_code == 404
    resend = other_client.post(f"/v1/jobs/{job['id']}/deliveries/{uuid.uuid4()}/resend")
    assert resend.status_code == 404


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/hook", "private"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://127.0.0.2/hook", "loopback"),
        ("ftp://example.com/hook", "http"),
        ("https://user:pw@example.com/hook", "password"),
    ],
)
def test_private_and_malformed_urls_are_refused_naming_the_field(
    account: httpx.Client, url: str, reason: str
) -> None:
    endpoint = account.post("/v1/webhooks", json={"url": url})
    assert endpoint.status_code == 422, endpoint.text
    assert endpoint.json()["field"] == "url" and reason in endpoint.json()["detail"]
    job = account.post("/v1/jobs", json={**SMALL, "callback_url": url})
    assert job.status_code == 422, job.text
    assert job.json()["field"] == "callback_url" and reason in job.json()["detail"]


def test_unknown_events_are_refused(account: httpx.Client, receiver: WebhookReceiver) -> None:
    answer = account.post(
        "/v1/webhooks", json={"url": f"{receiver.base_url}/x", "events": ["job.exploded"]}
    )
    assert answer.status_code == 422 and answer.json()["field"] == "events"
    assert "job.exploded" in answer.json()["detail"]


async def test_the_address_connected_to_is_checked_at_every_call(
    stack_env: dict[str, str], receiver: WebhookReceiver
) -> None:
    # The same receiver, by address and by name, from a worker whose allow-list is empty.
    settings = Settings.from_env({**stack_env, "WEBHOOK_ALLOWED_NETWORKS": ""}).webhooks
    port = receiver.server.server_address[1]
    for url in (f"{receiver.base_url}/ssrf", f"http://localhost:{port}/ssrf"):
        async with httpx.AsyncClient() as client:
            with pytest.raises(RefusedAddress, match="loopback"):
                await post_webhook(client, url, {}, "{}", settings)
    assert receiver.calls_so_far("/ssrf") == 0


def test_deleting_an_endpoint_stops_its_deliveries(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    endpoint = register(account, f"{receiver.base_url}/deleted")
    assert account.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    assert account.get(f"/v1/webhooks/{endpoint['id']}").status_code == 404
    job = finished(account, SMALL)
    assert deliveries(account, job["id"]) == []
    assert json.loads(account.get("/v1/webhooks").text)["endpoints"] == []


def test_an_endpoint_whose_url_a_job_called_back_to_can_be_deleted(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    url = f"{receiver.base_url}/same-url"
    endpoint = register(account, url)
    job = finished(account, SMALL, callback_url=url)
    # Two receivers at one URL, two deliveries: the endpoint's, and the job's own callback.
    assert len(deliveries(account, job["id"])) == 2
    assert account.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    assert account.get(f"/v1/webhooks/{endpoint['id']}").status_code == 404
    assert len(deliveries(account, job["id"])) == 2  # what was sent stays on record


def test_a_receiver_slower_than_the_timeout_is_retried(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    # The tests' stack gives up on a call after WEBHOOK_TIMEOUT_SECONDS=6: an answer after
    # 6.5 s is too late, one after 5.5 s (longer than httpx's own default) is in time.
    receiver.answer("/slow", Answer(200, delay=6.5), Answer(200, delay=5.5))
    register(account, f"{receiver.base_url}/slow")
    job = finished(account, SMALL)
    delivery = delivery_when(account, job["id"], "delivered")
    assert [a["status"] for a in delivery["attempts"]] == [None, 200], delivery["attempts"]
    assert "no answer within 6 s" in delivery["attempts"][0]["error"]


def test_an_expired_file_is_announced_and_gone(
    account: httpx.Client,
    receiver: WebhookReceiver,
    stack_env: dict[str, str],
    s3_bucket: str,
) -> None:
    endpoint = register(account, f"{receiver.base_url}/expiry", events=["job.expired"])
    job = finished(account, SMALL)
    link = job["file"]["download_url"]
    assert httpx.get(link, follow_redirects=True, timeout=30).status_code == 200
    # Its time is up (as if a day had passed): the scheduler expires it.
    run_sql(
        stack_env["DATABASE_URL"],
        "UPDATE jobs SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(job["id"]),
    )
    payload = verified(receiver.next_call("/expiry"), endpoint["secret"])
    assert payload["type"] == "job.expired" and payload["data"]["download_url"] is None
    assert account.get(f"/v1/jobs/{job['id']}").json()["state"] == "expired"
    gone = httpx.get(link, timeout=30)
    assert gone.status_code == 410 and gone.json()["error"] == "gone"
    keys = boto3.client("s3", endpoint_url=stack_env["S3_ENDPOINT_URL"]).list_objects_v2(
        Bucket=s3_bucket, Prefix=f"jobs/{job['id']}/"
    )
    assert keys.get("KeyCount", 0) == 0
    # Only the event subscribed to: the job's success went to no one here.
    assert [d["event"] for d in deliveries(account, job["id"])] == ["job.expired"]


def test_an_endpoint_deleted_during_retries_gets_no_more_calls(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.answer("/leaving", Answer(503, {"Retry-After": "2"}))
    endpoint = register(account, f"{receiver.base_url}/leaving")
    job = finished(account, SMALL)
    assert receiver.next_call("/leaving").status == 503
    assert account.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    delivery = delivery_when(account, job["id"], "failed")
    assert delivery["attempts"][-1]["error"] == "the endpoint was disabled or deleted"
    assert receiver.calls_so_far("/leaving") == 0


def test_a_garbled_retry_after_falls_back_to_the_schedule(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    receiver.answer("/garbled", Answer(503, {"Retry-After": "\u00b2"}))
    register(account, f"{receiver.base_url}/garbled")
    job = finished(account, SMALL)
    delivery = delivery_when(account, job["id"], "delivered")
    assert [a["status"] for a in delivery["attempts"]] == [503, 200]


def test_a_second_rotation_waits_for_the_first_ones_grace(
    account: httpx.Client, receiver: WebhookReceiver
) -> None:
    endpoint = register(account, f"{receiver.base_url}/twice")
    assert account.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").status_code == 200
    again = account.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert again.status_code == 409, again.text
    assert again.json()["field"] == "endpoint_id" and "until" in again.json()["detail"]


def test_the_old_secret_stops_signing_when_its_grace_ends(
    account: httpx.Client, receiver: WebhookReceiver, stack_env: dict[str, str]
) -> None:
    endpoint = register(account, f"{receiver.base_url}/graced")
    new_secret = account.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").json()["secret"]
    run_sql(  # as if WEBHOOK_SECRET_GRACE_SECONDS had passed
        stack_env["DATABASE_URL"],
        "UPDATE webhook_endpoints SET previous_secret_expires_at = now() WHERE id = $1",
        uuid.UUID(endpoint["id"]),
    )
    finished(account, SMALL)
    call = receiver.next_call("/graced")
    assert len(call.headers["webhook-signature"].split(" ")) == 1
    verified(call, new_secret)
    with pytest.raises(WebhookVerificationError):
        verified(call, endpoint["secret"])
    assert (
        account.get(f"/v1/webhooks/{endpoint['id']}").json()["previous_secret_expires_at"] is None
    )
