"""RabbitMQ as the broker: the same API, worker and scheduler, configured with
BROKER_URL=amqp://…, on a database of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.integration.test_end_to_end import USERS, download, expected_bytes
from tests.receivers import Answer, WebhookReceiver
from tests.services import (
    Stack,
    job_when,
    new_api_key,
    port_open,
    stack_of_its_own,
    unavailable,
)

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="module")
def rabbit_stack(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    if not port_open("127.0.0.1", 5672):
        unavailable("RabbitMQ at 127.0.0.1:5672")
    with stack_of_its_own(
        stack_env, Path(tmp_path_factory.mktemp("rabbit-logs")), "rabbit", BROKER_URL=RABBITMQ_URL
    ) as stack:
        yield stack


def test_a_job_runs_end_to_end_over_rabbitmq(rabbit_stack: Stack) -> None:
    key = new_api_key(rabbit_stack.env, f"rabbit-{uuid.uuid4().hex[:6]}")
    with rabbit_stack.client(key) as client:
        ready = client.get("/ready").json()
        assert ready["checks"]["broker"]["ok"], ready
        # Big enough to be split: the worker sends the shards over RabbitMQ too.
        spec = {**USERS, "rows": 400_000}
        job = client.post("/v1/jobs", json=spec).json()
        done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 120)
        assert download(client, done["file"]["download_url"]).content == expected_bytes(spec)
        worker = next(p for p in rabbit_stack.processes if p.name == "worker")
        assert "planned into 4 shards" in worker.log_text()


def test_webhooks_and_their_delayed_retries_go_over_rabbitmq(
    rabbit_stack: Stack, receiver: WebhookReceiver
) -> None:
    key = new_api_key(rabbit_stack.env, f"rabbit-{uuid.uuid4().hex[:6]}")
    receiver.answer("/rabbit", Answer(500))
    with rabbit_stack.client(key) as client:
        answer = client.post(
            "/v1/jobs",
            json={**USERS, "rows": 10, "callback_url": f"{receiver.base_url}/rabbit"},
        )
        secret = answer.json()["callback_secret"]
        first, retry = receiver.next_call("/rabbit"), receiver.next_call("/rabbit")
    assert (first.status, retry.status) == (500, 200)
    assert Webhook(secret).verify(retry.body, retry.headers)["type"] == "job.succeeded"
