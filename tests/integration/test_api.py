"""What the API answers at its edges: auth, other callers' jobs, bad specs, links, listings."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import uuid
from typing import Any

import httpx
import msgspec
import pytest

from core.settings import Settings
from storage.accounts import hash_key
from storage.links import sign_link
from tests.integration.test_end_to_end import USERS
from tests.services import Stack, job_when, new_api_key, run_sql, wait_until

SMALL = {**USERS, "rows": 50}


def submit_and_finish(client: httpx.Client, spec: dict[str, Any] = SMALL) -> dict[str, Any]:
    job = client.post("/v1/jobs", json=spec)
    assert job.status_code == 202, job.text
    return job_when(client, job.json()["url"], lambda j: j["state"] == "succeeded", 60)


# --- who may call ----------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer tdb_not-a-real-key", "Basic abc"])
def test_requests_without_a_valid_key_get_401(stack: Stack, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.post(f"{stack.base_url}/v1/jobs", json=SMALL, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


def test_another_callers_job_is_404_and_not_listed(
    client: httpx.Client, other_client: httpx.Client
) -> None:
    mine = client.post("/v1/jobs", json=SMALL).json()
    theirs = other_client.get(f"/v1/jobs/{mine['id']}")
    assert theirs.status_code == 404
    assert theirs.json()["error"] == "not_found"
    listed = other_client.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
    assert mine["id"] not in {job["id"] for job in listed}
    assert client.get(f"/v1/jobs/{uuid.uuid4()}").status_code == 404


def test_a_revoked_key_stops_working_at_once(stack: Stack, stack_env: dict[str, str]) -> None:
    # The API keeps the owners of keys it has seen in memory: a revocation must reach it.
    key = new_api_key(stack_env, f"revoked-{uuid.uuid4().hex[:6]}")
    with stack.client(key) as c:
        for _ in range(3):
            assert c.get("/v1/jobs").status_code == 200
        run_sql(
            stack_env["DATABASE_URL"],
            "UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1",
            hash_key(key),
        )
        # Announced at commit; heard by the API a moment later, not after a cache's lifetime.
        wait_until(lambda: c.get("/v1/jobs").status_code == 401, 5, "the key to be refused")
        assert c.post("/v1/jobs", json=SMALL).status_code == 401


def test_listing_is_newest_first_and_pages_without_gaps(
    stack: Stack, stack_env: dict[str, str]
) -> None:
    key = new_api_key(stack_env, f"lister-{uuid.uuid4().hex[:6]}")
    with stack.client(key) as c:
        ids = [c.post("/v1/jobs", json={**SMALL, "rows": 1}).json()["id"] for _ in range(5)]
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = c.get("/v1/jobs", params=params).json()
            seen += [job["id"] for job in page["jobs"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        bad = c.get("/v1/jobs", params={"cursor": "garbage"})
        assert bad.status_code == 400 and bad.json()["field"] == "cursor"
        # A well-formed cursor for an instant no database can hold.
        ancient = "0001-01-01T00:00:00+01:00"
        forged = base64.urlsafe_b64encode(msgspec.msgpack.encode((ancient, str(uuid.uuid4()))))
        overflow = c.get("/v1/jobs", params={"cursor": forged.decode().rstrip("=")})
        assert overflow.status_code == 400 and overflow.json()["field"] == "cursor"
        too_many = c.get("/v1/jobs", params={"limit": 1000})
        assert too_many.status_code == 400 and too_many.json()["field"] == "limit"


# --- bad specs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"rows": 0}, "rows", "1"),
        ({"rows": "many"}, "rows", "int"),
        ({"format": "xml"}, "format", "csv"),
        ({"locale": "xx_XX"}, "locale", "xx_XX"),
        ({"fields": []}, "fields", ">= 1"),
        (
            {"fields": [{"name": "e", "type": "emial"}]},
            "fields[0].type",
            "did you mean 'email'",
        ),
        (
            {"fields": [{"name": "a", "type": "integer", "min": 9, "max": 1}]},
            "fields[0]",
            "min",
        ),
        ({"fields": [{"name": "a", "type": "integer", "colour": 1}]}, "fields[0].colour", ""),
        ({"name": "nul\u0000name"}, "name", "NUL"),
        (
            {"fields": [{"name": "c", "type": "choice", "values": ["ok", "b\u0000d"]}]},
            "fields[0].values[1]",
            "NUL",
        ),
    ],
)
def test_invalid_spec_is_422_naming_field_and_reason(
    client: httpx.Client, change: dict[str, Any], field: str, words: str
) -> None:
    response = client.post("/v1/jobs", json={**SMALL, **change})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"].startswith(field), body
    assert words in body["detail"], body


def test_malformed_json_is_a_clear_4xx(client: httpx.Client) -> None:
    response = client.post(
        "/v1/jobs", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "body"


def test_bad_specs_leave_no_job_behind(stack: Stack, stack_env: dict[str, str]) -> None:
    key = new_api_key(stack_env, f"careless-{uuid.uuid4().hex[:6]}")
    with stack.client(key) as c:
        assert c.post("/v1/jobs", json={**SMALL, "rows": -5}).status_code == 422
        assert c.get("/v1/jobs").json()["jobs"] == []


# --- links -----------------------------------------------------------------------------------


def test_tampered_link_is_403(client: httpx.Client) -> None:
    url = submit_and_finish(client)["file"]["download_url"]
    payload, signature = url.rsplit("/", 1)[1].split(".")
    base = url.rsplit("/", 1)[0]
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert client.get(f"{base}/{payload}.{flipped}").status_code == 403
    assert client.get(f"{base}/{payload}").status_code == 403
    assert client.get(f"{base}/not-even-base64!.x").status_code == 403
    # A token for another job, signed with a key we do not hold.
    forged = sign_link(
        Settings.from_env({"LINK_SIGNING_KEYS": "1:some-other-secret-key-0000"}).links,
        uuid.uuid4(),
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    assert client.get(f"{base}/{forged}").status_code == 403


def test_expired_link_is_410(client: httpx.Client, stack_env: dict[str, str]) -> None:
    job = submit_and_finish(client)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    token = sign_link(Settings.from_env(stack_env).links, uuid.UUID(job["id"]), past)
    response = client.get(f"/v1/downloads/{token}")
    assert response.status_code == 410
    assert response.json()["error"] == "link_expired"


def test_link_to_an_expired_or_deleted_file_is_410(
    client: httpx.Client, stack_env: dict[str, str], database_url: str
) -> None:
    expired = submit_and_finish(client)
    run_sql(
        database_url,
        "UPDATE jobs SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(expired["id"]),
    )
    assert client.get(expired["file"]["download_url"]).status_code == 410
    assert client.get(expired["url"]).json()["file"]["download_url"] is None

    deleted = submit_and_finish(client)
    run_sql(
        database_url, "UPDATE jobs SET deleted_at = now() WHERE id = $1", uuid.UUID(deleted["id"])
    )
    assert client.get(deleted["file"]["download_url"]).status_code == 410


# --- operations ------------------------------------------------------------------------------


def test_health_ready_and_schema(stack: Stack) -> None:
    assert httpx.get(f"{stack.base_url}/health/live").json() == {"status": "ok"}
    assert httpx.get(f"{stack.base_url}/health").json()["status"] == "ok"
    ready = httpx.get(f"{stack.base_url}/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "broker", "storage"}
    assert all(check["ok"] for check in checks.values())
    schema = httpx.get(f"{stack.base_url}/schema/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 6
    assert all(op.get("summary") and op.get("operationId") for op in operations)
    body = schema["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/JobRequest"}
    spec_schema = schema["components"]["schemas"]["JobRequest"]
    assert {"name", "rows", "format", "fields"} <= set(spec_schema["required"])
    # The notification options sit beside the spec's own fields, which forbid any other.
    assert {"callback_url", "notify_email", "notify_language"} <= set(spec_schema["properties"])
    assert spec_schema["additionalProperties"] is False
    assert "LINK_SIGNING_KEYS" not in str(schema) and "test-link-signing-key" not in str(schema)


def test_malformed_ids_and_oversized_bodies_get_clear_4xx(client: httpx.Client) -> None:
    not_an_id = client.get("/v1/jobs/not-a-uuid")
    assert not_an_id.status_code in (400, 404)
    assert not_an_id.json()["error"] in ("not_found", "invalid_parameter")
    huge = {**SMALL, "name": "x" * (2 * 1024 * 1024)}
    too_big = client.post("/v1/jobs", json=huge)
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "body_too_large"
    wrong_method = client.delete("/v1/jobs")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


def test_the_edge_cases_of_a_job_are_listed_cell_by_cell(
    client: httpx.Client, other_client: httpx.Client
) -> None:
    spec = {**SMALL, "rows": 3000, "edge_case_rate": 0.05}
    job = submit_and_finish(client, spec)
    listed = client.get(f"/v1/jobs/{job['id']}/edge-cases")
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("application/x-ndjson")
    cells = [json.loads(line) for line in listed.text.splitlines()]
    assert cells and {"table", "field", "row", "kind"} == set(cells[0])
    assert {cell["field"] for cell in cells} <= {"name", "email", "age"}
    assert 0.03 * 3000 * 3 < len(cells) < 0.07 * 3000 * 3
    # Each listed cell holds an edge case in the file the user downloads.
    from tests.integration.test_end_to_end import download

    rows = list(csv.DictReader(io.StringIO(download(client, job["file"]["download_url"]).text)))
    ages = {cell["row"] for cell in cells if cell["field"] == "age"}
    assert all(int(rows[row]["age"]) in (17, 18, 90, 91) for row in ages)
    assert other_client.get(f"/v1/jobs/{job['id']}/edge-cases").status_code == 404
