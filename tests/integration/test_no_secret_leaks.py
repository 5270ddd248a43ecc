"""Secrets never leave: not in a log line, not in an answer (but the one that shows a new
secret, once), not in the OpenAPI document, not in a webhook call.

A stack of its own runs with a password in its database URL, an SMTP login, an S3 secret key
and link-signing keys of its own, all distinctive, and is driven through normal use and its
error paths: unknown, malformed and revoked API keys, a webhook endpoint and a callback URL
that keep failing (signed, retried), an SMTP server that refuses the login, a job that fails,
tampered and expired links, an API whose broker and storage are down and one whose database
is. Its processes are then stopped, and every log file and every answer is searched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from standardwebhooks import Webhook

from core.settings import Settings
from storage.links import sign_link
from tests.integration.test_end_to_end import USERS
from tests.integration.test_recovery import _insert_unsent_job
from tests.integration.test_tenant_isolation import PatientTransport
from tests.receivers import Answer, WebhookReceiver
from tests.services import (
    Stack,
    create_database,
    drop_database,
    free_port,
    job_when,
    new_api_key,
    wait_until,
)

# The test's own SMTP server takes a login over plain text, on purpose: it refuses every one.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SMALL = {**USERS, "rows": 40}
SMTP_USER = "tdbuddy-mailer"


def _secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(16)}"


@dataclass
class Exchange:
    """One request the test made and everything the API answered to it."""

    request: str  # "POST /v1/webhooks"
    text: str  # status, headers and body


@dataclass
class Transcript:
    """What a drive through the stack left behind, and which secrets were in play."""

    # Never in any answer, log line, webhook call or the OpenAPI document.
    hidden: dict[str, str] = field(default_factory=dict)
    # Made by the API and shown once, in the answer to this request, and nowhere else.
    shown_once: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The owner's own data that the owner may read back (webhook URLs with tokens in their
    # query, download links), but no log line may hold.
    unlogged: dict[str, str] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    webhook_calls: list[str] = field(default_factory=list)
    openapi: str = ""

    def client(self, base_url: str, api_key: str | None) -> httpx.Client:
        """A client whose every answer is kept in the transcript."""

        def keep(response: httpx.Response) -> None:
            response.read()
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            request = f"{response.request.method} {response.request.url.path}"
            text = f"{response.status_code}\n{headers}\n\n{response.text}"
            self.exchanges.append(Exchange(request, text))

        return httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=30,
            transport=PatientTransport(),
            event_hooks={"response": [keep]},
        )


# --- an SMTP server that wants a login and refuses ours ------------------------------------


class RefusingLogins:
    """An aiosmtpd handler and authenticator: every login is refused (535), and each password
    tried is kept, to show that the password was really sent."""

    def __init__(self) -> None:
        self.passwords: queue.Queue[bytes] = queue.Queue()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.passwords.put(data.password)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "554 no mail without a login"


@pytest.fixture(scope="module")
def refusing_smtp() -> Iterator[tuple[RefusingLogins, int]]:
    handler = RefusingLogins()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=handler,
        auth_required=True,
        auth_require_tls=False,  # the stack talks plain SMTP (SMTP_SECURITY=none)
    )
    controller.start()
    yield handler, port
    controller.stop()


# --- the stack and the drive ---------------------------------------------------------------


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{host}"))


@pytest.fixture(scope="module")
def transcript(
    stack_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    receiver: WebhookReceiver,
    refusing_smtp: tuple[RefusingLogins, int],
) -> Iterator[Transcript]:
    """A stack with distinctive secrets, driven through use and failure, then stopped."""
    seen = Transcript()
    hidden = seen.hidden
    hidden["database password"] = _secret("dbpw")
    hidden["SMTP password"] = _secret("smtppw")
    hidden["S3 secret key"] = _secret("s3secret")
    hidden["old link-signing key"] = _secret("linkkey-old")
    hidden["link-signing key"] = _secret("linkkey-new")
    smtp, smtp_port = refusing_smtp
    database_url = asyncio.run(create_database("tdbuddy_secrets"))
    port = free_port()
    env = {
        **stack_env,
        "DATABASE_URL": _with_password(database_url, hidden["database password"]),
        "BROKER_QUEUE": f"secrets-{uuid.uuid4().hex[:8]}",
        "API_PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AWS_SECRET_ACCESS_KEY": hidden["S3 secret key"],
        "LINK_SIGNING_KEYS": f"1:{hidden['old link-signing key']},2:{hidden['link-signing key']}",
        "SMTP_PORT": str(smtp_port),
        "SMTP_USERNAME": SMTP_USER,
        "SMTP_PASSWORD": hidden["SMTP password"],
        "SMTP_SECURITY": "none",
        # On, so that the limiter runs (and logs) on every request, but never reached.
        "RATE_LIMIT_PER_KEY_PER_MINUTE": "100000",
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "100000",
    }
    log_dir: Path = tmp_path_factory.mktemp("secrets-logs")
    stack = Stack(env, log_dir)
    try:
        try:
            stack.start_api()
            stack.start("worker", "worker")
            stack.start("scheduler", "scheduler")
            _drive(stack, seen, receiver, smtp)
            _drive_failing_dependencies(stack, seen)
        finally:
            stack.stop_all()  # every log line written and flushed before it is read
        seen.logs = {path.name: path.read_text(errors="replace") for path in log_dir.iterdir()}
        yield seen
    finally:
        asyncio.run(drop_database(database_url))


@dataclass(frozen=True)
class Receiving:
    """A receiver path the stack posts to, the secrets that sign each call to it, and how
    many calls the drive has it take."""

    path: str
    secrets: tuple[str, ...]
    calls: int


def _drive(stack: Stack, seen: Transcript, receiver: WebhookReceiver, smtp: RefusingLogins) -> None:
    """Normal use and the error paths of one account, every answer kept."""
    user = f"secrets-{uuid.uuid4().hex[:8]}"
    key = new_api_key(stack.env, user)
    seen.hidden["API key"] = key
    attempts = 1 + len(Settings.from_env(stack.env).webhooks.retry_schedule)
    with seen.client(stack.base_url, key) as client:
        assert client.patch("/v1/account", json={"notify_email": "qa@example.com"}).is_success
        _drive_keys(stack, seen, client)
        ok_id, down_id, receiving = _drive_webhooks(seen, client, receiver, attempts)
        job, failed_job, callback = _drive_jobs(stack, seen, client, receiver, user, attempts)
        # Of each job, the endpoint that answers is told; the failing endpoint (and the
        # callback URL) run out of retries; the email fails at the login, with the password
        # really sent.
        ended = ["delivered", "failed", "failed", "failed"]
        wait_until(lambda: _delivery_states(client, job) == ended, 60, "the deliveries to end")
        ended_too = ["delivered", "failed", "failed"]
        wait_until(lambda: _delivery_states(client, failed_job) == ended_too, 60, "the others")
        assert smtp.passwords.get(timeout=10) == seen.hidden["SMTP password"].encode()
        # The failing endpoint's delivery sent again by hand: its retries run again.
        [delivery] = [d for d in _deliveries(client, job) if d["endpoint_id"] == down_id]
        resent = client.post(f"/v1/jobs/{job}/deliveries/{delivery['id']}/resend")
        assert resent.status_code == 202, resent.text
        for taken in (*receiving, callback):
            for _ in range(taken.calls):
                call = receiver.next_call(taken.path)
                for secret in taken.secrets:
                    Webhook(secret).verify(call.body, call.headers)  # the secrets sign
                seen.webhook_calls.append(f"{call.path}\n{call.headers}\n{call.body.decode()}")
        wait_until(lambda: _delivery_states(client, job) == ended, 30, "the resend to fail")
        assert client.get(f"/v1/webhooks/{ok_id}").status_code == 200
        _drive_error_answers(client)
        for path in ("/v1/jobs", "/v1/webhooks", "/v1/keys", "/v1/account", "/health"):
            assert client.get(path).status_code == 200
        assert client.get("/ready").status_code == 200
        schema = client.get("/schema/openapi.json")
        assert schema.status_code == 200
        seen.openapi = schema.text


def _deliveries(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/v1/jobs/{job_id}/deliveries")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["deliveries"]
    return found


def _delivery_states(client: httpx.Client, job_id: str) -> list[str]:
    return sorted(d["state"] for d in _deliveries(client, job_id))


def _drive_keys(stack: Stack, seen: Transcript, client: httpx.Client) -> None:
    """A second key made over the API, used, revoked and refused; an unknown key sent in
    every wrong way."""
    made = client.post("/v1/keys")
    assert made.status_code == 201, made.text
    second = made.json()
    seen.shown_once["second API key"] = (second["key"], "POST /v1/keys")
    assert client.get("/v1/keys").status_code == 200
    with seen.client(stack.base_url, second["key"]) as other:
        assert other.get("/v1/jobs").status_code == 200
        assert client.delete(f"/v1/keys/{second['id']}").status_code == 204
        wait_until(lambda: other.get("/v1/jobs").status_code == 401, 5, "the key to be refused")
        assert other.post("/v1/jobs", json=SMALL).status_code == 401
    unknown = "tdb_" + secrets.token_urlsafe(32)
    seen.hidden["unknown API key"] = unknown
    with seen.client(stack.base_url, None) as anonymous:
        for headers in (
            {"Authorization": f"Bearer {unknown}"},
            {"Authorization": f"Basic {unknown}"},
            {"Authorization": unknown},
            {"X-Api-Key": unknown},
        ):
            assert anonymous.get("/v1/jobs", headers=headers).status_code == 401
        assert anonymous.get("/v1/jobs", params={"api_key": unknown}).status_code == 401


def _drive_webhooks(
    seen: Transcript, client: httpx.Client, receiver: WebhookReceiver, attempts: int
) -> tuple[str, str, list[Receiving]]:
    """An endpoint that answers (its secret rotated), one that keeps failing, and a URL
    refused for its password; returns both endpoints' ids and their receiver paths."""
    tag = uuid.uuid4().hex[:8]
    ok_path = f"/secrets-ok-{tag}"
    url_token = _secret("endpoint-url-token")
    seen.unlogged["endpoint URL token"] = url_token
    down_path = f"/secrets-down-{tag}?token={url_token}"
    receiver.answer(down_path, *[Answer(500)] * (3 * attempts))
    ok = client.post("/v1/webhooks", json={"url": f"{receiver.base_url}{ok_path}"})
    assert ok.status_code == 201, ok.text
    ok_id, ok_secret = ok.json()["id"], ok.json()["secret"]
    seen.shown_once["endpoint secret"] = (ok_secret, "POST /v1/webhooks")
    rotated = client.post(f"/v1/webhooks/{ok_id}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    seen.shown_once["rotated secret"] = (new_secret, f"POST /v1/webhooks/{ok_id}/rotate-secret")
    down = client.post("/v1/webhooks", json={"url": f"{receiver.base_url}{down_path}"})
    assert down.status_code == 201, down.text
    seen.shown_once["failing endpoint's secret"] = (down.json()["secret"], "POST /v1/webhooks")
    url_password = _secret("url-password")
    seen.hidden["password in a refused webhook URL"] = url_password
    refused = client.post(
        "/v1/webhooks", json={"url": f"https://hooks:{url_password}@example.com/in"}
    )
    assert refused.status_code == 422, refused.text
    return (
        ok_id,
        down.json()["id"],
        [
            # Told of both jobs, signed with both secrets while the old one is in its grace.
            Receiving(ok_path, (ok_secret, new_secret), 2),
            # Its retries run out for both jobs, and once more after a resend.
            Receiving(down_path, (down.json()["secret"],), 3 * attempts),
        ],
    )


def _drive_jobs(
    stack: Stack,
    seen: Transcript,
    client: httpx.Client,
    receiver: WebhookReceiver,
    user: str,
    attempts: int,
) -> tuple[str, str, Receiving]:
    """A job that succeeds, with a callback URL that keeps failing; a job that fails; links
    tampered with and out of date. Returns both jobs and the callback."""
    callback_token = _secret("callback-url-token")
    seen.unlogged["callback URL token"] = callback_token
    callback_path = f"/secrets-callback-{uuid.uuid4().hex[:8]}?token={callback_token}"
    receiver.answer(callback_path, *[Answer(503)] * attempts)
    submitted = client.post(
        "/v1/jobs", json={**SMALL, "callback_url": receiver.base_url + callback_path}
    )
    assert submitted.status_code == 202, submitted.text
    callback_secret = submitted.json()["callback_secret"]
    seen.shown_once["callback secret"] = (callback_secret, "POST /v1/jobs")
    job = job_when(client, submitted.json()["url"], lambda j: j["state"] == "succeeded", 60)
    link = job["file"]["download_url"]
    seen.unlogged["download link"] = link.rsplit("/", 1)[1]
    assert client.get(link).status_code == 302
    assert client.head(link).status_code == 302
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 403
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    expired = sign_link(Settings.from_env(stack.env).links, uuid.UUID(job["id"]), past)
    assert client.get(f"/v1/downloads/{expired}").status_code == 410

    broken = {**SMALL, "fields": [{"name": "x", "type": "no_such_type"}]}
    failed = asyncio.run(_insert_unsent_job(stack.env["DATABASE_URL"], user, broken))
    job_when(client, f"/v1/jobs/{failed}", lambda j: j["state"] == "failed", 60)
    return job["id"], str(failed), Receiving(callback_path, (callback_secret,), attempts)


def _drive_error_answers(client: httpx.Client) -> None:
    """The 4xx answers a careless or hostile client meets."""
    assert client.get(f"/v1/jobs/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/v1/webhooks/{uuid.uuid4()}").status_code == 404
    assert client.delete("/v1/keys/999999999").status_code == 404
    assert client.get("/v1/jobs/not-an-id").status_code in (400, 404)
    assert client.delete("/v1/jobs").status_code == 405
    assert client.get("/v1/jobs", params={"cursor": "garbage"}).status_code == 400
    assert client.post("/v1/jobs", json={**SMALL, "name": "x" * 2_000_000}).status_code == 413
    assert client.post("/v1/jobs", json={**SMALL, "rows": -1}).status_code == 422
    malformed = client.post(
        "/v1/jobs", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    bad_key = client.post("/v1/jobs", json=SMALL, headers={"Idempotency-Key": "k" * 300})
    assert bad_key.status_code == 400
    assert client.patch("/v1/account", json={"notify_email": "not an address"}).status_code == 422


def _drive_failing_dependencies(stack: Stack, seen: Transcript) -> None:
    """An API whose broker and rate limiter (a password in the Redis URL) and storage cannot
    be reached answers; one whose database cannot be reached fails to start."""
    broker_password = _secret("redispw")
    seen.hidden["broker password"] = broker_password
    port = free_port()
    unready = Stack(
        {
            **stack.env,
            "API_PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "REDIS_URL": f"redis://:{broker_password}@127.0.0.1:{free_port()}/0",
            "BROKER_URL": f"redis://:{broker_password}@127.0.0.1:{free_port()}/0",
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        },
        stack.log_dir,
    )
    try:
        unready.start_api()
        with seen.client(unready.base_url, seen.hidden["unknown API key"]) as client:
            assert client.get("/ready").status_code == 503
            # The rate limiter cannot reach its Redis either, and lets the request through.
            assert client.get("/v1/jobs").status_code == 401
    finally:
        unready.stop_all()
    closed = _with_password(
        f"postgresql://postgres@127.0.0.1:{free_port()}/tdbuddy", seen.hidden["database password"]
    )
    no_database = stack.start(
        "api-no-database", "api", DATABASE_URL=closed, API_PORT=str(free_port())
    )
    assert no_database.popen.wait(timeout=60) != 0


# --- what must hold ------------------------------------------------------------------------


def _everywhere_hidden(seen: Transcript) -> dict[str, str]:
    return {**seen.hidden, **{label: value for label, (value, _) in seen.shown_once.items()}}


def test_no_log_line_holds_a_secret(transcript: Transcript) -> None:
    # Every process left a log, and the failures were logged at all: silence proves nothing.
    names = {name.rsplit("-", 1)[0] for name in transcript.logs}
    assert {"api", "worker", "scheduler", "api-no-database"} <= names, names
    worker_log = "\n".join(t for n, t in transcript.logs.items() if n.startswith("worker"))
    assert "refused the login" in worker_log and "no retries are left" in worker_log
    secrets_ = {**_everywhere_hidden(transcript), **transcript.unlogged}
    leaks = [
        f"{name}: the {label} in: {line.strip()[:300]}"
        for name, text in transcript.logs.items()
        for line in text.splitlines()
        for label, secret in secrets_.items()
        if secret in line
    ]
    assert leaks == []


def test_no_answer_holds_a_secret_but_the_one_that_shows_it_once(transcript: Transcript) -> None:
    assert len(transcript.exchanges) > 50
    for label, secret in transcript.hidden.items():
        shown = [e.request for e in transcript.exchanges if secret in e.text]
        assert shown == [], f"the {label} was in the answers to {shown}"
    for label, (secret, display) in transcript.shown_once.items():
        shown = [e.request for e in transcript.exchanges if secret in e.text]
        assert shown == [display], f"the {label} was in the answers to {shown}"


def test_the_openapi_document_holds_no_secret(transcript: Transcript) -> None:
    assert '"openapi"' in transcript.openapi
    secrets_ = {**_everywhere_hidden(transcript), **transcript.unlogged}
    assert [label for label, secret in secrets_.items() if secret in transcript.openapi] == []


def test_webhook_calls_carry_signatures_never_secrets(transcript: Transcript) -> None:
    assert len(transcript.webhook_calls) > 10
    assert all("webhook-signature" in call for call in transcript.webhook_calls)
    secrets_ = _everywhere_hidden(transcript)
    for call in transcript.webhook_calls:
        assert [label for label, secret in secrets_.items() if secret in call] == [], call
