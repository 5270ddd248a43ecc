"""The scheduler's job relay: a committed job reaches a worker at once, woken by the commit's
NOTIFY, not at the scheduler's next tick."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration.test_end_to_end import USERS
from tests.services import Stack, job_when, new_api_key, stack_of_its_own


@pytest.fixture(scope="module")
def slow_ticking_stack(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    # Ticks a minute apart: within the test's time, only a NOTIFY can wake the relay.
    with stack_of_its_own(
        stack_env,
        tmp_path_factory.mktemp("relay-logs"),
        "relay",
        RECONCILE_INTERVAL_SECONDS="60",
        JOB_REQUEUE_AFTER_SECONDS="600",
    ) as stack:
        yield stack


def test_a_committed_job_is_relayed_at_once(slow_ticking_stack: Stack) -> None:
    key = new_api_key(slow_ticking_stack.env, f"relay-{uuid.uuid4().hex[:6]}")
    with slow_ticking_stack.client(key) as client:
        for seed in (1, 2, 3):  # the first after start-up, then ones that find it waiting
            answer = client.post("/v1/jobs", json={**USERS, "rows": 100, "seed": seed})
            assert answer.status_code == 202, answer.text
            done = job_when(
                client, answer.headers["location"], lambda j: j["state"] == "succeeded", 20
            )
            assert done["progress"]["rows_done"] == 100
