"""Tenant isolation: every endpoint that takes an id answers another account's ids with the
same 404 as an id nobody has, changes nothing of theirs, and no listing shows their things.

The endpoints come from the live OpenAPI document: one added without a case here fails
`test_every_endpoint_that_takes_an_id_has_an_isolation_case`.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest

from tests.integration.test_end_to_end import USERS
from tests.receivers import WebhookReceiver
from tests.services import Stack, job_when, new_api_key, wait_until

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# A well-behaved client waits out a 429 this many times before the test gives up on it.
RATE_LIMIT_RETRIES = 5


class PatientTransport(httpx.HTTPTransport):
    """Waits out a 429 for as long as its Retry-After asks (10 s at most), as a polite client
    does, so that these tests hold on a stack with rate limits on."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(RATE_LIMIT_RETRIES):
            response = super().handle_request(request)
            if response.status_code != 429:
                return response
            response.read()
            response.close()
            wait = response.headers.get("retry-after", "1")
            time.sleep(min(float(wait) if wait.isdigit() else 1.0, 10.0))
        return super().handle_request(request)


@contextmanager
def tenant_client(stack: Stack, api_key: str) -> Iterator[httpx.Client]:
    """An HTTP client on the stack's API that sends `api_key` and waits out rate limits."""
    with httpx.Client(
        base_url=stack.base_url,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
        transport=PatientTransport(),
    ) as client:
        yield client


def operations(openapi: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """operationId → (HTTP method, path template) of every operation in the document."""
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in openapi["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    }


@dataclass(frozen=True)
class Tenant:
    """An account with one of everything it can own, each finished and at rest."""

    name: str
    key: str
    key_id: int
    key_prefix: str
    notify_email: str
    job: dict[str, Any]  # succeeded, with edge cases, a download link and three deliveries
    endpoint: dict[str, Any]  # as created: its secret is shown this once
    callback_secret: str
    delivery_ids: list[str]
    endpoint_path: str
    callback_path: str

    @property
    def job_id(self) -> str:
        return str(self.job["id"])

    @property
    def endpoint_id(self) -> str:
        return str(self.endpoint["id"])

    def ids(self) -> set[str]:
        """The ids of what this tenant owns, as they appear in a path."""
        return {self.job_id, self.endpoint_id, *self.delivery_ids, str(self.key_id)}

    @property
    def link_token(self) -> str:
        return str(self.job["file"]["download_url"]).rsplit("/", 1)[1]

    def markers(self) -> set[str]:
        """Every string that tells this tenant's things apart; no other account may see one.

        The key's id is left out: a small number occurs in any page by chance."""
        return {
            self.name,
            self.key,
            self.key_prefix,
            self.notify_email,
            self.job_id,
            self.job["name"],
            self.job["file"]["sha256"],
            self.link_token,
            self.endpoint_id,
            self.endpoint["url"],
            self.endpoint["description"],
            self.endpoint["secret"],
            self.endpoint_path,
            self.callback_path,
            self.callback_secret,
            *self.delivery_ids,
        }


def make_tenant(stack: Stack, receiver: WebhookReceiver, label: str) -> Tenant:
    """A new account that sets its notification email, registers a webhook endpoint and runs
    one job (with edge cases and a callback URL) until each of its deliveries has arrived."""
    tag = f"tenant-{label}-{uuid.uuid4().hex[:10]}"
    key = new_api_key(stack.env, tag)
    endpoint_path, callback_path = f"/{tag}-endpoint", f"/{tag}-callback"
    with tenant_client(stack, key) as client:
        notify_email = f"{tag}@example.com"
        changed = client.patch("/v1/account", json={"notify_email": notify_email})
        assert changed.status_code == 200, changed.text
        created = client.post(
            "/v1/webhooks",
            json={"url": f"{receiver.base_url}{endpoint_path}", "description": f"{tag} hooks"},
        )
        assert created.status_code == 201, created.text
        spec = {
            **USERS,
            "name": f"{tag}-data",
            "rows": 300,
            "seed": uuid.uuid4().int % 2**62,
            "edge_case_rate": 0.05,
            "callback_url": f"{receiver.base_url}{callback_path}",
        }
        submitted = client.post("/v1/jobs", json=spec)
        assert submitted.status_code == 202, submitted.text
        job = job_when(client, submitted.json()["url"], lambda j: j["state"] == "succeeded", 60)
        receiver.next_call(endpoint_path)
        receiver.next_call(callback_path)

        def delivered() -> list[str] | None:
            found = client.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]
            # The endpoint, the callback URL and the account's notification email.
            done = len(found) == 3 and all(d["state"] == "delivered" for d in found)
            return [d["id"] for d in found] if done else None

        delivery_ids = wait_until(delivered, 30, f"the deliveries of {tag}'s job")
        [current] = [k for k in client.get("/v1/keys").json()["keys"] if k["current"]]
    return Tenant(
        name=tag,
        key=key,
        key_id=current["id"],
        key_prefix=current["prefix"],
        notify_email=notify_email,
        job=job,
        endpoint=created.json(),
        callback_secret=submitted.json()["callback_secret"],
        delivery_ids=delivery_ids,
        endpoint_path=endpoint_path,
        callback_path=callback_path,
    )


@dataclass(frozen=True)
class World:
    a: Tenant  # the owner whose things are tried
    b: Tenant  # the other tenant, who tries them


@pytest.fixture(scope="module")
def world(stack: Stack, receiver: WebhookReceiver) -> World:
    a = make_tenant(stack, receiver, "a")
    b = make_tenant(stack, receiver, "b")
    return World(a, b)


@pytest.fixture
def a_client(stack: Stack, world: World) -> Iterator[httpx.Client]:
    with tenant_client(stack, world.a.key) as client:
        yield client


@pytest.fixture
def b_client(stack: Stack, world: World) -> Iterator[httpx.Client]:
    with tenant_client(stack, world.b.key) as client:
        yield client


@pytest.fixture(scope="module")
def openapi(stack: Stack) -> dict[str, Any]:
    document = httpx.get(f"{stack.base_url}/schema/openapi.json", timeout=30)
    assert document.status_code == 200
    parsed: dict[str, Any] = document.json()
    return parsed


# --- the cases: how tenant B fills each endpoint's ids with tenant A's ----------------------

PathIds = dict[str, str]

# operationId → the path parameters B tries, each set holding at least one of A's ids. Every
# one must answer exactly as the same request with A's ids swapped for unknown ones does: 404.
ID_CASES: dict[str, Callable[[World], list[PathIds]]] = {
    "getJob": lambda w: [{"job_id": w.a.job_id}],
    "deleteJob": lambda w: [{"job_id": w.a.job_id}],
    "cancelJob": lambda w: [{"job_id": w.a.job_id}],
    "listEdgeCases": lambda w: [{"job_id": w.a.job_id}],
    "listDeliveries": lambda w: [{"job_id": w.a.job_id}],
    "resendDelivery": lambda w: [
        *({"job_id": w.a.job_id, "delivery_id": d} for d in w.a.delivery_ids),
        # B's own job, A's delivery: the pair must belong together and to the caller.
        *({"job_id": w.b.job_id, "delivery_id": d} for d in w.a.delivery_ids),
        # A's job, B's delivery.
        {"job_id": w.a.job_id, "delivery_id": w.b.delivery_ids[0]},
    ],
    "getWebhookEndpoint": lambda w: [{"endpoint_id": w.a.endpoint_id}],
    "deleteWebhookEndpoint": lambda w: [{"endpoint_id": w.a.endpoint_id}],
    "enableWebhookEndpoint": lambda w: [{"endpoint_id": w.a.endpoint_id}],
    "rotateWebhookSecret": lambda w: [{"endpoint_id": w.a.endpoint_id}],
    "revokeApiKey": lambda w: [{"key_id": str(w.a.key_id)}],
}

# Operations whose path holds a signed download token, not an id: a token opens the file of
# the job it was signed for, for whoever holds it (that is what a link is for). What another
# tenant must not do is make one for someone else's job, which
# test_no_token_opens_a_job_it_was_not_signed_for checks.
TOKEN_OPERATIONS = {"download", "downloadHead"}


def test_every_endpoint_that_takes_an_id_has_an_isolation_case(openapi: dict[str, Any]) -> None:
    taking_ids = {op for op, (_, path) in operations(openapi).items() if "{" in path}
    covered = set(ID_CASES) | TOKEN_OPERATIONS
    assert taking_ids - covered == set(), (
        "endpoints with a path parameter but no tenant-isolation case: add them to ID_CASES "
        "in tests/integration/test_tenant_isolation.py"
    )
    assert covered - taking_ids == set(), "isolation cases for operations the API no longer has"


def _snapshot(client: httpx.Client, tenant: Tenant) -> dict[str, Any]:
    """What the owner sees of everything it owns; another tenant's requests must not change it."""
    views = {
        "job": client.get(f"/v1/jobs/{tenant.job_id}"),
        "endpoint": client.get(f"/v1/webhooks/{tenant.endpoint_id}"),
        "deliveries": client.get(f"/v1/jobs/{tenant.job_id}/deliveries"),
        "edge_cases": client.get(f"/v1/jobs/{tenant.job_id}/edge-cases"),
        "account": client.get("/v1/account"),  # and the key still works
        "keys": client.get("/v1/keys"),
    }
    for name, view in views.items():
        assert view.status_code == 200, f"the owner lost its {name}: {view.text}"
    return {name: view.text for name, view in views.items()}


def _unknown_like(value: str) -> str:
    """An id of the same kind (a UUID or a number) that nobody has."""
    return str(2**62 + uuid.uuid4().int % 2**61) if value.isdigit() else str(uuid.uuid4())


def _fill(path: str, ids: PathIds) -> str:
    for name, value in ids.items():
        path = path.replace(f"{{{name}}}", value)
    assert "{" not in path, f"no value for a parameter of {path}"
    return path


@pytest.mark.parametrize("operation_id", sorted(ID_CASES))
def test_another_tenants_ids_answer_404_as_unknown_ones_do_and_change_nothing(
    operation_id: str,
    openapi: dict[str, Any],
    world: World,
    a_client: httpx.Client,
    b_client: httpx.Client,
) -> None:
    method, path = operations(openapi)[operation_id]
    before = _snapshot(a_client, world.a)
    for ids in ID_CASES[operation_id](world):
        theirs = b_client.request(method, _fill(path, ids))
        # The same request with A's ids (not B's own) swapped for ids nobody has.
        unknown = {value: _unknown_like(value) for value in world.a.ids() & set(ids.values())}
        nobodys = b_client.request(
            method, _fill(path, {k: unknown.get(v, v) for k, v in ids.items()})
        )
        assert theirs.status_code == 404, f"{method} {path} {ids}: {theirs.text}"
        assert theirs.json()["error"] == "not_found", theirs.text
        body = theirs.text
        for value, stand_in in unknown.items():
            body = body.replace(value, stand_in)
        assert body == nobodys.text, "the answer tells A's ids from unknown ones"
        leaked = {m for m in world.a.markers() - set(ids.values()) if m in theirs.text}
        assert leaked == set(), f"{method} {path} shows tenant A's {leaked}"
    assert _snapshot(a_client, world.a) == before, f"B's {operation_id} changed A's things"


def test_listings_show_only_the_callers_own_things(
    openapi: dict[str, Any], world: World, b_client: httpx.Client, receiver: WebhookReceiver
) -> None:
    # Every operation that takes no id, read as B: none shows anything of A.
    for operation_id, (method, path) in operations(openapi).items():
        if method != "GET" or "{" in path:
            continue
        answer = b_client.get(path)
        assert answer.status_code < 500, f"{operation_id}: {answer.text}"
        leaked = {marker for marker in world.a.markers() if marker in answer.text}
        assert leaked == set(), f"{operation_id} shows tenant B tenant A's {leaked}"
    # …and the listings are not empty for want of data: B's own things are there.
    jobs = b_client.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
    assert [job["id"] for job in jobs] == [world.b.job_id]
    endpoints = b_client.get("/v1/webhooks").json()["endpoints"]
    assert [endpoint["id"] for endpoint in endpoints] == [world.b.endpoint_id]
    keys = b_client.get("/v1/keys").json()["keys"]
    assert [key["id"] for key in keys] == [world.b.key_id]
    assert b_client.get("/v1/account").json()["notify_email"] == world.b.notify_email
    for listing in (
        f"/v1/jobs/{world.b.job_id}/deliveries",
        f"/v1/jobs/{world.b.job_id}/edge-cases",
    ):
        answer = b_client.get(listing)
        assert answer.status_code == 200 and answer.text.strip(), answer.text
        assert {m for m in world.a.markers() if m in answer.text} == set(), listing
    deliveries = b_client.get(f"/v1/jobs/{world.b.job_id}/deliveries").json()["deliveries"]
    assert sorted(d["id"] for d in deliveries) == sorted(world.b.delivery_ids)
    # A's endpoint heard of A's job only (taken while A was made), never of B's.
    assert receiver.calls_so_far(world.a.endpoint_path) == 0
    assert receiver.calls_so_far(world.a.callback_path) == 0


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_no_token_opens_a_job_it_was_not_signed_for(
    world: World, a_client: httpx.Client, b_client: httpx.Client
) -> None:
    a_payload = world.a.link_token.split(".")[0]
    b_payload, b_signature = world.b.link_token.split(".")
    _, expires, version = msgspec.msgpack.decode(_unb64(b_payload), type=tuple[bytes, int, int])
    a_job = uuid.UUID(world.a.job_id).bytes
    forged = {
        "B's token with A's job id in it": (
            f"{_b64(msgspec.msgpack.encode((a_job, expires, version)))}.{b_signature}"
        ),
        "A's job, signed with B's token's signature": f"{a_payload}.{b_signature}",
        "A's bare job id": world.a.job_id,
        "A's job id, signed with B's token's signature": f"{world.a.job_id}.{b_signature}",
    }
    for what, token in forged.items():
        for method in ("GET", "HEAD"):
            answer = b_client.request(method, f"/v1/downloads/{token}")
            assert answer.status_code == 403, f"{method} {what}: {answer.status_code}"
            if method == "GET":
                assert answer.json()["error"] == "invalid_link", answer.text
                assert {m for m in world.a.markers() if m in answer.text} == set(), what
    # The genuine links still open their own files (302 to storage).
    for client, tenant in ((b_client, world.b), (a_client, world.a)):
        assert client.get(f"/v1/downloads/{tenant.link_token}").status_code == 302


def test_idempotency_keys_and_file_reuse_stay_within_an_account(
    stack: Stack, world: World, a_client: httpx.Client, receiver: WebhookReceiver
) -> None:
    spec = {**USERS, "name": "shared-key", "rows": 50, "seed": uuid.uuid4().int % 2**62}
    key = f"shared-{uuid.uuid4()}"
    first = a_client.post("/v1/jobs", json=spec, headers={"Idempotency-Key": key})
    assert first.status_code == 202, first.text
    job_when(a_client, first.headers["location"], lambda j: j["state"] == "succeeded", 60)
    receiver.next_call(world.a.endpoint_path)  # A's endpoint hears of it, as of every A job
    # Another tenant sending the same key and body gets a job of its own, made anew: not A's
    # job, and not A's file (reused_from would name A's job).
    with tenant_client(stack, new_api_key(stack.env, f"tenant-c-{uuid.uuid4().hex[:8]}")) as c:
        same = c.post("/v1/jobs", json=spec, headers={"Idempotency-Key": key})
        assert same.status_code == 202, same.text
        assert same.json()["id"] != first.json()["id"]
        assert same.json()["reused_from"] is None and same.json()["state"] == "queued"
        assert c.get(first.headers["location"]).status_code == 404
    # A third sending the key with another body is not told that someone used it (422).
    with tenant_client(stack, new_api_key(stack.env, f"tenant-d-{uuid.uuid4().hex[:8]}")) as d:
        other = d.post("/v1/jobs", json={**spec, "rows": 7}, headers={"Idempotency-Key": key})
        assert other.status_code == 202, other.text
        assert other.json()["id"] != first.json()["id"]
