"""Plans: each limit refuses the job past it, says which limit, its value and when it resets,
and holds in total across API processes; the account shows the use of each."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from storage.accounts import hash_key
from storage.commands import create_user_with_key
from tests.integration.test_end_to_end import USERS
from tests.services import Stack, free_port, job_when, new_api_key, run_sql

SMALL = {**USERS, "rows": 20}


def plan_with(database_url: str, **limits: int | None) -> str:
    """A new plan with these limits (the rest unlimited); returns its name."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    columns = ("rows_per_job", "jobs_per_day", "running_jobs", "bytes_stored", "link_seconds")
    run_sql(
        database_url,
        "INSERT INTO plans (name, rows_per_job, jobs_per_day, running_jobs, bytes_stored, "
        "link_seconds) VALUES ($1, $2, $3, $4, $5, $6)",
        name,
        *(limits.get(column) for column in columns),
    )
    return name


def client_on(stack: Stack, stack_env: dict[str, str], plan: str) -> httpx.Client:
    return stack.client(new_api_key(stack_env, f"plan-{uuid.uuid4().hex[:8]}", plan))


def owned_job(database_url: str, client: httpx.Client, **columns: Any) -> None:
    """A job of the client's user written straight into the database, counted as sent so
    no worker takes it: in whatever state `columns` give it."""
    names = ", ".join(columns)
    values = ", ".join(f"${i + 2}" for i in range(len(columns)))
    run_sql(
        database_url,
        "INSERT INTO jobs (id, user_id, name, spec, format, rows_total, engine_version, "
        f"enqueued_at, {names}) "
        "SELECT gen_random_uuid(), k.user_id, 'x', '{}'::jsonb, 'csv', 1, '0', "
        f"now() + interval '1 hour', {values} "
        "FROM api_keys k WHERE k.key_hash = $1",
        _key_hash(client),
        *columns.values(),
    )


def _key_hash(client: httpx.Client) -> bytes:
    return hash_key(client.headers["authorization"].removeprefix("Bearer "))


def _refusal(response: httpx.Response, status: int, limit: str, value: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == "plan_limit_reached"
    assert body["limit"] == limit
    assert body["limit_value"] == value
    assert f"plan '{body['plan']}'" in body["detail"]
    return body


def test_a_job_over_the_row_limit_is_403_naming_rows(
    stack: Stack, stack_env: dict[str, str], database_url: str
) -> None:
    plan = plan_with(database_url, rows_per_job=100)
    with client_on(stack, stack_env, plan) as client:
        body = _refusal(
            client.post("/v1/jobs", json={**USERS, "rows": 101}), 403, "rows_per_job", 100
        )
        assert body["field"] == "rows"
        assert body["resets_at"] is None
        assert "100 rows per job" in body["detail"] and "101" in body["detail"]
        assert client.post("/v1/jobs", json={**USERS, "rows": 100}).status_code == 202
        assert len(client.get("/v1/jobs").json()["jobs"]) == 1  # the refused one left nothing


def test_the_daily_job_limit_is_429_until_utc_midnight(
    stack: Stack, stack_env: dict[str, str], database_url: str
) -> None:
    plan = plan_with(database_url, jobs_per_day=3)
    with client_on(stack, stack_env, plan) as client:
        for _ in range(3):
            assert client.post("/v1/jobs", json=SMALL).status_code == 202
        refused = client.post("/v1/jobs", json=SMALL)
        body = _refusal(refused, 429, "jobs_per_day", 3)
        now = dt.datetime.now(dt.UTC)
        midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
        assert dt.datetime.fromisoformat(body["resets_at"]) == midnight
        assert abs(int(refused.headers["retry-after"]) - (midnight - now).total_seconds()) < 60
        # An idempotent submit is held to the same limit.
        keyed = client.post("/v1/jobs", json=SMALL, headers={"Idempotency-Key": "k-1"})
        _refusal(keyed, 429, "jobs_per_day", 3)
        usage = client.get("/v1/account").json()["plan"]
        assert usage["jobs_per_day"] == {"limit": 3, "used": 3, "resets_at": body["resets_at"]}
        assert len(client.get("/v1/jobs").json()["jobs"]) == 3


def test_jobs_at_once_are_limited_until_one_ends(
    stack: Stack, stack_env: dict[str, str], database_url: str
) -> None:
    plan = plan_with(database_url, running_jobs=1)
    with client_on(stack, stack_env, plan) as client:
        owned_job(database_url, client, state="running")
        refused = client.post("/v1/jobs", json=SMALL)
        body = _refusal(refused, 429, "running_jobs", 1)
        assert "Retry-After" in refused.headers
        assert body["resets_at"] is None
        assert client.get("/v1/account").json()["plan"]["running_jobs"]["used"] == 1
        run_sql(
            database_url,
            "UPDATE jobs SET state = 'cancelled' FROM api_keys k "
            "WHERE k.key_hash = $1 AND jobs.user_id = k.user_id",
            _key_hash(client),
        )
        assert client.post("/v1/jobs", json=SMALL).status_code == 202


def test_stored_bytes_are_limited_until_files_expire_or_are_deleted(
    stack: Stack, stack_env: dict[str, str], database_url: str
) -> None:
    plan = plan_with(database_url, bytes_stored=1000)
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=2)
    unseeded = {**SMALL, "seed": None}  # never handed an earlier job's file
    with client_on(stack, stack_env, plan) as client:
        live = {"state": "succeeded", "object_key": "jobs/x", "expires_at": expires}
        owned_job(database_url, client, size_bytes=600, **live)
        owned_job(database_url, client, size_bytes=600, **live)  # the same file, reused
        accepted = client.post("/v1/jobs", json=unseeded)
        assert accepted.status_code == 202  # 600 bytes stored, under 1000
        done = job_when(client, accepted.json()["url"], lambda j: j["state"] == "succeeded", 60)
        size = done["file"]["size_bytes"]
        assert 600 + size >= 1000  # its file (about 1 kB) fills the plan
        body = _refusal(client.post("/v1/jobs", json=unseeded), 403, "bytes_stored", 1000)
        first_expiry = min(expires, dt.datetime.fromisoformat(done["file"]["expires_at"]))
        assert dt.datetime.fromisoformat(body["resets_at"]) == first_expiry
        assert "DELETE /v1/jobs/" in body["detail"]
        usage = client.get("/v1/account").json()["plan"]["bytes_stored"]
        assert usage["limit"] == 1000 and usage["used"] == 600 + size
        assert client.delete(done["url"]).status_code == 204
        assert client.post("/v1/jobs", json=unseeded).status_code == 202  # room again


def test_a_job_that_reuses_a_live_file_is_held_only_to_the_row_and_daily_limits(
    stack: Stack, stack_env: dict[str, str], database_url: str
) -> None:
    # A reused file runs nothing and stores no byte more: the running and stored limits,
    # both used up here, do not refuse it; it counts for the day like any job.
    plan = plan_with(database_url, running_jobs=1, bytes_stored=1, jobs_per_day=5)
    seeded = {**SMALL, "seed": 7}
    with client_on(stack, stack_env, plan) as client:
        first = client.post("/v1/jobs", json=seeded).json()
        job_when(client, first["url"], lambda j: j["state"] == "succeeded", 60)
        owned_job(database_url, client, state="running")
        _refusal(client.post("/v1/jobs", json={**seeded, "seed": 8}), 429, "running_jobs", 1)
        again = client.post("/v1/jobs", json=seeded)
        assert again.status_code == 202, again.text
        assert again.json()["state"] == "succeeded"
        assert again.json()["reused_from"] == first["id"]
        assert client.get("/v1/account").json()["plan"]["jobs_per_day"]["used"] == 2


def test_a_plans_link_lifetime_sets_when_the_file_expires(
    stack: Stack, stack_env: dict[str, str], database_url: str
) -> None:
    plan = plan_with(database_url, link_seconds=600)
    with client_on(stack, stack_env, plan) as client:
        job = client.post("/v1/jobs", json=SMALL).json()
        done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 60)
        finished = dt.datetime.fromisoformat(done["finished_at"])
        expires = dt.datetime.fromisoformat(done["file"]["expires_at"])
        assert expires - finished == dt.timedelta(seconds=600)
        assert client.get("/v1/account").json()["plan"]["link_seconds"] == {
            "limit": 600,
            "used": None,
            "resets_at": None,
        }


@pytest.fixture
def second_api(stack: Stack, stack_env: dict[str, str]) -> Iterator[str]:
    """Another API process on the session's database: a second replica."""
    port = free_port()
    replica = Stack(
        {**stack_env, "API_PORT": str(port), "PUBLIC_URL": f"http://127.0.0.1:{port}"},
        stack.log_dir,
    )
    try:
        replica.start_api()
        yield replica.base_url
    finally:
        replica.stop_all()


def test_a_limit_holds_in_total_across_two_api_processes(
    stack: Stack, stack_env: dict[str, str], database_url: str, second_api: str
) -> None:
    plan = plan_with(database_url, jobs_per_day=7)
    key = new_api_key(stack_env, f"plan-{uuid.uuid4().hex[:8]}", plan)
    headers = {"Authorization": f"Bearer {key}"}

    def submit(base_url: str) -> int:
        return httpx.post(
            f"{base_url}/v1/jobs", json=SMALL, headers=headers, timeout=30
        ).status_code

    targets = [stack.base_url, second_api] * 15
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(submit, targets))
    assert sorted(statuses) == [202] * 7 + [429] * 23
    with stack.client(key) as client:
        assert len(client.get("/v1/jobs", params={"limit": 100}).json()["jobs"]) == 7


def test_new_users_are_on_the_free_plan(stack: Stack, stack_env: dict[str, str]) -> None:
    key = asyncio.run(
        create_user_with_key(Settings.from_env(stack_env), f"new-{uuid.uuid4().hex[:8]}", None)
    )
    with stack.client(key.secret) as client:
        plan = client.get("/v1/account").json()["plan"]
    assert plan["name"] == "free"
    assert plan["rows_per_job"] == {"limit": 1_000_000, "used": None, "resets_at": None}
    assert plan["running_jobs"]["limit"] == 2


# --- the operator's commands -----------------------------------------------------------------


def tdbuddy(stack_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )


def table_row(header: str, line: str) -> dict[str, str]:
    """One line of a command's table by column name (names may hold single spaces)."""
    starts = [(m.group(), m.start()) for m in re.finditer(r"\S+(?: \S+)*", header)]
    ends = [start for _, start in starts[1:]] + [len(line)]
    return {name: line[start:end].strip() for (name, start), end in zip(starts, ends, strict=True)}


def test_operators_make_plans_move_users_and_manage_keys(
    stack: Stack, stack_env: dict[str, str]
) -> None:
    plan, user = f"cli-{uuid.uuid4().hex[:6]}", f"cli-{uuid.uuid4().hex[:6]}"
    made = tdbuddy(stack_env, "plans", "set", plan, "--rows-per-job", "50", "--jobs-per-day", "9")
    assert made.returncode == 0, made.stderr
    changed = tdbuddy(stack_env, "plans", "set", plan, "--jobs-per-day", "none")
    assert changed.returncode == 0, changed.stderr
    listed = tdbuddy(stack_env, "plans", "list").stdout
    row = next(line.split() for line in listed.splitlines() if line.startswith(plan))
    assert row[1:3] == ["50", "-"]  # rows per job kept, jobs per day now unlimited

    created = tdbuddy(stack_env, "users", "create", user, "--plan", plan)
    assert created.returncode == 0, created.stderr
    first_key = created.stdout.split()[-1]
    with stack.client(first_key) as client:
        assert client.get("/v1/account").json()["plan"]["name"] == plan
        _refusal(client.post("/v1/jobs", json={**USERS, "rows": 51}), 403, "rows_per_job", 50)
    moved = tdbuddy(stack_env, "users", "set-plan", user, "pro")
    assert moved.returncode == 0, moved.stderr
    with stack.client(first_key) as client:
        assert client.get("/v1/account").json()["plan"]["name"] == "pro"
    assert tdbuddy(stack_env, "users", "set-plan", user, "no-such-plan").returncode != 0

    second = tdbuddy(stack_env, "keys", "create", user)
    assert second.returncode == 0, second.stderr
    second_key = second.stdout.split()[-1]
    keys = tdbuddy(stack_env, "keys", "list", user).stdout
    assert first_key[:12] in keys and second_key[:12] in keys
    assert first_key not in keys and second_key not in keys  # prefixes only
    revoked = tdbuddy(stack_env, "keys", "revoke", first_key[:12])
    assert revoked.returncode == 0, revoked.stderr
    with stack.client(first_key) as client:
        assert client.get("/v1/account").status_code == 401
    with stack.client(second_key) as client:
        assert client.get("/v1/account").status_code == 200
    header, *lines = tdbuddy(stack_env, "users", "list").stdout.splitlines()
    user_row = next(table_row(header, line) for line in lines if user in line)
    assert user_row["plan"] == "pro" and user_row["live keys"] == "1"


# --- keys over the API -----------------------------------------------------------------------


def test_users_make_list_and_revoke_their_keys(stack: Stack, stack_env: dict[str, str]) -> None:
    first = new_api_key(stack_env, f"keys-{uuid.uuid4().hex[:8]}")
    with stack.client(first) as client:
        made = client.post("/v1/keys")
        assert made.status_code == 201
        second = made.json()["key"]
        assert second.startswith(made.json()["prefix"]) and len(second) > 40
        listed = client.get("/v1/keys").json()["keys"]
        assert [key["prefix"] for key in listed] == [made.json()["prefix"], first[:12]]
        assert [key["current"] for key in listed] == [False, True]
        assert second not in client.get("/v1/keys").text  # shown once only
        assert first not in client.get("/v1/keys").text
    with stack.client(second) as client:
        first_id = listed[1]["id"]
        assert client.delete(f"/v1/keys/{first_id}").status_code == 204
        assert client.get("/v1/keys").json()["keys"][1]["revoked_at"] is not None
    with stack.client(first) as client:
        assert client.get("/v1/account").status_code == 401
    with stack.client(second) as client:
        missing = client.delete("/v1/keys/999999999")
        assert missing.status_code == 404
        assert missing.json()["field"] == "key_id"
