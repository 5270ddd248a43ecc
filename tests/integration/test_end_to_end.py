"""A user's whole path on real services: submit over HTTP, poll, follow the link, read the file."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from typing import Any

import httpx

from generators.output import write_dataset
from generators.spec import parse_spec
from tests.services import job_when

USERS = {
    "name": "users",
    "rows": 200_000,
    "format": "csv",
    "locale": "ja_JP",
    "seed": 42,
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "name", "type": "full_name"},
        {"name": "email", "type": "email"},
        {"name": "age", "type": "integer", "min": 18, "max": 90},
    ],
}


def expected_bytes(spec: dict[str, Any]) -> bytes:
    """The file the engine makes for this spec in this very process, for comparison."""
    sink = io.BytesIO()
    write_dataset(parse_spec(spec), sink)
    return sink.getvalue()


def download(client: httpx.Client, url: str) -> httpx.Response:
    """Follows a download link as a browser would: the API's 302, then the storage URL."""
    first = client.get(url)
    assert first.status_code == 302, first.text
    location = first.headers["location"]
    assert "X-Amz-Expires=300" in location  # the presigned hop lives at most five minutes
    # The presigned URL carries its own authorisation: no API key goes to storage.
    second = httpx.get(location, timeout=60)
    assert second.status_code == 200, second.text[:500]
    return second


def test_submit_poll_download_200k_rows_csv(client: httpx.Client) -> None:
    submitted = client.post("/v1/jobs", json=USERS)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert submitted.headers["location"] == f"/v1/jobs/{job['id']}"
    assert int(submitted.headers["retry-after"]) >= 1
    assert job["state"] == "queued"
    assert job["progress"] == {"rows_done": 0, "rows_total": 200_000, "percent": 0.0}

    done = job_when(client, submitted.headers["location"], lambda j: j["state"] == "succeeded", 120)
    assert done["progress"]["percent"] == 100.0
    assert done["started_at"] and done["finished_at"] and done["duration_seconds"] >= 0
    assert done["file"]["name"] == "users.csv" and done["file"]["format"] == "csv"

    response = download(client, done["file"]["download_url"])
    assert 'filename="users.csv"' in response.headers["content-disposition"]
    body = response.content
    assert len(body) == done["file"]["size_bytes"]
    assert hashlib.sha256(body).hexdigest() == done["file"]["sha256"]

    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0] == ["id", "name", "email", "age"]
    assert len(rows) == 1 + 200_000
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 200_001))
    assert all(18 <= int(r[3]) <= 90 for r in rows[1:])
    assert all("@" in r[2] for r in rows[1:])
    assert all(" " in r[1] for r in rows[1:])  # family name, space, given name
    # Same spec and seed: the very bytes the engine makes anywhere else.
    assert body == expected_bytes(USERS)


def test_jsonl_job_delivers_one_json_object_per_row(client: httpx.Client) -> None:
    spec = {**USERS, "name": "people", "rows": 1_000, "format": "jsonl", "locale": "en_US"}
    job = client.post("/v1/jobs", json=spec).json()
    done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 60)
    assert done["file"]["name"] == "people.jsonl"
    lines = download(client, done["file"]["download_url"]).content.decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 1_000
    assert records[0]["id"] == 1 and records[-1]["id"] == 1_000
    assert set(records[0]) == {"id", "name", "email", "age"}


def test_seed_is_chosen_and_reported_when_missing(client: httpx.Client) -> None:
    spec = {key: value for key, value in USERS.items() if key != "seed"} | {"rows": 10}
    job = client.post("/v1/jobs", json=spec).json()
    assert isinstance(job["seed"], int)
    done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 60)
    body = download(client, done["file"]["download_url"]).content
    # The reported seed reproduces the file exactly.
    assert body == expected_bytes({**spec, "seed": job["seed"]})


def test_a_dataset_of_two_tables_arrives_as_one_zip_whose_references_resolve(
    client: httpx.Client,
) -> None:
    spec = {
        **USERS,
        "rows": 2_000,
        "tables": [
            {
                "name": "orders",
                "rows": 10_000,
                "fields": [
                    {"name": "order_id", "type": "sequence"},
                    {"name": "user_id", "type": "reference", "table": "users", "field": "id"},
                    {"name": "total", "type": "decimal", "min": 100, "max": 50_000},
                ],
            }
        ],
    }
    job = client.post("/v1/jobs", json=spec).json()
    assert job["progress"]["rows_total"] == 12_000
    done = job_when(client, job["url"], lambda j: j["state"] == "succeeded", 60)
    assert done["file"]["name"] == "users.zip"
    archive = zipfile.ZipFile(io.BytesIO(download(client, done["file"]["download_url"]).content))
    users = list(csv.DictReader(io.StringIO(archive.read("users.csv").decode())))
    orders = list(csv.DictReader(io.StringIO(archive.read("orders.csv").decode())))
    assert len(users) == 2_000 and len(orders) == 10_000
    assert {o["user_id"] for o in orders} <= {u["id"] for u in users}
